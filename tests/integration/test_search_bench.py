"""The search benchmark's index code at a tiny size: it loads, measures and queries (bench/search.py)."""

from __future__ import annotations

from typing import Any

from aperture.adapters.redis_store.search import UserSearchIndex
from bench.search import index_figures


def test_the_search_benchmark_measures_a_small_index(redis: Any) -> None:
    figures = index_figures(redis, users=2_000, samples=50, common_names=True)
    assert figures["users"] == 2_000
    # (per-key overhead dominates at this size: the bytes-per-user target is measured at a million, in the bench)
    assert figures["bytes_per_user"] > 0 and figures["one_set_bytes_per_user"] > 0
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    assert redis.dbsize() == 0  # it cleans up after itself


def test_buckets_split_as_they_grow_and_every_name_is_still_found_and_removable(redis: Any) -> None:
    # Given 600 names sharing long prefixes (buckets split several times), plus names equal to split prefixes
    index = UserSearchIndex(redis)
    names = {i: f"ann{'ab'[i % 2]}{i % 7}{i:04d}" for i in range(600)} | {1000: "ann", 1001: "annb", 1002: "ann"}
    index.add_many([(user_id, [name]) for user_id, name in list(names.items())[:300]])
    for user_id, name in list(names.items())[300:]:
        index.replace(user_id, [], [name])
    # Then every prefix finds exactly the names that start with it, in name order, and each bucket stays small
    for prefix in ("a", "an", "ann", "anna", "annb", "annb3", "annb30", "annb3012", "zzz"):
        expected = sorted((n, u) for u, n in names.items() if n.startswith(prefix))
        assert index.prefix(prefix, 1_000) == [u for _, u in expected], prefix
    assert all(redis.zcard(k) <= 128 for k in redis.scan_iter("usearch:*:b:*"))
    assert index.prefix("ann", 5) == [1000, 1002, *[u for n, u in sorted((n, u) for u, n in names.items())][2:5]]
    # And a name taken out after the splits is gone
    index.replace(1001, ["annb"], [])
    index.replace(3, [names[3]], ["zed"])
    assert 1001 not in index.prefix("annb", 1_000) and 3 not in index.prefix("ann", 1_000)
    assert index.prefix("zed", 10) == [3]


def test_hundreds_of_namesakes_and_accented_names_are_all_found_in_small_buckets(redis: Any) -> None:
    index = UserSearchIndex(redis)
    index.add_many([(user_id, ["maria garcia"]) for user_id in range(1, 301)])
    index.replace(500, [], ["marièl"])  # (names as indexed: folding keeps letters with no decomposition, as ø)
    index.replace(501, [], ["mariø"])
    assert index.prefix("maria garcia", 1_000) == list(range(1, 301))
    assert sorted(index.prefix("mari", 1_000)) == [*range(1, 301), 500, 501]
    assert index.prefix("mariø", 10) == [501]
    assert all(redis.zcard(k) <= 128 for k in redis.scan_iter("usearch:*:b:*"))
