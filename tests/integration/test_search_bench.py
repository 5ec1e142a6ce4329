"""The search benchmark's index code at a tiny size: it loads, measures and queries (bench/search.py)."""

from __future__ import annotations

from typing import Any

from bench.search import index_figures


def test_the_search_benchmark_measures_a_small_index(redis: Any) -> None:
    figures = index_figures(redis, users=2_000, samples=50, common_names=True)
    assert figures["users"] == 2_000
    # (per-key overhead dominates at this size: the bytes-per-user target is measured at a million, in the bench)
    assert figures["bytes_per_user"] > 0 and figures["one_set_bytes_per_user"] > 0
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    assert redis.dbsize() == 0  # it cleans up after itself
