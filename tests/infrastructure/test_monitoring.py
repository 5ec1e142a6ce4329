"""Alarms and the dashboard (stacks/constructs/monitoring.py): every function, stream consumer, parked-work queue,
route, the cache and the search domain has its alarm, each with the threshold docs/operations.md explains, and
every alarm notifies the one topic."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

import app as cdk_app
from aperture.resources import FUNCTIONS, KinesisTrigger, TableStreamTrigger
from aperture.routes import ROUTES
from bench import cost
from stacks.constructs import monitoring as m
from stacks.stateful_stack import StatefulStack
from tests.infrastructure.conftest import Synthesized, logical_id, resources

pytestmark = pytest.mark.xdist_group("cdk")


@pytest.fixture(scope="module")
def nested(synthesized: Synthesized) -> dict[str, Any]:
    template: dict[str, Any] = json.loads(
        (synthesized.outdir / synthesized.service.monitoring.template_file).read_text()
    )
    return template


@pytest.fixture(scope="module")
def alarms(nested: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["Properties"] for r in resources(nested, "AWS::CloudWatch::Alarm").values()]


def _passed_in(synthesized: Synthesized, service_template: dict[str, Any]) -> dict[str, Any]:
    """The nested stack's parameters as the service stack fills them: parameter name -> what it refers to."""
    (stack,) = resources(service_template, "AWS::CloudFormation::Stack").values()
    parameters: dict[str, Any] = stack["Properties"]["Parameters"]
    return parameters


def _dimension(alarm: dict[str, Any], name: str) -> Any:
    return next(d["Value"] for d in alarm.get("Dimensions", []) if d["Name"] == name)


def _function_alarms(
    synthesized: Synthesized, service_template: dict[str, Any], alarms: list[dict[str, Any]], metric: str
) -> dict[str, dict[str, Any]]:
    """Alarms on a Lambda metric, by the function they watch (its name in aperture.resources)."""
    passed = _passed_in(synthesized, service_template)
    by_logical_id = {logical_id(f.function): name for name, f in synthesized.service.functions.by_name.items()}
    found = {}
    for alarm in alarms:
        if alarm.get("Namespace") == "AWS/Lambda" and alarm["MetricName"] == metric:
            watched = passed[_dimension(alarm, "FunctionName")["Ref"]]["Ref"]
            found[by_logical_id[watched]] = alarm
    return found


def test_every_alarm_notifies_the_one_topic_when_it_fires_and_when_it_clears(
    synthesized: Synthesized, alarms: list[dict[str, Any]]
) -> None:
    topics = {json.dumps(a["AlarmActions"]) for a in alarms} | {json.dumps(a["OKActions"]) for a in alarms}
    assert len(topics) == 1
    assert "AlertsTopic" in topics.pop()
    assert all(a["TreatMissingData"] == "notBreaching" for a in alarms)


def test_every_function_alarms_on_any_error_and_any_throttle(
    synthesized: Synthesized, service_template: dict[str, Any], alarms: list[dict[str, Any]]
) -> None:
    names = {f.name for f in FUNCTIONS}
    for metric, threshold in (("Errors", m.FUNCTION_ERRORS), ("Throttles", m.FUNCTION_THROTTLES)):
        found = _function_alarms(synthesized, service_template, alarms, metric)
        assert set(found) == names, metric
        assert {(a["Statistic"], a["Period"], a["Threshold"]) for a in found.values()} == {("Sum", 300, threshold)}


def test_every_stream_consumer_alarms_when_it_falls_a_minute_behind_for_five_minutes(
    synthesized: Synthesized, service_template: dict[str, Any], alarms: list[dict[str, Any]]
) -> None:
    consumers = {f.name for f in FUNCTIONS if isinstance(f.trigger, KinesisTrigger | TableStreamTrigger)}
    assert {"post_ingest", "relay", "notify", "explore_signals"} <= consumers
    found = _function_alarms(synthesized, service_template, alarms, "IteratorAge")
    assert set(found) == consumers
    for alarm in found.values():
        assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Maximum", 60, m.ITERATOR_AGE_MS)
        assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == m.ITERATOR_AGE_MINUTES


def test_any_parked_message_and_any_archived_batch_raise_an_alarm(
    synthesized: Synthesized,
    service_template: dict[str, Any],
    stateful_template: dict[str, Any],
    alarms: list[dict[str, Any]],
) -> None:
    parked = [a for a in alarms if a.get("MetricName") == "ApproximateNumberOfMessagesVisible"]
    # Each job queue's dead-letter queue, media_process's failed invokes, and each schedule's failed runs
    stateful: StatefulStack = synthesized.stateful
    schedules = synthesized.service.schedules.by_name
    assert len(parked) == len(stateful.queues.dead_letters) + 1 + len(schedules)
    assert {(a["Statistic"], a["Threshold"]) for a in parked} == {("Maximum", m.DEAD_LETTERS)}
    (archived,) = [a for a in alarms if a.get("Namespace") == "AWS/S3"]
    assert archived["MetricName"] == "PutRequests" and archived["Threshold"] == 1
    assert _dimension(archived, "FilterId") == m.ARCHIVE_METRICS_FILTER
    # The archive bucket publishes those request metrics
    bucket = stateful_template["Resources"][logical_id(stateful.failures.bucket)]["Properties"]
    assert bucket["MetricsConfigurations"] == [{"Id": m.ARCHIVE_METRICS_FILTER}]


def test_every_route_alarms_on_its_5xx_rate_and_its_p99_latency(
    service_template: dict[str, Any], alarms: list[dict[str, Any]]
) -> None:
    (stage,) = resources(service_template, "AWS::ApiGatewayV2::Stage").values()
    assert stage["Properties"]["DefaultRouteSettings"]["DetailedMetricsEnabled"] is True
    latency = {
        (_dimension(a, "Method"), _dimension(a, "Resource")): a for a in alarms if a.get("MetricName") == "Latency"
    }
    rates = {}
    for alarm in alarms:
        for query in alarm.get("Metrics", []):
            if query.get("MetricStat", {}).get("Metric", {}).get("MetricName") == "5xx":
                dims = {d["Name"]: d["Value"] for d in query["MetricStat"]["Metric"]["Dimensions"]}
                rates[(dims["Method"], dims["Resource"])] = alarm
    routes = {(r.method, r.path) for r in ROUTES}
    assert set(latency) == routes and set(rates) == routes
    for alarm in latency.values():
        assert (alarm["ExtendedStatistic"], alarm["Threshold"], alarm["DatapointsToAlarm"]) == ("p99", m.API_P99_MS, 2)
    for alarm in rates.values():
        (expression,) = [q["Expression"] for q in alarm["Metrics"] if "Expression" in q]
        assert expression == f"IF(requests >= {m.API_5XX_MIN_REQUESTS}, errors / requests, 0)"
        assert alarm["Threshold"] == m.API_5XX_RATE


def test_redis_memory_and_evictions_and_the_search_domains_health_raise_alarms(alarms: list[dict[str, Any]]) -> None:
    by_metric = {(a.get("Namespace"), a.get("MetricName")): a for a in alarms}
    memory = by_metric[("AWS/ElastiCache", "BytesUsedForCache")]
    assert memory["Threshold"] == pytest.approx(m.CACHE_MEMORY_FRACTION * 5 * 1024**3)
    assert _dimension(memory, "clusterId") == "aperture-stateful-timelines"
    assert by_metric[("AWS/ElastiCache", "Evictions")]["Threshold"] == m.CACHE_EVICTIONS
    red = by_metric[("AWS/ES", "ClusterStatus.red")]
    assert _dimension(red, "DomainName") == "aperture-explore" and red["EvaluationPeriods"] == 1
    # Yellow is the one-node domain's steady state (no replica can be placed): no alarm pages on it
    assert ("AWS/ES", "ClusterStatus.yellow") not in by_metric


def test_the_topic_is_encrypted_with_a_key_cloudwatch_may_use_and_an_email_can_subscribe(
    stateful_template: dict[str, Any],
) -> None:
    (topic,) = resources(stateful_template, "AWS::SNS::Topic").values()
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = stateful_template["Resources"][key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    assert any(
        s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"} and "kms:GenerateDataKey*" in s["Action"]
        for s in key["KeyPolicy"]["Statement"]
    )
    # No address given, no subscription (the next test gives one)
    assert resources(stateful_template, "AWS::SNS::Subscription") == {}


def test_an_alarm_email_from_context_is_subscribed() -> None:
    app = App(context={**cdk_app.FEATURE_FLAGS, "alarmEmail": "ops@example.com"})
    StatefulStack(app, "Stateful")
    template = app.synth().get_stack_by_name("Stateful").template
    (subscription,) = resources(template, "AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == "ops@example.com"


def test_the_dashboard_follows_the_seeds_flows(nested: dict[str, Any]) -> None:
    (board,) = resources(nested, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(board["Properties"]["DashboardBody"])
    for flow in ("Upload to feed", "Feed reads", "Stories", "Explore"):
        assert f"## {flow}" in body
    for shown in ("GET /feed p99", "media_process p99", "post_ingest behind", "FeedDegraded", "ExploreDegraded"):
        assert shown in body
    # The degradation counts with the dimensions their writers give them (aperture.observability.count)
    assert '\\"function\\",\\"feed\\",\\"service\\",\\"feed\\"' in body


def _written_metrics() -> set[str]:
    """Every business metric the layer writes (aperture.observability's count, measure and timed), by name."""
    root = Path(__file__).resolve().parents[2]
    call = re.compile(r"\b(?:count|measure|timed)\(\s*\"(\w+)\"")
    sources = [*(root / "layers/core/python/aperture").rglob("*.py"), *(root / "functions").rglob("*.py")]
    return {name for path in sources for name in call.findall(path.read_text())}


def test_every_business_metric_the_functions_write_is_on_the_dashboard(nested: dict[str, Any]) -> None:
    # Given the metrics the code writes (the issue's: uploads, posts, fanout, feed, stories, explore, notifications,
    # rate limits)
    written = _written_metrics()
    assert {"UploadsAccepted", "FanoutSize", "FeedLatency", "FeedRoundTrips", "StoryViews", "RateLimited"} <= written
    (board,) = resources(nested, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(board["Properties"]["DashboardBody"])
    # Then each is graphed, in the namespace they are written to
    assert {name for name in written if f'\\"{name}\\"' not in body} == set()
    assert '\\"Aperture\\",\\"StoryViews\\",\\"function\\",\\"stories\\",\\"service\\",\\"stories\\"' in body
    # And the rate-limited writes by action, which the functions add as a dimension
    assert "SEARCH('{Aperture,action,function,service} MetricName=" in body


def test_writes_let_through_without_their_rate_limits_raise_an_alarm(nested: dict[str, Any]) -> None:
    alarms = resources(nested, "AWS::CloudWatch::Alarm").values()
    unchecked = [a["Properties"] for a in alarms if a["Properties"].get("MetricName") == "RateLimiterUnavailable"]
    watched = {next(d["Value"] for d in a["Dimensions"] if d["Name"] == "function") for a in unchecked}
    assert watched == {"uploads", "interactions", "users"}
    for alarm in unchecked:
        assert alarm["Namespace"] == "Aperture"
        assert (alarm["Threshold"], alarm["Statistic"], alarm["Period"]) == (1, "Sum", 300)
        assert alarm["AlarmActions"] and "rate-limits-unchecked" in alarm["AlarmDescription"]


def test_the_cost_model_bills_every_alarm_the_templates_declare(synthesized: Synthesized) -> None:
    """bench/cost.py counts the alarms from the declarations (no synth), and docs/cost.md's idle cost with them; an
    alarm added here without the model learning of it fails this."""
    alarms = [
        alarm["Properties"]
        for path in synthesized.template_paths()
        for alarm in resources(json.loads(path.read_text()), "AWS::CloudWatch::Alarm").values()
    ]
    # CloudWatch bills a metric-math alarm for each metric it reads
    billed = sum(
        sum("MetricStat" in query for query in alarm["Metrics"]) if "Metrics" in alarm else 1 for alarm in alarms
    )
    assert (len(alarms), billed) == cost.alarm_metrics()
