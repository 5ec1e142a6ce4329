"""The cost model's arithmetic (bench/cost.py), checked by hand on one operation, its coverage of the functions, and
the idle figures docs/cost.md and the README quote from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aperture.resources import FUNCTIONS, STREAMS, function
from aperture.routes import ROUTES
from bench import cost

ROOT = Path(__file__).resolve().parents[2]


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


def test_one_nat_gateway_costs_less_idle_from_the_third_endpoint_on_until_its_traffic_passes_the_break_even() -> None:
    for endpoints, nat_is_cheaper_idle in ((2, False), (3, True)):
        built, one_nat, _ = cost.egress_options(cost.Inventory(interface_endpoints=endpoints, azs=2))
        assert (one_nat.idle < built.idle) is nat_is_cheaper_idle
    built, one_nat, per_az = cost.egress_options(cost.Inventory(interface_endpoints=5, azs=2))
    # a NAT gateway and its public IPv4 address, around the clock
    assert one_nat.idle == pytest.approx(730 * (0.045 + 0.005))
    gb = cost.break_even_gb(one_nat, built)
    assert one_nat.idle + gb * one_nat.per_gb == pytest.approx(built.idle + gb * built.per_gb)
    assert one_nat.idle + 2 * gb * one_nat.per_gb > built.idle + 2 * gb * built.per_gb
    assert per_az.idle == pytest.approx(2 * one_nat.idle)


@pytest.fixture(scope="module")
def declared() -> cost.Inventory:
    """The inventory bench/cost.py reads from the constructs (imports them; synthesizes nothing)."""
    return cost.declared_inventory()


def test_the_idle_cost_the_docs_quote_is_what_the_code_declares(declared: cost.Inventory) -> None:
    """A change that adds an endpoint, an alarm or a queue fails here until `python -m bench.cost` has refreshed
    docs/cost.md and the README (they once said $145 while the code declared $177)."""
    # Given the idle cost computed from the declarations and the constructs
    lines = cost.idle(declared)
    computed = cost.total(lines)
    # When the docs are read
    doc = (ROOT / "docs" / "cost.md").read_text()
    readme = (ROOT / "README.md").read_text()
    heading = re.search(r"^## Idle: about \$(\d+) a month$", doc, re.MULTILINE)
    assert heading, "docs/cost.md has no '## Idle: about $N a month' section"
    documented_total = re.search(
        r"^\| \*\*total\*\* \| \| \| \*\*(\$[\d,.]+)\*\* \| \|$", doc[heading.end() :], re.MULTILINE
    )
    readme_figure = re.search(r"idle cost[^\n]*\*\*about \$(\d+) a month\*\*", readme)
    assert documented_total and readme_figure
    # Then each says what the code costs: the table's total to the cent, the summaries to the dollar
    assert documented_total.group(1) == f"${computed:,.2f}", "docs/cost.md's idle total: run python -m bench.cost"
    assert int(heading.group(1)) == round(computed), "docs/cost.md's idle heading"
    assert int(readme_figure.group(1)) == round(computed), "README.md's idle cost"
    # ...and so does every line, so that a stale item cannot hide behind a right total, and the NAT comparison
    assert cost.table(lines, "quantity a month") in doc
    assert cost.egress_table(declared) in doc


def test_the_default_inventory_is_the_declared_one(declared: cost.Inventory) -> None:
    """`python -m bench.cost --no-stacks` prints the same idle table as with the constructs."""
    assert cost.Inventory() == declared


def test_the_activity_flush_as_declared_keeps_up_with_a_million_daily_users_with_room_to_spare() -> None:
    # Given the records a minute logged at a million daily users (about 500,000: every ranked page's 20 impressions)
    arriving_a_minute = cost.activity_records_a_day() / 1440
    assert 450_000 < arriving_a_minute < 550_000
    # When one scheduled run moves all it may (every shard's rounds of a batch) at its declared memory
    capacity = cost.flush_capacity_a_run()
    # Then it moves at least twice what arrives, a full run ends well inside the minute (runs never overlap), and a
    # minute's arrivals take a fraction of it
    assert capacity >= 2 * arriving_a_minute
    assert cost.flush_seconds(capacity) < 0.75 * 60 < function("activity_flush").timeout_seconds
    assert cost.flush_seconds(arriving_a_minute) < 20
