"""The cost model of docs/cost.md: idle cost per month, cost per million operations, and a day at 1M daily users.

    PYTHONPATH=layers/core/python:. python -m bench.cost            # prints the tables of docs/cost.md
    PYTHONPATH=layers/core/python:. python -m bench.cost --no-stacks # without importing the CDK constructs

Every figure is arithmetic on three inputs, all visible here:
- PRICES: AWS's published on-demand unit prices, us-east-1 (PRICE_DATE; check the AWS pricing pages).
- The declarations: each function's memory size, the streams' shards, the queues, the routes (aperture.resources
  and aperture.routes), and with the stacks the OpenSearch node type and the VPC's interface endpoints.
- Per operation, what it does: the measured CPU time of its handler (docs/benchmarks.md), assumed network waits on
  AWS (WAITS_MS), and the requests it makes, counted from the code paths (OPERATIONS, each with its sources).

Lambda's compute is billed for wall time x memory. Below 1,769 MB a function gets that fraction of one vCPU, so
CPU-bound work takes 1769/memory times as long as on one full core: `billed_ms` stretches the measured CPU time by
that factor and adds the waits, which do not stretch. (A local AMD EPYC core is taken as one Graviton vCPU.)
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from aperture.resources import (
    FUNCTIONS,
    QUEUES,
    REDIS_RATE_LIMITED,
    STREAMS,
    KinesisTrigger,
    S3Trigger,
    ScheduleTrigger,
    SqsTrigger,
    TableStreamTrigger,
)
from aperture.routes import ROUTES
from aperture.settings import Settings

REGION = "us-east-1"
PRICE_DATE = "June 2025"
HOURS_PER_MONTH = 730
ONE_VCPU_MB = 1769  # Lambda: "at 1,769 MB, a function has the equivalent of one vCPU"
GB = 1024**3

# USD, us-east-1, on-demand, first pricing tier, as published on PRICE_DATE. Each key names its unit.
PRICES: dict[str, float] = {
    "lambda_gb_second_arm": 0.0000133334,  # Graviton (the stacks' ARCHITECTURE is ARM_64)
    "lambda_gb_second_x86": 0.0000166667,
    "lambda_request": 0.20 / 1e6,
    "lambda_edge_gb_second": 0.00005001,
    "lambda_edge_request": 0.60 / 1e6,
    "api_http_request": 1.00 / 1e6,  # HTTP API, first 300 million a month ($0.90 after)
    "dynamodb_wru": 0.625 / 1e6,  # on-demand write request unit
    "dynamodb_rru": 0.125 / 1e6,  # on-demand read request unit
    "dynamodb_gb_month": 0.25,
    "dynamodb_pitr_gb_month": 0.20,
    "kinesis_shard_hour": 0.015,  # provisioned mode
    "kinesis_put_unit": 0.014 / 1e6,  # a PUT payload unit: one record up to 25 KB
    "sqs_request": 0.40 / 1e6,  # standard queue, after the first million a month
    "s3_put": 0.005 / 1000,  # PUT, POST, COPY, LIST (and PutObjectTagging)
    "s3_get": 0.0004 / 1000,
    "s3_gb_month": 0.023,
    "cloudfront_gb": 0.085,  # North America and Europe, first 10 TB
    "cloudfront_request": 0.01 / 10_000,  # HTTPS
    "cloudfront_function": 0.10 / 1e6,
    "waf_acl_month": 5.0,
    "waf_rule_month": 1.0,
    "waf_request": 0.60 / 1e6,
    "rekognition_image": 0.001,  # DetectModerationLabels, first million images a month
    "valkey_gb_hour": 0.084,  # ElastiCache Serverless for Valkey, data stored (100 MB minimum)
    "valkey_ecpu": 0.0023 / 1e6,
    "opensearch_t3_small_hour": 0.036,
    "opensearch_r6g_large_hour": 0.167,
    "opensearch_gp3_gb_month": 0.122,
    "vpc_endpoint_az_hour": 0.01,  # interface endpoint, per AZ
    "vpc_endpoint_gb": 0.01,
    "nat_gateway_hour": 0.045,
    "nat_gateway_gb": 0.045,  # processed, either way
    "public_ipv4_hour": 0.005,  # every public IPv4 address, a NAT gateway's Elastic IP included
    "kms_key_month": 1.0,
    "cloudwatch_alarm_metric_month": 0.10,  # standard resolution; a metric-math alarm bills each metric it reads
    "cloudwatch_dashboard_month": 3.0,  # after the first three dashboards of an account
    "cloudwatch_metric_month": 0.30,  # custom (and API Gateway detailed) metrics, first 10,000
    "cloudwatch_logs_ingest_gb": 0.50,
    "cloudwatch_logs_store_gb_month": 0.03,
    "xray_trace": 5.0 / 1e6,  # traces recorded
    "cognito_mau_essentials": 0.015,  # the Essentials tier (the pool's plan: stacks/constructs/identity.py), after
    # 10,000 free MAU; the Lite tier would be 0.0055, 0.0046 above 100k and 0.00325 above 1M
}

# Network waits on AWS, in ms: not measured here (nothing in this repository runs on AWS); typical figures for calls
# within one region and AZ pair, stated so anyone can change them. They are billed at the function's memory.
WAITS_MS: dict[str, float] = {
    "redis_round_trip": 0.5,  # in-VPC ElastiCache
    "dynamodb_request": 5.0,  # GetItem / Query / BatchGet
    "dynamodb_transaction": 12.0,  # TransactWriteItems
    "kinesis_put": 10.0,
    "sqs_send": 8.0,
    "s3_put": 25.0,
    "s3_get_3mb": 60.0,
    "rekognition": 300.0,
    "opensearch_knn": 15.0,
}

# Assumed bytes written to CloudWatch Logs: Lambda's START/END/REPORT lines and a Powertools line per invocation;
# the API's access log line per request (stacks/constructs/api.py).
LOG_BYTES_PER_INVOCATION = 1000
LOG_BYTES_PER_API_REQUEST = 400
XRAY_SAMPLED = 0.05  # X-Ray's default rule: 1 request a second, then 5%

# A feed or explore page shows 20 posts; each image as the web app fetches it at 1080 px in AVIF (50,253 bytes:
# docs/benchmarks.md, "AVIF speed and qualities", q60 speed 8). CDN_HIT_RATIO is an assumption.
IMAGE_BYTES = 50_253
CDN_HIT_RATIO = 0.95
EDGE_MS_PER_MISS = 5.0  # each of the origin-request and origin-response Lambda@Edge calls (128 MB, x86)


def memory_mb(function: str) -> int:
    """The function's declared memory (aperture.resources), so every figure follows the code."""
    for declared in FUNCTIONS:
        if declared.name == function:
            return declared.memory_mb
    raise KeyError(f"{function} is not in aperture.resources.FUNCTIONS")


# Where each function's cost is counted: in an operation's table, or with the fixed (scheduled) cost. A function
# added to aperture.resources without an entry here fails tests/unit/test_cost.py, so the model stays whole.
FUNCTION_COSTED_IN: dict[str, str] = {
    "health": "negligible (probes)",
    "auth": "sign-ups and sign-ins (not priced per operation; Cognito MAU at 1M DAU)",
    "users": "other API reads",
    "uploads": "upload",
    "posts": "other API reads",
    "feed": "feed read",
    "interactions": "like",
    "cascade": "deletions (not priced)",
    "relay": "upload, like",
    "notifications": "other API reads",
    "notify": "like",
    "counters_flush": "fixed: every minute",
    "activity_flush": "fixed: every minute",
    "media_process": "upload",
    "moderation": "moderators' tools (negligible)",
    "post_ingest": "upload",
    "fanout": "upload",
    "stories": "story view",
    "story_views": "story view",
    "story_expiry": "fixed: every 5 minutes",
    "cdn_invalidate": "deletions (not priced)",
    "explore": "explore page",
    "explore_signals": "upload, like",
    "explore_refresh": "fixed: every 15 minutes",
    "explore_rank": "explore page (precomputed lists) and fixed",
    "search": "other API reads",
    "exports": "data exports (not priced)",
    "export_build": "data exports (not priced)",
    "erasure": "account erasures (not priced)",
    "search_rebuild": "fixed: every hour",
    "ranking_train": "fixed: daily",
}


@dataclass(frozen=True)
class Invocation:
    """One function's share of an operation: `share` invocations (1/500 for a view in a batch of 500)."""

    function: str
    cpu_ms: float  # CPU time on one full core, per invocation
    wait_ms: float  # network waits per invocation (WAITS_MS)
    share: float = 1.0
    source: str = ""

    def billed_ms(self) -> float:
        stretch = max(1.0, ONE_VCPU_MB / memory_mb(self.function))
        return self.cpu_ms * stretch + self.wait_ms

    def gb_seconds(self) -> float:
        return self.share * self.billed_ms() / 1000 * memory_mb(self.function) / 1024


@dataclass(frozen=True)
class Operation:
    name: str
    invocations: tuple[Invocation, ...]
    api_requests: float = 0.0
    dynamodb_wru: float = 0.0
    dynamodb_rru: float = 0.0
    kinesis_records: float = 0.0
    sqs_requests: float = 0.0
    s3_puts: float = 0.0
    s3_gets: float = 0.0
    rekognition_images: float = 0.0
    valkey_ecpu: float = 0.0
    images_shown: float = 0.0
    counted: str = ""  # where the request counts come from
    extra: tuple[tuple[str, float, str, str, str], ...] = field(default=())  # (item, quantity, unit, price key, note)


@dataclass(frozen=True)
class Line:
    item: str
    quantity: float  # per million operations (or per month, for idle lines)
    unit: str
    unit_price: float
    note: str = ""

    @property
    def dollars(self) -> float:
        return self.quantity * self.unit_price


def per_million(op: Operation, prices: Mapping[str, float] = PRICES) -> list[Line]:
    """The cost of a million `op`, line by line."""
    m = 1e6
    invocations = sum(i.share for i in op.invocations)
    lines = [Line("API Gateway HTTP API requests", op.api_requests * m, "request", prices["api_http_request"])]
    for i in op.invocations:
        note = (
            f"{memory_mb(i.function)} MB, {i.cpu_ms:g} ms CPU x {max(1.0, ONE_VCPU_MB / memory_mb(i.function)):.2f}"
            f" + {i.wait_ms:g} ms waits = {i.billed_ms():.1f} ms"
            + (f", x {i.share:g} invocations" if i.share != 1 else "")
            + (f" ({i.source})" if i.source else "")
        )
        lines.append(
            Line(f"Lambda {i.function}: compute", i.gb_seconds() * m, "GB-s", prices["lambda_gb_second_arm"], note)
        )
    lines.append(Line("Lambda requests", invocations * m, "request", prices["lambda_request"]))
    lines += [
        Line("DynamoDB writes", op.dynamodb_wru * m, "WRU", prices["dynamodb_wru"]),
        Line("DynamoDB reads", op.dynamodb_rru * m, "RRU", prices["dynamodb_rru"]),
        Line("Kinesis PUT payload units", op.kinesis_records * m, "unit", prices["kinesis_put_unit"]),
        Line("SQS requests", op.sqs_requests * m, "request", prices["sqs_request"]),
        Line("S3 PUT/POST requests", op.s3_puts * m, "request", prices["s3_put"]),
        Line("S3 GET requests", op.s3_gets * m, "request", prices["s3_get"]),
        Line("Rekognition moderation", op.rekognition_images * m, "image", prices["rekognition_image"]),
        Line("ElastiCache ECPUs", op.valkey_ecpu * m, "ECPU", prices["valkey_ecpu"]),
    ]
    log_gb = (invocations * LOG_BYTES_PER_INVOCATION + op.api_requests * LOG_BYTES_PER_API_REQUEST) / GB
    lines.append(Line("CloudWatch Logs ingested", log_gb * m, "GB", prices["cloudwatch_logs_ingest_gb"]))
    traced = (op.api_requests or invocations) * XRAY_SAMPLED
    lines.append(Line("X-Ray traces", traced * m, "trace", prices["xray_trace"]))
    if op.images_shown:
        shown = op.images_shown * m
        misses = shown * (1 - CDN_HIT_RATIO)
        lines += [
            Line("CDN image requests", shown, "request", prices["cloudfront_request"]),
            Line("CDN image bytes", shown * IMAGE_BYTES / GB, "GB", prices["cloudfront_gb"]),
            Line("CDN viewer-request function", shown, "invocation", prices["cloudfront_function"]),
            Line("WAF on the image CDN", shown, "request", prices["waf_request"]),
            Line("Lambda@Edge on CDN misses: requests", 2 * misses, "request", prices["lambda_edge_request"]),
            Line(
                "Lambda@Edge on CDN misses: compute",
                2 * misses * EDGE_MS_PER_MISS / 1000 * 128 / 1024,
                "GB-s",
                prices["lambda_edge_gb_second"],
            ),
            Line("S3 GETs on CDN misses", misses, "request", prices["s3_get"]),
        ]
    lines += [Line(item, quantity * m, unit, prices[key], note) for item, quantity, unit, key, note in op.extra]
    return [line for line in lines if line.quantity]


def total(lines: Iterable[Line]) -> float:
    return sum(line.dollars for line in lines)


# -- the operations ------------------------------------------------------------------------------------------------

R, D, T = WAITS_MS["redis_round_trip"], WAITS_MS["dynamodb_request"], WAITS_MS["dynamodb_transaction"]
K = WAITS_MS["kinesis_put"]

FEED_READ = Operation(
    "feed read (GET /feed, warm timeline, 20 posts)",
    invocations=(
        Invocation(
            "feed", cpu_ms=5.5, wait_ms=3 * R, source="docs/benchmarks.md 'Feed': handler p50 5.5 ms, 3 round trips"
        ),
    ),
    api_requests=1,
    valkey_ecpu=100,  # timeline page, celebrities, blocks, ~20 posts x (hash, count, liked, saved, comments)
    images_shown=20,
    counted="warm path: 3 Redis round trips, no DynamoDB request (bench/feed.py counts them)",
)

STORY_VIEW = Operation(
    "story view (POST /stories/{id}/views, first view)",
    invocations=(
        Invocation(
            "stories",
            cpu_ms=4.6,
            wait_ms=4 * R + K,
            source="docs/benchmarks.md 'Stories': first view p50 4.6 ms, 4 round trips, 1 Kinesis PutRecord",
        ),
        # The consumer takes batches of 500 (resources.KinesisTrigger) and writes 25 rows per BatchWriteItem.
        Invocation("story_views", cpu_ms=50.0, wait_ms=20 * D, share=1 / 500, source="assumed: 20 batch writes"),
    ),
    api_requests=1,
    kinesis_records=1,
    dynamodb_wru=2,  # the viewer row (under 1 KB) and its by_time index entry
    valkey_ecpu=12,
    images_shown=1,
    counted="stories.view: 1 PutRecord; story_views: put_many, 1 row per view plus the by_time GSI",
)

EXPLORE_PAGE = Operation(
    "explore page (GET /explore, precomputed list)",
    invocations=(
        Invocation(
            "explore",
            cpu_ms=5.5,
            wait_ms=4 * R,
            source="docs/benchmarks.md 'Explore': 4 round trips; hydration is the feed's (feed handler p50 5.5 ms)",
        ),
    ),
    api_requests=1,
    valkey_ecpu=110,
    images_shown=20,
    counted="warm path: 4 Redis round trips, no DynamoDB request (tests/integration/test_explore.py)",
)

# A precomputed list: explore_refresh queues every viewer active in the last explore_active_days (2) every 15 minutes,
# a hundred per job; ranking one viewer is 13.5 ms CPU (docs/benchmarks.md 'Explore') plus a k-NN query and the
# CF reads. Priced per ranking; how many rankings an explore page costs depends on the audience (see day_at_scale).
EXPLORE_RANKING = Operation(
    "explore ranking (one viewer's list, by explore_rank)",
    invocations=(
        Invocation(
            "explore_rank",
            cpu_ms=13.5,
            wait_ms=WAITS_MS["opensearch_knn"] + 3 * R,
            source="docs/benchmarks.md 'Explore': ranking p50 13.5 ms",
        ),
    ),
    sqs_requests=3 / 100,  # send, receive, delete per job of a hundred viewers
    valkey_ecpu=400,  # CF reads over co-engagement sets, the pools, the list written
    counted="one SQS job per 100 viewers; one k-NN query per viewer",
)

UPLOAD = Operation(
    "photo post (POST /uploads, S3 POST, processing, publish, fanout to 1,000 followers)",
    invocations=(
        Invocation("uploads", cpu_ms=5.0, wait_ms=3 * D, source="assumed: like a feed read's CPU; 3 DynamoDB calls"),
        Invocation(
            "media_process",
            cpu_ms=424.0,
            wait_ms=WAITS_MS["s3_get_3mb"] + WAITS_MS["rekognition"] + 3 * WAITS_MS["s3_put"] + 3 * D + K,
            source="docs/benchmarks.md 'Media pipeline': ours, 12 MP JPEG, 424 ms CPU; 9 renditions, 3 waves of PUTs",
        ),
        Invocation("post_ingest", cpu_ms=5.0, wait_ms=T + 2 * R + WAITS_MS["sqs_send"], share=1, source="assumed"),
        Invocation("relay", cpu_ms=3.0, wait_ms=K + 2 * D, source="assumed: publish to the stream, hashtags"),
        Invocation(
            "fanout", cpu_ms=16.0, wait_ms=R, source="docs/benchmarks.md 'Feed': 63,620 inserts/s -> 1,000 in 16 ms"
        ),
        Invocation("notify", cpu_ms=1.0, wait_ms=0, share=1, source="assumed: a published post with no mention"),
        Invocation("explore_signals", cpu_ms=1.0, wait_ms=R, source="assumed"),
    ),
    api_requests=1,
    # uploads: the upload record (2 KB: 2 WRU), the idempotency record written then completed (2 x 2 WRU);
    # media_process: the upload's state twice (2 WRU); post_ingest: the publish transaction of 4 items (post 2 KB,
    # author's count, outbox event, upload state: (2+1+1+1) x 2 = 10 WRU) plus the by_author GSI entry (2 WRU);
    # relay: 2 hashtag rows (2 WRU).
    dynamodb_wru=2 + 4 + 2 + 10 + 2 + 2,
    dynamodb_rru=1,  # media_process reads the upload record
    kinesis_records=2,  # 'ready' (media_process) and 'published' (relay)
    sqs_requests=3,  # one fanout job per 1,000 followers: send, receive, delete
    s3_puts=1 + 9 + 1,  # the browser's POST, 9 renditions, tagging the raw upload for expiry
    s3_gets=1,
    rekognition_images=1,
    valkey_ecpu=1000 * 2 + 50,  # fanout: ZADD + trim per follower; the post's caches
    counted="uploads.grant, media pipeline, posts.ingest (adapters/dynamo/posts.publish), relay, fanout",
    extra=(
        ("S3 storage of the renditions, first month", 311 * 1024 / GB, "GB-month", "s3_gb_month", "311 KiB each"),
        ("VPC endpoint data (Kinesis, SQS)", 0.0001, "GB", "vpc_endpoint_gb", "about 100 KB each"),
    ),
)

LIKE = Operation(
    "like (PUT /posts/{id}/like)",
    invocations=(
        Invocation("interactions", cpu_ms=5.0, wait_ms=T + 3 * R, source="assumed: a feed read's CPU, 1 transaction"),
        Invocation("relay", cpu_ms=1.0, wait_ms=K / 100, share=1 / 100, source="batches of 100 outbox records"),
        Invocation("notify", cpu_ms=2.0, wait_ms=2 * D, source="assumed: a notification written, no push"),
        Invocation("explore_signals", cpu_ms=0.5, wait_ms=R / 10, share=1 / 100, source="batches of 100"),
    ),
    api_requests=1,
    # adapters/dynamo/likes.add: a transaction of 3 items (like, post condition check, outbox) = 6 WRU, the by_user
    # GSI entry 1 WRU; notify: the notification and its dedup key (2 WRU)
    dynamodb_wru=6 + 1 + 2,
    dynamodb_rru=1,  # notify reads the post's author (cached in the batch after the first)
    kinesis_records=1,
    valkey_ecpu=10,
    counted="adapters/dynamo/likes.py (3-item transaction), relay, notify",
)

OTHER_READ = Operation(
    "other API read (tray, profile, post, comments, notifications: Redis-served)",
    invocations=(Invocation("posts", cpu_ms=5.5, wait_ms=2 * R, source="proxy: the feed handler's p50"),),
    api_requests=1,
    dynamodb_rru=0.5,  # some (notifications, comments) query DynamoDB: assumed half a read unit on average
    valkey_ecpu=40,
    counted="assumed: half of them read DynamoDB once",
)

OPERATIONS: tuple[Operation, ...] = (UPLOAD, FEED_READ, STORY_VIEW, EXPLORE_PAGE, EXPLORE_RANKING, LIKE, OTHER_READ)


# -- idle ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inventory:
    """What the CDK app declares that bills by the hour."""

    opensearch_nodes: int = 1
    opensearch_gb: int = 10
    interface_endpoints: int = 5  # X-Ray, Kinesis, SQS, Cognito, SNS (tests/unit/test_cost.py checks the constructs)
    azs: int = 2
    nat_gateways: int = 0
    kms_keys: int = 1
    dashboards: int = 1
    waf_acls: int = 2  # the image CDN's and the web app's
    waf_rules: int = 6
    valkey_min_gb: float = 0.1


def alarm_metrics() -> tuple[int, int]:
    """(alarms, billed alarm metrics) as stacks/constructs/monitoring.py declares them: errors and throttles per
    function, iterator age per stream consumer, one per place work is parked (each queue's dead-letter queue, each
    S3-triggered and scheduled function's failure queue), the failure archive, a 5xx-rate alarm (metric math over
    two metrics) and a p99 alarm per route, writes let through unlimited per Redis-rate-limited function, cache
    memory and evictions, search status red (tests/infrastructure/test_monitoring.py counts them in the template)."""
    streams = sum(isinstance(f.trigger, KinesisTrigger | TableStreamTrigger) for f in FUNCTIONS)
    parked = len(QUEUES) + sum(isinstance(f.trigger, S3Trigger | ScheduleTrigger) for f in FUNCTIONS)
    single = 2 * len(FUNCTIONS) + streams + parked + 1 + len(ROUTES) + len(REDIS_RATE_LIMITED) + 3
    return single + len(ROUTES), single + 2 * len(ROUTES)


def sqs_idle_requests() -> float:
    """Lambda polls each SQS-triggered function's queue while it is empty: about five long polls of 20 s at a time."""
    pollers = sum(isinstance(f.trigger, SqsTrigger) for f in FUNCTIONS)
    return pollers * 5 * 3 * 60 * HOURS_PER_MONTH


def scheduled_gb_seconds() -> float:
    """The scheduled functions at idle, a month: each run assumed 100 ms of waits (a few reads, nothing to do),
    explore_refresh 1 s of CPU, ranking_train (daily) 1 s listing empty days."""
    runs = {
        "counters_flush": 60 * HOURS_PER_MONTH,
        "activity_flush": 60 * HOURS_PER_MONTH,
        "story_expiry": 12 * HOURS_PER_MONTH,
        "explore_refresh": 4 * HOURS_PER_MONTH,
        "search_rebuild": HOURS_PER_MONTH,
        "ranking_train": HOURS_PER_MONTH / 24,
    }
    per_run = {
        "counters_flush": 0.1,
        "activity_flush": 0.1,
        "story_expiry": 0.1,
        "explore_refresh": 1.0,
        "search_rebuild": 0.1,
        "ranking_train": 1.0,
    }
    return sum(runs[f] * per_run[f] * memory_mb(f) / 1024 for f in runs)


def idle(inventory: Inventory, prices: Mapping[str, float] = PRICES) -> list[Line]:
    h = HOURS_PER_MONTH
    alarms, billed = alarm_metrics()
    lines = [
        Line(
            "OpenSearch t3.small.search data node",
            inventory.opensearch_nodes * h,
            "hour",
            prices["opensearch_t3_small_hour"],
        ),
        Line("OpenSearch gp3 storage", inventory.opensearch_gb, "GB-month", prices["opensearch_gp3_gb_month"]),
        Line(
            f"VPC interface endpoints: {inventory.interface_endpoints} x {inventory.azs} AZs",
            inventory.interface_endpoints * inventory.azs * h,
            "endpoint-AZ-hour",
            prices["vpc_endpoint_az_hour"],
        ),
        Line("NAT gateways", inventory.nat_gateways * h, "hour", prices["nat_gateway_hour"]),
        Line(
            f"Kinesis: {sum(s.shards for s in STREAMS)} provisioned shards",
            sum(s.shards for s in STREAMS) * h,
            "shard-hour",
            prices["kinesis_shard_hour"],
        ),
        Line(
            "ElastiCache Serverless (Valkey) minimum data",
            inventory.valkey_min_gb * h,
            "GB-hour",
            prices["valkey_gb_hour"],
        ),
        Line(
            f"CloudWatch alarms: {alarms} alarms", billed, "alarm metric-month", prices["cloudwatch_alarm_metric_month"]
        ),
        Line("CloudWatch dashboard", inventory.dashboards, "dashboard-month", prices["cloudwatch_dashboard_month"]),
        Line("WAF web ACL", inventory.waf_acls, "ACL-month", prices["waf_acl_month"]),
        Line("WAF rules", inventory.waf_rules, "rule-month", prices["waf_rule_month"]),
        Line("KMS customer-managed keys", inventory.kms_keys, "key-month", prices["kms_key_month"]),
        Line(
            "SQS: Lambda's long polls of empty queues",
            max(0.0, sqs_idle_requests() - 1e6),
            "request",
            prices["sqs_request"],
            "after the free million",
        ),
        Line("Lambda: scheduled functions", scheduled_gb_seconds(), "GB-s", prices["lambda_gb_second_arm"]),
    ]
    return [line for line in lines if line.quantity]


def declared_inventory() -> Inventory:
    """The inventory read from the CDK constructs themselves (imports aws_cdk: a second or two)."""
    from stacks.constructs import firewall, network, search

    if search.INSTANCE_TYPE != "t3.small.search":
        raise SystemExit(f"the search domain is now {search.INSTANCE_TYPE}: add its price to PRICES")
    return Inventory(
        interface_endpoints=len(network.interface_endpoints_for(FUNCTIONS)),
        # One web ACL per distribution, each with the managed groups and its rate limit.
        waf_acls=len(firewall.REQUESTS_PER_IP_PER_5_MINUTES),
        waf_rules=len(firewall.REQUESTS_PER_IP_PER_5_MINUTES) * (len(firewall.MANAGED_RULE_GROUPS) + 1),
    )


@dataclass(frozen=True)
class Egress:
    """One way for the in-VPC functions to reach the AWS services that have no gateway endpoint."""

    option: str
    idle: float  # USD a month
    per_gb: float  # USD per GB processed
    note: str = ""


def egress_options(inventory: Inventory, prices: Mapping[str, float] = PRICES) -> list[Egress]:
    """The interface endpoints as built, against NAT gateways doing their work (stacks/constructs/network.py says
    why the endpoints stay). A NAT gateway also bills its public IPv4 address, and needs public subnets and an
    internet gateway (free)."""
    h = HOURS_PER_MONTH
    nat = (prices["nat_gateway_hour"] + prices["public_ipv4_hour"]) * h
    return [
        Egress(
            f"{inventory.interface_endpoints} interface endpoints x {inventory.azs} AZs (as built)",
            inventory.interface_endpoints * inventory.azs * h * prices["vpc_endpoint_az_hour"],
            prices["vpc_endpoint_gb"],
            "no route to the internet; each AZ's traffic stays in its AZ",
        ),
        Egress(
            "1 NAT gateway and its address",
            nat,
            prices["nat_gateway_gb"],
            "a route to the internet; the other AZ's traffic crosses AZs ($0.01/GB each way) and has no egress "
            "while the NAT's AZ is down",
        ),
        Egress(
            f"{inventory.azs} NAT gateways (one per AZ) and their addresses",
            inventory.azs * nat,
            prices["nat_gateway_gb"],
            "a route to the internet",
        ),
    ]


def break_even_gb(cheaper_idle: Egress, cheaper_per_gb: Egress) -> float:
    """The GB a month above which `cheaper_per_gb` costs less in all than `cheaper_idle`."""
    return (cheaper_per_gb.idle - cheaper_idle.idle) / (cheaper_idle.per_gb - cheaper_per_gb.per_gb)


# -- a day at 1M daily active users --------------------------------------------------------------------------------

DAU = 1_000_000
DAYS_PER_MONTH = 30
# Per active user per day. The brief's example mix; bench/load.py's weights (feed 32, tray 12, explore 10 ... of
# 100) agree on the order. Assumptions, not measurements.
DAILY_MIX: dict[str, float] = {
    "feed read": 30,
    "story view": 20,
    "explore page": 5,
    "photo post": 0.2,
    "story post": 0.3,
    "like": 10,
    "other API read": 30,
}
EXPLORE_AUDIENCE = 1.0  # viewers who opened explore in the last explore_active_days (2), per DAU (assumption)
REFRESHES_PER_DAY = 24 * 60 // 15  # explore_refresh runs every 15 minutes and re-ranks every such viewer
MAU_PER_DAU = 2.0  # assumption
TIMELINE_ENTRY_BYTES = 80  # a sorted-set entry (skiplist encoding) of a post id and its score, assumed
CACHED_TIMELINES_PER_DAU = 1.0  # an inactive user's timeline is rebuilt on return, so about the daily users'
OPENSEARCH_NODES_AT_SCALE = 3  # r6g.large.search across three AZs for the k-NN rate below: a sizing guess


# CloudFront, North America and Europe, per GB by monthly volume: (tier's upper bound in TB, USD per GB)
CLOUDFRONT_TIERS: tuple[tuple[float, float], ...] = (
    (10, 0.085),
    (50, 0.080),
    (150, 0.060),
    (500, 0.040),
    (1024, 0.030),
    (5120, 0.025),
    (float("inf"), 0.020),
)


def cloudfront_tiered(gb: float) -> float:
    """A month's CloudFront data transfer out at its volume tiers."""
    dollars, floor = 0.0, 0.0
    for upper_tb, price in CLOUDFRONT_TIERS:
        in_tier = min(gb, upper_tb * 1024) - floor
        if in_tier <= 0:
            break
        dollars += in_tier * price
        floor = upper_tb * 1024
    return dollars


@dataclass(frozen=True)
class Row:
    what: str
    count: float  # a day
    dollars: float  # a 30-day month
    how: str = ""


def day_at_scale(prices: Mapping[str, float] = PRICES) -> list[Row]:
    """What DAU daily active users cost a month: the operations of DAILY_MIX, and the capacity they need."""
    ops = {
        "feed read": FEED_READ,
        "story view": STORY_VIEW,
        "explore page": EXPLORE_PAGE,
        "photo post": UPLOAD,
        "story post": UPLOAD,  # the same pipeline (a story's tray is read on demand: this overstates its fanout)
        "like": LIKE,
        "other API read": OTHER_READ,
    }
    days = DAYS_PER_MONTH
    rows = [
        Row(what, DAU * n, total(per_million(ops[what], prices)) * DAU * n / 1e6 * days, f"{n:g} per user a day")
        for what, n in DAILY_MIX.items()
    ]
    rankings = DAU * EXPLORE_AUDIENCE * REFRESHES_PER_DAY
    rows.append(
        Row(
            "explore rankings (precomputed lists)",
            rankings,
            total(per_million(EXPLORE_RANKING, prices)) * rankings / 1e6 * days,
            f"{EXPLORE_AUDIENCE:g} x DAU viewers x {REFRESHES_PER_DAY} refreshes",
        )
    )
    image_gb = sum(
        DAU * DAILY_MIX[what] / 1e6 * days * line.quantity
        for what in ops
        for line in per_million(ops[what], prices)
        if line.item == "CDN image bytes"
    )
    rows.append(
        Row(
            f"CloudFront volume tiers on {image_gb / 1024:,.0f} TB of images",
            0,
            cloudfront_tiered(image_gb) - image_gb * prices["cloudfront_gb"],
            "the operations above priced every GB at the first tier",
        )
    )
    knn_per_second = rankings / 86_400
    rows.append(
        Row(
            f"OpenSearch for {knn_per_second:,.0f} k-NN queries/s",
            knn_per_second * 86_400,
            OPENSEARCH_NODES_AT_SCALE * prices["opensearch_r6g_large_hour"] * HOURS_PER_MONTH,
            f"{OPENSEARCH_NODES_AT_SCALE} x r6g.large.search (sizing guess, not measured)",
        )
    )
    timeline_gb = DAU * CACHED_TIMELINES_PER_DAU * Settings().timeline_cap * TIMELINE_ENTRY_BYTES / GB
    rows.append(
        Row(
            f"ElastiCache data: {timeline_gb:,.0f} GB of timelines",
            0,
            timeline_gb * prices["valkey_gb_hour"] * HOURS_PER_MONTH,
            f"timeline_cap {Settings().timeline_cap} x {TIMELINE_ENTRY_BYTES} B per daily user",
        )
    )
    route_metrics = 6 * len(ROUTES)
    rows.append(
        Row(
            f"API detailed metrics: {route_metrics} route metrics",
            0,
            route_metrics * prices["cloudwatch_metric_month"],
            "6 per route while traffic flows (the per-route alarms read them)",
        )
    )
    mau = DAU * MAU_PER_DAU
    cognito = max(0.0, mau - 10_000) * prices["cognito_mau_essentials"]
    rows.append(Row(f"Cognito ({mau:,.0f} MAU, Essentials)", 0, cognito, "10,000 free, then $0.015 each"))
    return rows


# The ranking loop (issue 14) at DAU: every feed read and explore page logs PAGE_IMPRESSIONS impressions.
PAGE_IMPRESSIONS = 20
LOOP_ENGAGEMENTS_PER_DAU = 15.0  # likes, comments, saves and profile opens a day (assumption: DAILY_MIX's likes + half)
# Measured (docs/benchmarks.md, "Ranking loop: cost and capacity"): gzipped bytes a logged record, and the flush's
# time a record at one vCPU: a whole run's CPU over 100,000 records in a real Redis (reading the stream, parsing,
# gzip at level 6, acknowledging; 26 to 30 us) plus Redis's own (3 to 4 us), which the function waits for
IMPRESSION_GZ_BYTES = {"feed read": 83.3, "explore page": 98.6}  # at gzip level 9, 81.3 and 96.2; level 6: +2.4%
FLUSH_CPU_US_PER_RECORD = 30.0 + 4.0
ACTIVITY_SHARDS = 8
LOG_DAYS = 30
# Measured: the whole training job over 10,000,000 logged impressions (bench/training.py --job 10000000: 185 s on
# the loaded 2-core machine), the TRAINED_IMPRESSIONS it reads: beyond that the job must sample (a day at DAU is 700
# million impressions).
JOB_SECONDS_PER_MILLION = 18.5
TRAINED_IMPRESSIONS = 10_000_000


def activity_records_a_day() -> float:
    """Records logged a day at DAU: every ranked page's impressions and the engagements."""
    return (
        sum(DAU * DAILY_MIX[what] * PAGE_IMPRESSIONS for what in IMPRESSION_GZ_BYTES) + DAU * LOOP_ENGAGEMENTS_PER_DAU
    )


def flush_capacity_a_run() -> int:
    """Records one activity_flush run moves at most, as declared: every shard's rounds of a batch."""
    settings = Settings()
    return ACTIVITY_SHARDS * settings.activity_flush_rounds * settings.activity_flush_batch


def flush_seconds(records: float) -> float:
    """The flush's CPU time for `records` at its declared memory (stretched below one vCPU)."""
    return records * FLUSH_CPU_US_PER_RECORD / 1e6 * max(1.0, ONE_VCPU_MB / memory_mb("activity_flush"))


def ranking_loop_day(prices: Mapping[str, float] = PRICES) -> list[Row]:
    """The loop a day at DAU (Row.dollars is a day here): the minute flush's compute and PUTs, the log's storage at
    its retention, the daily training run."""
    impressions = {what: DAU * DAILY_MIX[what] * PAGE_IMPRESSIONS for what in IMPRESSION_GZ_BYTES}
    records = activity_records_a_day()
    flush_mb = memory_mb("activity_flush")
    per_shard_minute = records / ACTIVITY_SHARDS / 1440
    batch = Settings().activity_flush_batch
    puts = 1440 * ACTIVITY_SHARDS * (-(-per_shard_minute // batch) + 1)  # + one engagement object a shard
    stored_gb = sum(n * IMPRESSION_GZ_BYTES[what] for what, n in impressions.items()) / GB
    job_seconds = JOB_SECONDS_PER_MILLION * TRAINED_IMPRESSIONS / 1e6
    return [
        Row(
            "activity_flush compute (every minute)",
            records,
            flush_seconds(records) * flush_mb / 1024 * prices["lambda_gb_second_arm"] + 1440 * prices["lambda_request"],
            f"{records:,.0f} records x {FLUSH_CPU_US_PER_RECORD:g} us at {flush_mb} MB",
        ),
        Row(
            "activity_flush S3 PUTs",
            puts,
            puts * prices["s3_put"],
            f"{per_shard_minute:,.0f} records a shard a minute in objects of {batch:,}",
        ),
        Row(
            f"log storage ({stored_gb:,.0f} GB a day, {LOG_DAYS} days kept)",
            0,
            stored_gb * LOG_DAYS * prices["s3_gb_month"] / DAYS_PER_MONTH,
            "gzipped JSON lines, measured bytes a record",
        ),
        Row(
            f"ranking_train (daily, {job_seconds:,.0f} s at {memory_mb('ranking_train')} MB)",
            1,
            job_seconds * memory_mb("ranking_train") / 1024 * prices["lambda_gb_second_arm"],
            f"{TRAINED_IMPRESSIONS:,} impressions read (the most one run holds; sampling at this scale is not "
            "built), measured time",
        ),
    ]


# -- printing ------------------------------------------------------------------------------------------------------


def _money(x: float) -> str:
    if x < 0:
        return f"-{_money(-x)}"
    return f"${x:,.2f}" if x >= 0.01 or x == 0 else f"${x:.4f}"


def table(lines: list[Line], what: str) -> str:
    out = [f"| item | {what} | unit price | USD | how |", "|---|---|---|---|---|"]
    for line in lines:
        quantity = f"{line.quantity:,.2f} {line.unit}"
        out.append(f"| {line.item} | {quantity} | {line.unit_price:.10g} | {_money(line.dollars)} | {line.note} |")
    out.append(f"| **total** | | | **{_money(total(lines))}** | |")
    return "\n".join(out)


def egress_table(inventory: Inventory) -> str:
    """The endpoints against NAT gateways, and where each cheaper-idle option stops being cheaper."""
    built, *nats = egress_options(inventory)
    out = ["| option | idle | per GB processed | how |", "|---|---|---|---|"]
    out += [f"| {o.option} | {_money(o.idle)} | ${o.per_gb:g} | {o.note} |" for o in (built, *nats)]
    for nat in nats:
        if nat.idle < built.idle:
            out.append(
                f"\n{nat.option}: {_money(built.idle - nat.idle)} a month less idle; more in all above"
                f" {break_even_gb(nat, built):,.0f} GB a month."
            )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-stacks", action="store_true", help="use the default inventory, not the constructs")
    args = parser.parse_args()
    inventory = Inventory() if args.no_stacks else declared_inventory()
    print(f"Region {REGION}; prices as published on {PRICE_DATE}; check the AWS pricing pages.\n")
    print(f"## Idle, a month ({inventory.interface_endpoints} interface endpoints in {inventory.azs} AZs)\n")
    print(table(idle(inventory), "quantity a month"))
    print("\n## Interface endpoints against NAT gateways, a month\n")
    print(egress_table(inventory))
    for op in OPERATIONS:
        print(f"\n## A million of: {op.name}\n")
        print(f"Counted: {op.counted}\n")
        print(table(per_million(op), "quantity per million"))
    print(f"\n## {DAU:,} daily active users, a 30-day month\n")
    print("| what | a day | USD a month | how |\n|---|---|---|---|")
    rows = day_at_scale()
    for row in sorted(rows, key=lambda r: -r.dollars):
        count = f"{row.count:,.0f}" if row.count else "-"
        print(f"| {row.what} | {count} | {_money(row.dollars)} | {row.how} |")
    print(f"| **total** | | **{_money(sum(r.dollars for r in rows))}** | |")
    print(f"\n## The ranking loop at {DAU:,} daily active users, a day\n")
    print("| what | a day | USD a day | how |\n|---|---|---|---|")
    loop = ranking_loop_day()
    for row in loop:
        count = f"{row.count:,.0f}" if row.count else "-"
        print(f"| {row.what} | {count} | {_money(row.dollars)} | {row.how} |")
    print(f"| **total** | | **{_money(sum(r.dollars for r in loop))}** | |")


if __name__ == "__main__":
    main()
