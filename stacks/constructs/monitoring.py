"""Alarms and the dashboard: what tells an operator that Aperture is hurting, and where to look.

Every alarm goes to one SNS topic (`Alerts`, in the stateful stack so its subscriptions outlive redeploys), with an
optional email subscription from CDK context (`-c alarmEmail=ops@example.com`). docs/operations.md says what each
alarm means and what to do. The thresholds are constants here so the infrastructure tests and the docs name the
same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aws_cdk import Duration, NestedStack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from aperture.observability import METRICS_NAMESPACE
from aperture.resources import REDIS_RATE_LIMITED, Function, KinesisTrigger, TableStreamTrigger
from aperture.routes import Route

FIVE_MINUTES = Duration.minutes(5)
ONE_MINUTE = Duration.minutes(1)
# A function error is a bug or an outage: the API promises no 500s, and consumers retry only what should succeed.
FUNCTION_ERRORS = 1  # in 5 minutes
FUNCTION_THROTTLES = 1  # in 5 minutes
# A consumer whose oldest unread record is a minute old for five minutes running is falling behind the stream.
ITERATOR_AGE_MS = 60_000
ITERATOR_AGE_MINUTES = 5
DEAD_LETTERS = 1  # any message parked
API_5XX_RATE = 0.01  # of a route's requests, over 5 minutes
API_5XX_MIN_REQUESTS = 20  # below this a single failure is not yet a rate worth waking someone for
API_P99_MS = 1000  # per route, over 5 minutes, twice running
CACHE_MEMORY_FRACTION = 0.8  # of the serverless cache's data limit
CACHE_EVICTIONS = 1  # in 5 minutes: keys are bounded by design, so an eviction means a bound was missed
# Metric filters the stacks publish on the failure archive bucket (S3 request metrics).
ARCHIVE_METRICS_FILTER = "EntireBucket"


class Alerts(Construct):
    """The topic every alarm notifies, encrypted with a key CloudWatch may use, and TLS-only."""

    def __init__(self, scope: Construct, construct_id: str, *, email: str | None) -> None:
        super().__init__(scope, construct_id)
        # CloudWatch cannot publish to a topic under the AWS managed SNS key; this key lets it, and nobody else new.
        self.key = kms.Key(self, "Key", enable_key_rotation=True, description="Aperture alarm notifications")
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
            )
        )
        self.topic = sns.Topic(self, "Topic", display_name="Aperture alarms", master_key=self.key, enforce_ssl=True)
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))


@dataclass(frozen=True)
class Watched:
    """What the service stack hands the monitoring construct."""

    functions: Mapping[str, lambda_.IFunction]
    declarations: Iterable[Function]
    dead_letters: Mapping[str, sqs.IQueue]  # name -> queue whose messages are work given up on
    api_id: str
    stage: str
    routes: Iterable[Route]
    failure_archive_bucket: str
    cache_name: str
    cache_data_limit_gb: int
    search_domain: str
    account: str


def _route_metric(watched: Watched, route: Route, name: str, statistic: str) -> cloudwatch.Metric:
    # HTTP API route metrics (the stage's detailed metrics) are keyed by method and resource path.
    return cloudwatch.Metric(
        namespace="AWS/ApiGateway",
        metric_name=name,
        dimensions_map={
            "ApiId": watched.api_id,
            "Stage": watched.stage,
            "Method": route.method,
            "Resource": route.path,
        },
        statistic=statistic,
        period=FIVE_MINUTES,
    )


class Monitoring(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, topic: sns.ITopic, watched: Watched) -> None:
        super().__init__(scope, construct_id)
        self._action = actions.SnsAction(topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        declarations = {d.name: d for d in watched.declarations}
        for name, function in watched.functions.items():
            self._alarm(
                f"{name}-errors",
                function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                FUNCTION_ERRORS,
                f"{name} failed at least once in 5 minutes (docs/operations.md#function-errors)",
            )
            self._alarm(
                f"{name}-throttles",
                function.metric_throttles(period=FIVE_MINUTES, statistic="Sum"),
                FUNCTION_THROTTLES,
                f"{name} was throttled (docs/operations.md#function-throttles)",
            )
            if isinstance(declarations[name].trigger, KinesisTrigger | TableStreamTrigger):
                self._alarm(
                    f"{name}-iterator-age",
                    function.metric("IteratorAge", period=ONE_MINUTE, statistic="Maximum"),
                    ITERATOR_AGE_MS,
                    f"{name} is more than a minute behind its stream (docs/operations.md#stream-behind)",
                    periods=ITERATOR_AGE_MINUTES,
                )
        for name, queue in watched.dead_letters.items():
            self._alarm(
                f"{name}-parked",
                queue.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES, statistic="Maximum"),
                DEAD_LETTERS,
                f"work was parked in {name} (docs/operations.md#parked-work)",
            )
        self._alarm(
            "failure-archive-written",
            cloudwatch.Metric(
                namespace="AWS/S3",
                metric_name="PutRequests",
                dimensions_map={"BucketName": watched.failure_archive_bucket, "FilterId": ARCHIVE_METRICS_FILTER},
                statistic="Sum",
                period=FIVE_MINUTES,
            ),
            1,
            "a stream batch was archived after its retries (docs/operations.md#parked-work)",
        )
        for route in watched.routes:
            key = route.route_key
            requests = _route_metric(watched, route, "Count", "Sum")
            errors = _route_metric(watched, route, "5xx", "Sum")
            rate = cloudwatch.MathExpression(
                expression=f"IF(requests >= {API_5XX_MIN_REQUESTS}, errors / requests, 0)",
                using_metrics={"errors": errors, "requests": requests},
                period=FIVE_MINUTES,
                label=f"{key} 5xx rate",
            )
            self._alarm(
                f"api {key} 5xx",
                rate,
                API_5XX_RATE,
                f"{key}: over 1% of requests answered 5xx (docs/operations.md#api-5xx)",
            )
            self._alarm(
                f"api {key} p99",
                _route_metric(watched, route, "Latency", "p99"),
                API_P99_MS,
                f"{key}: p99 latency over {API_P99_MS} ms (docs/operations.md#api-latency)",
                periods=2,
            )
        for name in REDIS_RATE_LIMITED:
            self._alarm(
                f"{name}-limits-unchecked",
                cloudwatch.Metric(
                    namespace=METRICS_NAMESPACE,
                    metric_name="RateLimiterUnavailable",
                    # As aperture.observability.count writes it (see `business` in the dashboard below)
                    dimensions_map={"function": name, "service": name},
                    statistic="Sum",
                    period=FIVE_MINUTES,
                ),
                1,
                f"{name} let writes through without their rate limits: Redis did not answer "
                "(docs/operations.md#rate-limits-unchecked)",
            )
        cache = {"clusterId": watched.cache_name}
        self._alarm(
            "cache-memory",
            cloudwatch.Metric(
                namespace="AWS/ElastiCache",
                metric_name="BytesUsedForCache",
                dimensions_map=cache,
                statistic="Maximum",
                period=FIVE_MINUTES,
            ),
            CACHE_MEMORY_FRACTION * watched.cache_data_limit_gb * 1024**3,
            "Redis holds over 80% of its data limit (docs/operations.md#redis-memory)",
        )
        self._alarm(
            "cache-evictions",
            cloudwatch.Metric(
                namespace="AWS/ElastiCache",
                metric_name="Evictions",
                dimensions_map=cache,
                statistic="Sum",
                period=FIVE_MINUTES,
            ),
            CACHE_EVICTIONS,
            "Redis evicted keys (docs/operations.md#redis-memory)",
        )
        # Red only: yellow (replicas unplaced) is the steady state of the one-node domain (stacks.constructs.search)
        domain = {"DomainName": watched.search_domain, "ClientId": watched.account}
        self._alarm(
            "search-red",
            cloudwatch.Metric(
                namespace="AWS/ES",
                metric_name="ClusterStatus.red",
                dimensions_map=domain,
                statistic="Maximum",
                period=ONE_MINUTE,
            ),
            1,
            "the explore search domain is red (docs/operations.md#search-status)",
        )

    def _alarm(
        self, name: str, metric: cloudwatch.IMetric, threshold: float, description: str, *, periods: int = 1
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            "".join(part.capitalize() for part in _words(name)),
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms[name] = alarm


def _words(name: str) -> list[str]:
    cleaned = "".join(c if c.isalnum() else " " for c in name)
    return cleaned.split()


def dashboard(scope: Construct, *, watched: Watched) -> cloudwatch.Dashboard:
    """The seed's flows, one row each: upload to feed, feed reads, stories, explore (and notifications and limits),
    with their business metrics (aperture.observability) beside the AWS ones."""
    board = cloudwatch.Dashboard(scope, "Dashboard", dashboard_name="Aperture")
    functions = watched.functions
    routes = {route.route_key: route for route in watched.routes}

    def latency(*keys: str) -> list[cloudwatch.IMetric]:
        return [
            _route_metric(watched, routes[key], "Latency", statistic).with_(label=f"{key} {statistic}")
            for key in keys
            if key in routes
            for statistic in ("p50", "p99")
        ]

    def durations(*names: str) -> list[cloudwatch.IMetric]:
        return [functions[n].metric_duration(statistic="p99", label=f"{n} p99") for n in names if n in functions]

    def lag(*names: str) -> list[cloudwatch.IMetric]:
        return [
            functions[n].metric("IteratorAge", statistic="Maximum", label=f"{n} behind")
            for n in names
            if n in functions
        ]

    def business(name: str, function: str, statistic: str = "Sum", label: str | None = None) -> cloudwatch.IMetric:
        # As aperture.observability.measure writes it: the function as a dimension, and Powertools adds the service
        # (each deployed function's POWERTOOLS_SERVICE_NAME is its name); CloudWatch matches the whole set.
        dimensions = {"function": function, "service": function}
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map=dimensions,
            statistic=statistic,
            label=label or name,
            period=FIVE_MINUTES,
        )

    def percentiles(name: str, function: str) -> list[cloudwatch.IMetric]:
        return [business(name, function, statistic, f"{name} {statistic}") for statistic in ("p50", "p99")]

    def searched(name: str, dimensions: str) -> cloudwatch.IMetric:
        # One line per set of values of `dimensions` (e.g. each function and action): a search, as the set is open
        query = f'{{{METRICS_NAMESPACE},{dimensions}}} MetricName="{name}"'
        return cloudwatch.MathExpression(
            expression=f"SEARCH('{query}', 'Sum', 300)", using_metrics={}, label=name, period=FIVE_MINUTES
        )

    # Each row: latency and durations (ms); lag and degradation; what happened (the business metrics)
    rows: list[tuple[str, list[cloudwatch.IMetric], list[cloudwatch.IMetric], list[cloudwatch.IMetric]]] = [
        (
            "Upload to feed",
            [
                *latency("POST /uploads"),
                *durations("media_process", "post_ingest", "fanout"),
                business("FanoutDuration", "fanout", "p99", "FanoutDuration p99"),
            ],
            lag("post_ingest", "relay", "notify"),
            [
                business("UploadsAccepted", "media_process"),
                business("UploadsRefused", "media_process"),
                business("UploadsFailed", "media_process"),
                business("PostsPublished", "post_ingest"),
                business("FanoutSize", "fanout", label="FanoutSize (timelines pushed)"),
            ],
        ),
        (
            "Feed reads",
            [*latency("GET /feed", "GET /posts/{post_id}"), *percentiles("FeedLatency", "feed")],
            [business("FeedDegraded", "feed")],
            [
                business("FeedRoundTrips", "feed", "Average", "FeedRoundTrips average"),
                business("FeedRoundTrips", "feed", "Maximum", "FeedRoundTrips maximum"),
            ],
        ),
        (
            "Stories",
            latency("GET /stories/tray", "GET /users/{user_id}/stories"),
            lag("stories", "story_views"),
            [business("StoryViews", "stories")],
        ),
        (
            "Explore",
            [*latency("GET /explore"), *durations("explore_refresh", "explore_rank")],
            [business("ExploreDegraded", "explore"), *lag("explore_signals")],
            [
                business("ExploreCacheHit", "explore"),
                business("ExploreCacheMiss", "explore"),
                business("ExploreImpressionsUnlogged", "explore"),
            ],
        ),
        (
            "Ranking loop",
            durations("activity_flush", "ranking_train"),
            # The log's backlog (records waiting in Redis), and records lost to a Redis failure by any writer
            [
                business("ActivityBacklog", "activity_flush", "Maximum", "ActivityBacklog"),
                searched("ActivityLogDropped", "function,service"),
            ],
            [
                business("ActivityRecordsFlushed", "activity_flush"),
                business("ActivityObjectsWritten", "activity_flush"),
                # The daily training job's outcomes, by surface (aperture.training)
                searched("RankingModelPromoted", "function,service,surface"),
                searched("RankingModelRejected", "function,service,surface"),
                searched("RankingTrainingRefused", "function,service,surface"),
            ],
        ),
        (
            "Notifications and limits",
            durations("notify"),
            lag("notify"),
            [
                business("NotificationsSent", "notify"),
                searched("RateLimited", "action,function,service"),
                searched("RateLimiterUnavailable", "function,service"),
            ],
        ),
    ]
    for title, left, middle, right in rows:
        board.add_widgets(
            cloudwatch.TextWidget(markdown=f"## {title}", width=24, height=1),
            cloudwatch.GraphWidget(title=f"{title}: latency and duration (ms)", left=left, width=8),
            cloudwatch.GraphWidget(title=f"{title}: lag and degradation", left=middle, width=8),
            cloudwatch.GraphWidget(title=f"{title}: what happened", left=right, width=8),
        )
    return board


class MonitoringStack(NestedStack):
    """The alarms and the dashboard, nested in the service stack: about three resources per route and function,
    which would otherwise crowd the service stack toward CloudFormation's 500-resource limit."""

    def __init__(self, scope: Construct, construct_id: str, *, topic: sns.ITopic, watched: Watched) -> None:
        super().__init__(scope, construct_id, description="Aperture alarms and dashboard")
        self.monitoring = Monitoring(self, "Alarms", topic=topic, watched=watched)
        self.dashboard = dashboard(self, watched=watched)
