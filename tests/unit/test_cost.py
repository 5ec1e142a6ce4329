"""The cost model's arithmetic (bench/cost.py), checked by hand on one operation, and its coverage of the functions."""

from __future__ import annotations

import pytest

from aperture.resources import FUNCTIONS, STREAMS, function
from aperture.routes import ROUTES
from bench import cost


def test_a_million_feed_reads_cost_what_the_hand_arithmetic_says() -> None:
    prices = cost.PRICES
    memory_gb = function("feed").memory_mb / 1024
    # CPU stretched to the function's share of a vCPU, plus 3 Redis round trips of waiting
    billed_s = (5.5 * max(1.0, 1769 / function("feed").memory_mb) + 3 * cost.WAITS_MS["redis_round_trip"]) / 1000
    images = 20 * 1e6
    misses = images * (1 - cost.CDN_HIT_RATIO)
    by_hand = (
        1e6 * prices["api_http_request"]
        + 1e6 * billed_s * memory_gb * prices["lambda_gb_second_arm"]
        + 1e6 * prices["lambda_request"]
        + 1e6 * 100 * prices["valkey_ecpu"]
        + 1e6 * (cost.LOG_BYTES_PER_INVOCATION + cost.LOG_BYTES_PER_API_REQUEST) / 1024**3 * 0.50
        + 1e6 * cost.XRAY_SAMPLED * prices["xray_trace"]
        + images * (prices["cloudfront_request"] + prices["cloudfront_function"] + prices["waf_request"])
        + images * cost.IMAGE_BYTES / 1024**3 * prices["cloudfront_gb"]
        + misses * (2 * prices["lambda_edge_request"] + prices["s3_get"])
        + misses * 2 * 0.005 * 0.125 * prices["lambda_edge_gb_second"]
    )

    lines = cost.per_million(cost.FEED_READ)

    assert cost.total(lines) == pytest.approx(by_hand, rel=1e-12)
    # the figures docs/cost.md quotes: about $2.46 without the images, about $118 with them
    assert cost.total(line for line in lines if "CDN" not in line.item and "Edge" not in line.item) == pytest.approx(
        2.46, abs=0.01
    )
    assert cost.total(lines) == pytest.approx(117.69, abs=0.01)


def test_the_compute_line_follows_the_declared_memory() -> None:
    """At 256 MB CPU-bound work takes 1769/256 times as long; at 1,769 MB it is not stretched (one full vCPU)."""
    small = cost.Invocation("feed", cpu_ms=10.0, wait_ms=2.0)
    assert small.billed_ms() == pytest.approx(10.0 * 1769 / 256 + 2.0)
    assert small.gb_seconds() == pytest.approx(small.billed_ms() / 1000 * 0.25)
    full = cost.Invocation("media_process", cpu_ms=424.0, wait_ms=0.0)
    assert function("media_process").memory_mb == 1769
    assert full.billed_ms() == pytest.approx(424.0)


def test_every_declared_function_has_a_memory_size_and_a_place_in_the_model() -> None:
    declared = {f.name for f in FUNCTIONS}
    assert set(cost.FUNCTION_COSTED_IN) == declared, "cost the new function in bench/cost.py and docs/cost.md"
    for name in declared:
        assert cost.memory_mb(name) == function(name).memory_mb
    used = {i.function for op in cost.OPERATIONS for i in op.invocations}
    assert used <= declared
    with pytest.raises(KeyError):
        cost.memory_mb("no_such_function")


def test_idle_cost_adds_up_from_the_declarations() -> None:
    inventory = cost.Inventory(interface_endpoints=3, azs=2)
    lines = {line.item.split(":")[0]: line for line in cost.idle(inventory)}
    assert lines["VPC interface endpoints"].dollars == pytest.approx(3 * 2 * 730 * 0.01)
    assert lines["Kinesis"].dollars == pytest.approx(sum(s.shards for s in STREAMS) * 730 * 0.015)
    assert lines["OpenSearch t3.small.search data node"].dollars == pytest.approx(730 * 0.036)
    assert "NAT gateways" not in lines  # none declared
    alarms, billed = cost.alarm_metrics()
    # each route has a 5xx-rate alarm over two metrics and a p99 alarm; each function errors and throttles
    assert billed - alarms == len(ROUTES)
    assert alarms >= 2 * len(FUNCTIONS) + 2 * len(ROUTES)
    assert lines["CloudWatch alarms"].dollars == pytest.approx(billed * 0.10)
    assert cost.total(cost.idle(inventory)) == pytest.approx(sum(line.dollars for line in lines.values()))


def test_cloudfront_tiers() -> None:
    assert cost.cloudfront_tiered(1024) == pytest.approx(1024 * 0.085)
    assert cost.cloudfront_tiered(20 * 1024) == pytest.approx(10 * 1024 * 0.085 + 10 * 1024 * 0.080)
