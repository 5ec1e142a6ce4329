"""Every stateful resource and every function, declared once for the CDK stacks and the local runtime."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

AttributeType = Literal["S", "N"]
Access = Literal["read", "write", "read_write"]


@dataclass(frozen=True)
class Attribute:
    name: str
    type: AttributeType = "N"


@dataclass(frozen=True)
class Index:
    name: str
    partition: Attribute
    sort: Attribute | None = None
    projection: Literal["ALL", "KEYS_ONLY"] = "ALL"


@dataclass(frozen=True)
class Table:
    key: str  # logical name; the physical name comes from Settings.table_<key>
    partition: Attribute
    sort: Attribute | None = None
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None
    stream: Literal["NEW_IMAGE", "NEW_AND_OLD_IMAGES"] | None = None

    @property
    def setting(self) -> str:
        return f"table_{self.key}"


@dataclass(frozen=True)
class Stream:
    key: str
    shards: int = 1
    retention_hours: int = 24

    @property
    def setting(self) -> str:
        return f"stream_{self.key}"


USERS = Table(
    key="users",
    partition=Attribute("user_id"),
    indexes=(Index("by_username", Attribute("username", "S")),),
)
POSTS = Table(
    key="posts",
    partition=Attribute("post_id"),
    indexes=(Index("by_author", Attribute("author_id"), Attribute("post_id")),),
)
# Each user's uploads through by_user (keys only): what an account's erasure needs to delete them, without a scan.
UPLOADS = Table(
    key="uploads",
    partition=Attribute("upload_id"),
    indexes=(Index("by_user", Attribute("user_id"), Attribute("upload_id"), projection="KEYS_ONLY"),),
    ttl_attribute="expires_at",
)
FOLLOWS = Table(
    key="follows",
    partition=Attribute("follower_id"),
    sort=Attribute("followee_id"),
    indexes=(Index("by_followee", Attribute("followee_id"), Attribute("follower_id")),),
)
# Snowflake worker-id leases: an item per leased id, gone once its lease lapses.
WORKERS = Table(key="workers", partition=Attribute("worker_id"), ttl_attribute="lease_expires_at")

# Perceptual hashes of images moderators removed; every upload is compared against them.
BLOCKLIST = Table(key="blocklist", partition=Attribute("hash", "S"))

BLOCKS = Table(
    key="blocks",
    partition=Attribute("blocker_id"),
    sort=Attribute("blocked_id"),
    indexes=(Index("by_blocked", Attribute("blocked_id"), Attribute("blocker_id")),),
)
# Whom each user mutes. Only the muter's side is ever read (their feed, tray and explore leave the muted account
# out; the muted account is told nothing), so there is no index by the muted user. A table of its own rather than
# items in `blocks`: a block is read both ways, through by_blocked, and a mute must never show up there.
# by_muted (keys only) is read by an account's erasure alone, to remove the mutes of the erased account.
MUTES = Table(
    key="mutes",
    partition=Attribute("muter_id"),
    sort=Attribute("muted_id"),
    indexes=(Index("by_muted", Attribute("muted_id"), Attribute("muter_id"), projection="KEYS_ONLY"),),
)
# Each user's close friends (owner -> friend, read by the owner alone), and the same entries the other way (friend ->
# owner: whose close-friends stories the friend may see), written in one transaction. A second table rather than an
# index: viewing reads it consistently, so a removed friend loses access at once (aperture.close_friends).
CLOSE_FRIENDS = Table(key="close_friends", partition=Attribute("owner_id"), sort=Attribute("friend_id"))
CLOSE_FRIEND_OF = Table(key="close_friend_of", partition=Attribute("friend_id"), sort=Attribute("owner_id"))
# Every like of a post (the full list), and each user's likes through the index.
LIKES = Table(
    key="likes",
    partition=Attribute("post_id"),
    sort=Attribute("user_id"),
    indexes=(Index("by_user", Attribute("user_id"), Attribute("post_id")),),
)
# Each user's saved posts, private to them: user -> post in the table (a consistent read loads the whole list into
# the saver's cache), newest save first through by_time, and the savers of a post through by_post (keys only: what a
# deleted post's cascade needs to remove every save of it, without a scan).
SAVES = Table(
    key="saves",
    partition=Attribute("user_id"),
    sort=Attribute("post_id"),
    indexes=(
        Index("by_time", Attribute("user_id"), Attribute("saved_at")),
        Index("by_post", Attribute("post_id"), Attribute("user_id"), projection="KEYS_ONLY"),
    ),
)
# Each post's comments in order; by_author is every comment one user wrote, anywhere (their data export reads it,
# and an account's erasure deletes them through it).
COMMENTS = Table(
    key="comments",
    partition=Attribute("post_id"),
    sort=Attribute("comment_id"),
    indexes=(Index("by_author", Attribute("author_id"), Attribute("comment_id")),),
)
# Each user's inbox. The sparse by_post index holds only notifications about a post (a follow's has no post_id), keys
# only: what a deleted post's cascade needs to find and delete them in every inbox, without a scan.
NOTIFICATIONS = Table(
    key="notifications",
    partition=Attribute("user_id"),
    sort=Attribute("notification_id"),
    indexes=(
        Index("by_post", Attribute("post_id"), Attribute("notification_id"), projection="KEYS_ONLY"),
        # Whom each notification names as its latest actor (keys only): an account's erasure removes them
        Index("by_actor", Attribute("actor_id"), Attribute("notification_id"), projection="KEYS_ONLY"),
    ),
    ttl_attribute="expires_at",
)
# Keys that group likes into one notification (one per post, recipient and window), and that hold back a follow's
# notification when the same pair's follow notified within the day (aperture.notifications).
NOTIFY_KEYS = Table(key="notify_keys", partition=Attribute("key", "S"), ttl_attribute="expires_at")
# Domain events, each written in the same transaction as the change it tells of (a like, a follow, a comment):
# the table's stream hands them to the relay, which publishes them to the events stream. An event exists if and
# only if its change was committed; the items expire once relayed (a day is the stream's own retention).
OUTBOX = Table(key="outbox", partition=Attribute("event_id", "S"), ttl_attribute="expires_at", stream="NEW_IMAGE")
# Powertools idempotency records: one per piece of consumer work (claimed, then done), so a retried record or batch
# does nothing twice and a failed one is done again (aperture.idempotency).
IDEMPOTENCY = Table(key="idempotency", partition=Attribute("id", "S"), ttl_attribute="expiration")
DEVICES = Table(key="devices", partition=Attribute("user_id"), sort=Attribute("device_id", "S"))
# Stories: live for APERTURE_STORY_TTL_SECONDS. The sparse by_expiry index holds only stories the expiry job has
# not handled yet (it archives them to highlights or deletes their images); TTL purges the record a week later.
STORIES = Table(
    key="stories",
    partition=Attribute("story_id"),
    indexes=(
        # Live stories are those expiring after now: exactly a range of this index, oldest first.
        Index("by_author", Attribute("author_id"), Attribute("expires_at")),
        Index("by_expiry", Attribute("expiry_shard"), Attribute("expires_at")),
    ),
    ttl_attribute="purge_at",
)
# Who viewed a story (written in batches from the story-views stream); newest first through by_time.
STORY_VIEWS = Table(
    key="story_views",
    partition=Attribute("story_id"),
    sort=Attribute("viewer_id"),
    indexes=(
        Index("by_time", Attribute("story_id"), Attribute("viewed_at")),
        Index("by_viewer", Attribute("viewer_id"), Attribute("story_id"), projection="KEYS_ONLY"),  # (erasure)
    ),
    ttl_attribute="purge_at",
)
# Expired stories of authors who keep highlights: kept for good.
HIGHLIGHTS = Table(key="highlights", partition=Attribute("author_id"), sort=Attribute("story_id"))
# Pending follow requests to private accounts, keyed by the account asked (its list of requests, in pages) and the
# requester (whether one is pending). Both directions of a pair are read by key; by_requester (keys only) serves an
# account's erasure alone, which removes the requests the erased account made.
FOLLOW_REQUESTS = Table(
    key="follow_requests",
    partition=Attribute("owner_id"),
    sort=Attribute("requester_id"),
    indexes=(Index("by_requester", Attribute("requester_id"), Attribute("owner_id"), projection="KEYS_ONLY"),),
)

# Each hashtag's posts (newest first: Snowflake ids are time-ordered) and, under post_id 0, its post count. Written
# from the post's committed events by the relay (aperture.search), conditionally, so a count moves once per post.
HASHTAGS = Table(key="hashtags", partition=Attribute("tag", "S"), sort=Attribute("post_id"))

# Reports: one item per reporter and target (the conditional put that makes reporting again a no-op), and the
# moderation queue: one entry per target aggregating its reports. The queue's by_status index answers "open entries,
# most reported first" as a query (report_count is its sort key); by_report finds an entry from the id moderators use.
# by_reporter (keys only) finds a reporter's reports without a scan: what erasing their account withdraws.
REPORTS = Table(
    key="reports",
    partition=Attribute("target", "S"),
    sort=Attribute("reporter_id"),
    indexes=(Index("by_reporter", Attribute("reporter_id"), Attribute("target", "S"), projection="KEYS_ONLY"),),
)
MODERATION_QUEUE = Table(
    key="moderation_queue",
    partition=Attribute("target", "S"),
    indexes=(
        Index("by_status", Attribute("status", "S"), Attribute("report_count")),
        Index("by_report", Attribute("report_id"), projection="KEYS_ONLY"),
        # Entries about one account (it, or its content): what the account's erasure deletes, without a scan
        Index("by_account", Attribute("account_id"), Attribute("target", "S"), projection="KEYS_ONLY"),
    ),
)
# Accounts switched off for everyone: suspended by a moderator, or being erased (aperture.standing). Small (only the
# accounts disabled now), read whole into one cached set by every function that serves or hides users' content.
# An erased account's record stays as a tombstone until its last IdToken expires, then TTL removes it.
DISABLED_ACCOUNTS = Table(key="disabled_accounts", partition=Attribute("user_id"), ttl_attribute="expires_at")

# Data exports (GDPR Art. 20): each user's export jobs under their own partition, so reading one is a GetItem on the
# caller's key (nobody else's export can even be addressed), plus one marker item per user (export_id 0) naming the
# export still pending, which a second request returns instead of starting another (aperture.exports). A table of
# its own: no existing table is keyed by user alone with room for a job's state, and records purge a week on (TTL).
EXPORTS = Table(key="exports", partition=Attribute("user_id"), sort=Attribute("export_id"), ttl_attribute="purge_at")

# Sign-up counts per source address and window (aperture.limits): the auth function runs outside the VPC, away from
# Redis, so its one limit is a conditional counter here; each window's item expires after it.
RATE_LIMITS = Table(key="rate_limits", partition=Attribute("key", "S"), ttl_attribute="expires_at")

TABLES: tuple[Table, ...] = (
    USERS,
    POSTS,
    UPLOADS,
    FOLLOWS,
    WORKERS,
    BLOCKLIST,
    BLOCKS,
    MUTES,
    LIKES,
    SAVES,
    COMMENTS,
    NOTIFICATIONS,
    NOTIFY_KEYS,
    OUTBOX,
    IDEMPOTENCY,
    DEVICES,
    STORIES,
    STORY_VIEWS,
    HIGHLIGHTS,
    CLOSE_FRIENDS,
    CLOSE_FRIEND_OF,
    FOLLOW_REQUESTS,
    HASHTAGS,
    REPORTS,
    MODERATION_QUEUE,
    DISABLED_ACCOUNTS,
    EXPORTS,
    RATE_LIMITS,
)

# Three functions consume it (post_ingest, notify, explore_signals), each polling every shard once a second: within
# a shard's five reads a second. A fourth consumer should use enhanced fan-out.
EVENTS = Stream(key="events")
# Story views are the platform's largest write volume (a celebrity story draws millions): a stream of their own,
# consumed in large batches so the viewer list is written with BatchWriteItem.
# One provisioned shard takes 1,000 views/s; views are partitioned by viewer, so adding shards spreads even one
# celebrity story's views evenly.
STORY_VIEWS_STREAM = Stream(key="story_views")
STREAMS: tuple[Stream, ...] = (EVENTS, STORY_VIEWS_STREAM)


@dataclass(frozen=True)
class Queue:
    key: str
    visibility_timeout_seconds: int = 120  # longer than its consumer's timeout, as SQS triggers require

    @property
    def setting(self) -> str:
        return f"queue_{self.key}"


# Fanout jobs: about a thousand followers each, run in parallel by the fanout function.
FANOUT = Queue(key="fanout", visibility_timeout_seconds=360)  # six times the consumer's timeout, as AWS advises
# Explore ranking jobs: a hundred active users each, queued by the explore refresh every 15 minutes.
EXPLORE = Queue(key="explore", visibility_timeout_seconds=360)
# Key prefixes of deleted images whose CDN copies must go. The functions that delete images run in the VPC, from
# which CloudFront's API cannot be reached (it has no VPC endpoint, and there is no NAT); they queue the prefixes
# here (SQS has an endpoint) for cdn_invalidate, which runs outside. Five minutes: a message CloudFront refuses while
# earlier invalidations are in progress is retried after that (see cdn_invalidate's trigger below).
CDN_INVALIDATIONS = Queue(key="cdn_invalidations", visibility_timeout_seconds=300)
# Data export jobs, one per requested export, queued by the relay from the export's committed event. A queue rather
# than a third reader of the outbox's stream (DynamoDB Streams allows two readers per shard, relay and cascade) or a
# fourth consumer of the events stream: a build runs for minutes, and on a stream it would hold up every record
# behind it. Six times the builder's 15-minute timeout, as AWS advises.
EXPORTS_QUEUE = Queue(key="exports", visibility_timeout_seconds=6 * 900)
# Rounds of account erasures, each queued by the relay from its committed event (the same reasons as exports: the
# outbox's stream has its two readers already). Six times the worker's 5-minute timeout.
ERASURE_QUEUE = Queue(key="erasure", visibility_timeout_seconds=6 * 300)
QUEUES: tuple[Queue, ...] = (FANOUT, EXPLORE, CDN_INVALIDATIONS, EXPORTS_QUEUE, ERASURE_QUEUE)

UPLOAD_PREFIX = "uploads/"
IMAGE_PREFIX = "images/"
MODEL_PREFIX = "models/"  # trained ranking weights (models/<surface>/<version>.json, current.json the served one)
# Users' data export ZIPs (exports/{user_id}/{export_id}.zip), deleted by the bucket's lifecycle a day after writing.
EXPORT_PREFIX = "exports/"
# The activity log in S3 (logs/<kind>/dt=<YYYY-MM-DD>/<shard>-<first entry id>.jsonl.gz, aperture.activity_flush),
# expired by the bucket's lifecycle after `aperture:activityLogDays` (CDK context; 30 unless set).
ACTIVITY_LOG_PREFIX = "logs/"
ACTIVITY_LOG_DAYS = 30
# CloudFront's limit on wildcard paths in invalidations in progress, per distribution (3,000 for concrete paths):
# cdn_invalidate's trigger is sized so that one round of its work stays within it.
CDN_WILDCARD_PATHS_IN_PROGRESS = 15
# Where Lambda's S3 on-failure destination writes the whole invocation record of a stream batch it gave up on
# (aws/lambda/<mapping id>/<shard id>/YYYY/MM/DD/<time>-<uuid>), in the failure archive bucket; the local pump
# writes the same there, and `python -m local.redrive` gives them back to their functions.
FAILURE_ARCHIVE_PREFIX = "aws/lambda/"
# On AWS the archive bucket is aperture-failures-<account>-<region> (locally Settings.failure_archive_bucket).
FAILURE_ARCHIVE_BUCKET_PREFIX = "aperture-failures-"
# Every deployed function is tagged with its declared name (deployed names are CloudFormation's), so an operator's
# tool can tell which function an ARN is.
FUNCTION_TAG = "aperture:function"
# What the platform's Redis user may do: the access string of the ElastiCache user the functions authenticate as on
# AWS, and the ACL rules of the local servers' user (local/redis_server.py), so a command refused on AWS is refused
# locally too. Every key (a user's keys are spread over the whole keyspace by hash tag) and every command but the
# dangerous ones: FLUSHALL and FLUSHDB, KEYS, CONFIG, DEBUG, MONITOR, SHUTDOWN, ACL administration, INFO and the
# like. What the code sends is in @read, @write, @keyspace (SCAN, in an account's erasure) and @scripting (EVALSHA,
# EVAL, SCRIPT LOAD); the cluster client also needs COMMAND and CLUSTER SLOTS (both @slow since Redis 7).
CACHE_ACCESS = "on ~* +@all -@dangerous"


@dataclass(frozen=True)
class CorsRule:
    methods: tuple[str, ...]
    origins: tuple[str, ...]
    headers: tuple[str, ...]
    max_age_seconds: int

    def s3_rule(self) -> dict[str, object]:
        """The rule as S3's PutBucketCors takes it (and as CloudFormation's CorsRules item writes it)."""
        return {
            "AllowedMethods": list(self.methods),
            "AllowedOrigins": list(self.origins),
            "AllowedHeaders": list(self.headers),
            "MaxAgeSeconds": self.max_age_seconds,
        }


# Browsers upload straight to the media bucket with the presigned POST. The signed policy (key, size, type) is the
# access control; CORS only lets the page see the answer, and lets it follow the upload's progress (which makes the
# browser send a preflight first).
MEDIA_UPLOAD_CORS = CorsRule(methods=("POST",), origins=("*",), headers=("*",), max_age_seconds=3000)

# The web app (web/, built into web/dist by npm) is served under this path: by the local gateway, and on AWS by
# CloudFront from a private bucket. Its config.json tells it where the API is.
WEB_APP_PATH = "/app/"


def web_app_csp(api_url: str, cdn_base: str, upload_urls: Sequence[str]) -> str:
    """The web app's Content-Security-Policy: its own files, the API, the CDN's images, uploads to the media bucket.

    Nothing inline and nothing from anywhere else; the local gateway sends the same policy as CloudFront."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: blob: {cdn_base}/",
            f"connect-src 'self' {api_url} {' '.join(upload_urls)}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def web_app_config(api_url: str, user_pool_client_id: str, region: str, cdn_base: str) -> dict[str, str]:
    """The web app's config.json: written at deploy on AWS, answered by the local gateway."""
    return {
        "api_url": api_url,
        "user_pool_client_id": user_pool_client_id,
        "region": region,
        "cdn_base": cdn_base,
    }


@dataclass(frozen=True)
class Grant:
    # "table:<key>", "stream:<key>", "queue:<key>", "bucket:<prefix>", "user_pool" (or by purpose:
    # "user_pool:sign_up", "user_pool:sessions", see stacks/constructs/permissions.py), "rekognition:moderation",
    # "sns:push", "search:explore" (the k-NN index of post embeddings), "cdn:images" (invalidating cached images)
    resource: str
    access: Access
    scan: bool = False  # a table read whole (dynamodb:Scan); no read grant includes it otherwise


# Every function that serves a user's requests or hides users' content reads the disabled accounts (aperture.standing):
# the whole small table into one cached set.
STANDING = Grant("table:disabled_accounts", "read", scan=True)


@dataclass(frozen=True)
class KinesisTrigger:
    stream: str
    batch_size: int = 100
    max_retries: int = 3


@dataclass(frozen=True)
class TableStreamTrigger:
    """A DynamoDB table's stream, read in order per shard like a Kinesis stream (partial batch failures too)."""

    table: str
    batch_size: int = 100
    max_retries: int = 5


@dataclass(frozen=True)
class S3Trigger:
    prefix: str


@dataclass(frozen=True)
class SqsTrigger:
    queue: str
    batch_size: int = 5
    max_receives: int = 5  # then the message goes to the queue's dead-letter queue
    # On AWS: how long Lambda gathers messages into a batch (needed above 10), and how many batches run at once
    # (None: as many as Lambda scales to). The local pump delivers what is there, one batch at a time.
    max_batching_window_seconds: int = 0
    max_concurrency: int | None = None


@dataclass(frozen=True)
class ScheduleTrigger:
    """Run every `rate_minutes` (an EventBridge rule on AWS, the local scheduler locally)."""

    rate_minutes: int


@dataclass(frozen=True)
class Function:
    name: str  # the folder under functions/
    grants: tuple[Grant, ...] = ()
    memory_mb: int = 256
    timeout_seconds: int = 10
    ephemeral_storage_mb: int = 512  # /tmp (Lambda's default and least: 512 MB; at most 10,240 MB)
    redis: bool = False
    trigger: KinesisTrigger | TableStreamTrigger | S3Trigger | ScheduleTrigger | SqsTrigger | None = None
    description: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    # Reserved concurrency: on AWS, both what the function is guaranteed and its ceiling. Given to the functions a
    # flood aims at (public writes, sign-up and sign-in, the uploads they trigger), so a flood of them takes at most
    # this many of the account's concurrent executions and never starves the rest (RESERVED_CONCURRENCY_BUDGET).
    reserved_concurrency: int | None = None


# The account's concurrency is shared by every function; Lambda keeps at least 100 of it unreserved, and the default
# limit is 1,000 (a new account may start at 10, where no function can reserve any: the stacks then reserve none,
# see stacks/service_stack.py). The reservations together stay under this, leaving at least 750 of 1,000 to the
# functions that reserve nothing (the readers and the consumers, which their shards and queues bound instead).
RESERVED_CONCURRENCY_BUDGET = 250

# The functions whose per-user limits live in Redis (aperture.limits): while it is unreachable they let writes through
# unchecked and count RateLimiterUnavailable, on which an alarm fires (stacks/constructs/monitoring.py)
REDIS_RATE_LIMITED = ("uploads", "interactions", "users")


FUNCTIONS: tuple[Function, ...] = (
    Function("health", description="Liveness probe"),
    Function(
        "auth",
        grants=(
            STANDING,  # (signing out and two-step sign-in are signed-in routes)
            Grant("user_pool:sign_up", "write"),
            Grant("user_pool:sessions", "read_write"),
            Grant("table:users", "write"),
            Grant("table:workers", "read_write"),
            Grant("table:outbox", "write"),  # a sign-up's event (search indexes the account), written with it
            Grant("table:rate_limits", "read_write"),  # sign-ups per source address (it runs outside the VPC)
        ),
        # Public and unauthenticated: password guessing and scripted sign-ups (each call a few Cognito requests)
        reserved_concurrency=10,
        description="Sign-up, sign-in, refresh, sign-out and TOTP over Cognito",
    ),
    Function(
        "users",
        grants=(
            STANDING,
            Grant("table:users", "read_write"),
            Grant("table:follows", "read_write"),
            Grant("table:blocks", "read_write"),
            Grant("table:mutes", "read_write"),
            Grant("table:close_friends", "read_write"),
            Grant("table:close_friend_of", "write"),  # (written with the list, in its transaction)
            Grant("table:posts", "read"),
            Grant("table:outbox", "write"),  # follows' events, written with the follow
            Grant("queue:fanout", "write"),  # an author crossing the celebrity threshold updates followers
            Grant("table:follow_requests", "read_write"),  # requests to private accounts; blocks remove them
            # DELETE /me checks the password again (AdminInitiateAuth, signed with the client secret it reads)
            Grant("user_pool:authenticate", "read_write"),
            Grant("table:disabled_accounts", "write"),  # ...then switches the account off, with its erasure's event
        ),
        redis=True,
        reserved_concurrency=30,  # follow storms (each follow a transaction and a timeline merge)
        description="Profiles, follows, blocks and mutes; erasing your account",
    ),
    Function(
        "uploads",
        grants=(
            STANDING,
            Grant("table:uploads", "read_write"),
            Grant("table:users", "read"),  # whom a caption's @mentions name
            Grant("table:workers", "read_write"),
            Grant("table:idempotency", "read_write"),  # a client's retry with an Idempotency-Key
            Grant(f"bucket:{UPLOAD_PREFIX}", "write"),
        ),
        redis=True,  # the per-user limits on posts and stories (aperture.limits)
        reserved_concurrency=20,  # a flood of upload grants, each later a media_process run
        description="Presigned uploads and their status",
    ),
    Function(
        "posts",
        grants=(
            STANDING,
            Grant("table:posts", "read_write"),
            Grant("table:users", "read_write"),
            # Deleting a post: its record, count and upload's state with its event, in one transaction (the
            # cascade function does the rest); its raw upload at once, so no retried processing renders it again
            Grant("table:uploads", "write"),
            Grant("table:outbox", "write"),
            Grant(f"bucket:{UPLOAD_PREFIX}", "read_write"),
            Grant("table:blocks", "read"),
            Grant("table:likes", "read"),
            Grant("table:saves", "read"),  # saved_by_me, when the saver's cached list is gone
            Grant("table:comments", "read"),
            Grant("table:follows", "read"),  # a private account's posts: only to approved followers
        ),
        redis=True,
        description="Posts: one, a user's, and deleting them",
    ),
    Function(
        "feed",
        grants=(
            STANDING,
            Grant("table:posts", "read"),
            Grant("table:users", "read"),
            Grant("table:follows", "read"),  # rebuilding a returning user's timeline; the no-Redis fallback
            Grant("table:blocks", "read"),
            Grant("table:mutes", "read"),  # muted accounts leave the feed
            Grant("table:likes", "read"),
            Grant("table:saves", "read"),
            Grant("table:comments", "read"),
            Grant(f"bucket:{MODEL_PREFIX}", "read"),
        ),
        redis=True,
        description="The home feed",
    ),
    Function(
        "interactions",
        grants=(
            STANDING,
            Grant("table:likes", "read_write"),
            Grant("table:saves", "read_write"),
            Grant("table:comments", "read_write"),
            Grant("table:posts", "read_write"),
            Grant("table:users", "read"),
            Grant("table:blocks", "read"),
            Grant("table:workers", "read_write"),
            Grant("table:outbox", "write"),  # likes' and comments' events, written with the change
            Grant("table:idempotency", "read_write"),  # a client's retry with an Idempotency-Key
            Grant("table:follows", "read"),  # a private account's posts: only to approved followers
        ),
        redis=True,
        reserved_concurrency=50,  # like and comment storms, the platform's most frequent writes
        description="Likes, comments and saved posts",
    ),
    Function(
        "cascade",
        grants=(
            Grant("table:comments", "read_write"),
            Grant("table:likes", "read_write"),
            Grant("table:saves", "read_write"),  # every saver's save of the post
            Grant("table:notifications", "read_write"),
            Grant("table:follows", "read"),  # whose timelines hold the post, whose trays hold the story
            Grant("table:users", "read"),  # (a celebrity's followers' trays are not cached)
            Grant("table:story_views", "read_write"),
            Grant("table:highlights", "read_write"),
            Grant(f"bucket:{IMAGE_PREFIX}", "read_write"),  # the renditions
            Grant(f"bucket:{UPLOAD_PREFIX}", "read_write"),  # the raw upload
            Grant("queue:cdn_invalidations", "write"),  # the CDN's cached copies
        ),
        redis=True,
        timeout_seconds=300,
        trigger=TableStreamTrigger("outbox"),
        description="The deletion cascade: removes what hangs off a deleted post (comments, likes, saves, "
        "notifications, cached copies, timeline entries, images) or story (views, highlight, trays, images)",
    ),
    Function(
        "erasure",
        grants=(
            STANDING,  # (builds the graph, whose hidden_from includes disabled accounts)
            Grant("table:disabled_accounts", "write"),  # the erased account's record, last
            # The erased account's records, found by key through the indexes declared for it, and deleted
            Grant("table:users", "read_write"),  # the other users' follow counts; the profile, last
            Grant("table:posts", "read_write"),  # taken down as their author does, with the event (the cascade)
            Grant("table:uploads", "read_write"),
            Grant("table:stories", "read_write"),
            Grant("table:highlights", "read_write"),
            Grant("table:comments", "read_write"),
            Grant("table:likes", "read_write"),
            Grant("table:saves", "read_write"),
            Grant("table:follows", "read_write"),
            Grant("table:blocks", "read_write"),
            Grant("table:mutes", "read_write"),
            Grant("table:close_friends", "read_write"),
            Grant("table:close_friend_of", "read_write"),
            Grant("table:follow_requests", "read_write"),
            Grant("table:notifications", "read_write"),
            Grant("table:notify_keys", "read_write"),  # the keys grouping likes of their posts
            Grant("table:story_views", "read_write"),
            Grant("table:devices", "read_write"),
            Grant("table:outbox", "write"),  # the events of what it deletes, and its own next round
            Grant("queue:erasure", "read"),  # its rounds, queued by the relay
            Grant("sns:push", "write"),  # the devices' endpoints
            Grant(f"bucket:{IMAGE_PREFIX}", "read_write"),  # what the cascades left under the user's prefix
            Grant(f"bucket:{UPLOAD_PREFIX}", "read_write"),
            Grant(f"bucket:{EXPORT_PREFIX}", "read_write"),  # their data exports' ZIPs
            Grant(f"bucket:{ACTIVITY_LOG_PREFIX}", "read_write"),  # the activity log's objects naming them, rewritten
            Grant("table:exports", "read_write"),  # ...and records
            Grant("table:reports", "read_write"),  # the reports they filed, and those of them and their content
            Grant("table:moderation_queue", "read_write"),
            Grant("queue:cdn_invalidations", "write"),  # ...and the CDN's copies
            Grant("user_pool:erase", "write"),  # AdminDeleteUser, and no other action on the pool
        ),
        redis=True,
        timeout_seconds=300,
        trigger=SqsTrigger("erasure", batch_size=1, max_receives=5),
        description="Erases an account: deletes what its owner made and caused, in bounded rounds, then the "
        "Cognito user and the profile",
    ),
    Function(
        "relay",
        grants=(
            STANDING,  # (builds the graph, whose hidden_from includes disabled accounts)
            Grant("stream:events", "write"),
            Grant("queue:erasure", "write"),  # each committed round of an account erasure, for its worker
            Grant("table:likes", "read"),  # a post's live like cache, rebuilt from the durable list when lost
            # A follow's timeline merge (who is a celebrity; a threshold crossing queues its announcement):
            Grant("table:users", "read_write"),  # write: counts of follows made by approving requests (below)
            Grant("table:follows", "read_write"),
            Grant("table:posts", "read"),  # ...and an author's latest posts, when Redis has lost them
            Grant("queue:fanout", "write"),
            # An account going public approves its pending follow requests, a batch per round (each approval a
            # transaction: the request gone, the follow and its counts made, its event in the outbox)
            Grant("table:follow_requests", "read_write"),
            Grant("table:outbox", "write"),
            Grant("table:hashtags", "read_write"),  # a published or deleted post joins or leaves its tags
            Grant("queue:exports", "write"),  # a requested export's build job
        ),
        redis=True,
        timeout_seconds=60,
        trigger=TableStreamTrigger("outbox"),
        description="Publishes each committed event from the outbox to the events stream; applies likes to the "
        "live counts (once per event)",
    ),
    Function(
        "notifications",
        grants=(
            STANDING,
            Grant("table:notifications", "read_write"),
            Grant("table:devices", "read_write"),
            Grant("table:users", "read_write"),
            Grant("table:blocks", "read"),  # notifications from someone in a block relation are not shown
            Grant("table:posts", "read"),  # ...nor those about a deleted post
            Grant("sns:push", "write"),
        ),
        description="The in-app notification feed and push devices",
    ),
    Function(
        "notify",
        grants=(
            STANDING,
            Grant("table:notifications", "read_write"),
            Grant("table:notify_keys", "read_write"),
            Grant("table:idempotency", "read_write"),
            Grant("table:devices", "read_write"),  # write: a device whose endpoint is gone is forgotten
            Grant("table:users", "read"),
            Grant("table:blocks", "read"),  # nobody is notified by someone in a block relation
            Grant("table:posts", "read"),  # nor about a post deleted meanwhile
            Grant("table:workers", "read_write"),
            Grant("stream:events", "read"),
            Grant("sns:push", "write"),
        ),
        timeout_seconds=60,
        trigger=KinesisTrigger("events"),
        description="Turns likes, comments, follows and mentions into notifications and pushes",
    ),
    Function(
        "counters_flush",
        grants=(Grant("table:posts", "read_write"),),
        redis=True,
        timeout_seconds=60,
        trigger=ScheduleTrigger(rate_minutes=1),
        description="Writes live like counts from Redis to DynamoDB",
    ),
    Function(
        "activity_flush",
        # Its own objects only: it writes under logs/ and never reads, lists or deletes
        grants=(Grant(f"bucket:{ACTIVITY_LOG_PREFIX}", "write"),),
        redis=True,
        # One vCPU (1,769 MB): parsing and compressing the records is CPU-bound, so below it the run only takes
        # longer at the same cost; at a million daily users a minute's 500,000 records take about 17 s of it
        memory_mb=1769,
        timeout_seconds=120,
        trigger=ScheduleTrigger(rate_minutes=1),
        description="Moves the activity log (impressions, engagements) from its Redis streams to S3 in batches",
    ),
    Function(
        "media_process",
        grants=(
            Grant("table:uploads", "read_write"),
            Grant("table:blocklist", "read", scan=True),  # the hash blocklist, loaded whole and kept in memory
            Grant(f"bucket:{UPLOAD_PREFIX}", "read_write"),  # write: tagging processed uploads for expiry
            Grant(f"bucket:{IMAGE_PREFIX}", "read_write"),  # read: listing what a retry need not redo
            Grant("stream:events", "write"),
            Grant("rekognition:moderation", "read"),
            Grant("table:outbox", "write"),  # a carousel's 'post ready', written with its last photo's count
        ),
        # 1769 MB is one full vCPU: rendering is CPU-bound, so it costs the same per photo and publishes ~1.7x
        # sooner; peak RSS is 117 MB for a 12 MP JPEG and 415 MB for the largest allowed HEIC (bench/media.py).
        memory_mb=1769,
        timeout_seconds=60,
        # Each run holds a full vCPU for a second or more: a burst of uploads waits in Lambda's asynchronous queue
        # (up to 6 hours, retried) instead of taking hundreds of the account's executions
        reserved_concurrency=50,
        trigger=S3Trigger(UPLOAD_PREFIX),
        # On AWS, Rekognition's labels first, then the blocklist; locally the blocklist alone (no Rekognition).
        extra={"APERTURE_MODERATION": "rekognition,blocklist"},
        description="Validates uploads and renders every image size and format",
    ),
    Function(
        "moderation",
        grants=(
            STANDING,
            Grant("table:disabled_accounts", "write"),  # suspend and restore (aperture.reports)
            Grant("table:blocklist", "read_write"),
            Grant("table:reports", "read_write"),
            Grant("table:moderation_queue", "read_write"),
            Grant("table:idempotency", "read_write"),  # a reporter's retry with an Idempotency-Key
            # What a reporter may see (the read paths' checks), and what `remove` deletes through its author's
            # path: the record, its count and its upload's state, with the event that starts the cascade
            Grant("table:posts", "read_write"),
            Grant("table:comments", "read_write"),
            Grant("table:stories", "read_write"),
            Grant("table:highlights", "read_write"),
            Grant("table:uploads", "write"),
            Grant("table:outbox", "write"),
            Grant("table:users", "read_write"),  # write: a removed post's author's post count
            Grant("table:blocks", "read"),
            Grant("table:follows", "read"),  # private accounts' content: approved followers only
            Grant("table:close_friend_of", "read"),  # close-friends stories
            Grant(f"bucket:{IMAGE_PREFIX}", "read"),  # the image a blocklist entry is hashed from
            Grant(f"bucket:{UPLOAD_PREFIX}", "read_write"),  # a removed post's raw upload goes at once
        ),
        # In the VPC: the read paths' visibility checks, the caches a removal drops, and suspending an account drops
        # the cached set of disabled accounts (aperture.standing) at once.
        redis=True,
        description="Reports, the moderation queue and the moderators' tools (resolutions, hash blocklist)",
    ),
    Function(
        "post_ingest",
        grants=(
            STANDING,  # (builds the graph, whose hidden_from includes disabled accounts)
            Grant("table:posts", "read_write"),
            Grant("table:uploads", "read_write"),
            Grant("table:follows", "read"),
            Grant("table:users", "read_write"),
            Grant("table:stories", "read_write"),
            Grant("table:outbox", "write"),  # a post's 'published' event (its caption's mentions), written with it
            Grant("stream:events", "read"),
            Grant("queue:fanout", "write"),
        ),
        redis=True,
        timeout_seconds=60,
        trigger=KinesisTrigger("events"),
        description="Writes posts and stories from 'ready' events and splits post fanout into jobs",
    ),
    Function(
        "fanout",
        # posts: an author back under the celebrity threshold has their latest posts merged, from DynamoDB if
        # Redis lost them
        grants=(Grant("queue:fanout", "read"), Grant("table:posts", "read")),
        redis=True,
        timeout_seconds=60,
        trigger=SqsTrigger("fanout"),
        description="Pushes a post to a thousand followers' timelines per job",
    ),
    Function(
        "stories",
        grants=(
            STANDING,
            Grant("table:stories", "read_write"),  # write: authors delete their stories
            Grant("table:story_views", "read"),
            Grant("table:highlights", "read_write"),  # write: deleting a highlight whose story record was purged
            Grant("table:users", "read"),
            Grant("table:follows", "read"),  # building a viewer's tray
            Grant("table:blocks", "read"),
            Grant("table:mutes", "read"),  # muted accounts leave the tray
            Grant("table:close_friend_of", "read"),  # whose close-friends stories the viewer may see
            Grant("stream:story_views", "write"),
            # Deleting a story: taken down, its upload marked, with its event (the cascade does the rest); its raw
            # upload at once, so no retried processing renders it again
            Grant("table:uploads", "write"),
            Grant("table:outbox", "write"),
            Grant(f"bucket:{UPLOAD_PREFIX}", "read_write"),
        ),
        redis=True,
        description="The stories tray, a user's stories and highlights, views and viewer lists",
    ),
    Function(
        "story_views",
        grants=(Grant("table:story_views", "write"), Grant("stream:story_views", "read")),
        timeout_seconds=60,
        # Retried longer than the default: a batch dropped after its retries loses up to 500 viewer-list entries.
        trigger=KinesisTrigger("story_views", batch_size=500, max_retries=10),
        description="Writes story viewer lists from the views stream with batch writes",
    ),
    Function(
        "story_expiry",
        grants=(
            STANDING,  # (builds the graph, whose hidden_from includes disabled accounts)
            Grant("table:stories", "read_write"),
            Grant("table:highlights", "write"),
            Grant("table:users", "read"),
            Grant(f"bucket:{IMAGE_PREFIX}", "read_write"),  # an expired story's images go unless it is kept
            Grant("queue:cdn_invalidations", "write"),  # ...from the CDN's cache too (through cdn_invalidate)
            Grant(f"bucket:{UPLOAD_PREFIX}", "read_write"),  # with its raw upload, so no retry renders it again
        ),
        redis=True,
        timeout_seconds=300,
        trigger=ScheduleTrigger(rate_minutes=5),
        description="Ends expired stories: archives them to highlights or deletes their images",
    ),
    Function(
        "cdn_invalidate",
        # The only function that may invalidate the CDN. It runs outside the VPC (no redis), where CloudFront's API
        # is reachable; the functions that delete images queue their prefixes for it.
        grants=(Grant("queue:cdn_invalidations", "read"), Grant("cdn:images", "write")),
        timeout_seconds=30,
        # Each message is its own invalidation of one wildcard path (the post's or story's prefix; CloudFront bills
        # per path, so one request per prefix costs no more), under the message's id as caller reference: a
        # redelivered message is the request CloudFront already has, whatever SQS groups it with.
        # CloudFront holds at most CDN_WILDCARD_PATHS_IN_PROGRESS (15) wildcard paths in progress per distribution,
        # and an invalidation stays in progress for minutes after the call returns. One round of work is at most
        # max_concurrency batches of batch_size messages, one wildcard path each: 2 x 7 = 14 <= 15, so one round can
        # never exceed the limit on its own (2 is the least max_concurrency SQS allows; batch_size 8 would make 16).
        # A later round that finds earlier invalidations still in progress is refused message by message: only those
        # messages are reported failed and come back after the queue's visibility timeout (300 s), by when those
        # invalidations (typically a few minutes) have finished. 12 receives x 300 s: a message is tried for about an
        # hour before it is dead-lettered; in that hour CloudFront accepts 15 paths per invalidation time (about 180
        # at five minutes each), which bounds the burst of deletions absorbed before messages reach the dead-letter
        # queue (kept 14 days, to redrive). No batching window: it would only delay the invalidation (each message is
        # a request of its own anyway), and it never limits a backlog, whose batches fill at once.
        trigger=SqsTrigger(
            "cdn_invalidations",
            batch_size=CDN_WILDCARD_PATHS_IN_PROGRESS // 2,
            max_receives=12,
            max_concurrency=2,
        ),
        description="Invalidates deleted images at the CDN: one CloudFront invalidation per queued key prefix",
    ),
    Function(
        "explore",
        grants=(
            STANDING,
            Grant("table:posts", "read"),
            Grant("table:users", "read"),
            Grant("table:follows", "read"),  # a page ranked on request (a newcomer's first visit) skips followees
            Grant("table:blocks", "read"),
            Grant("table:mutes", "read"),  # muted accounts leave explore
            Grant("table:likes", "read"),
            Grant("table:saves", "read"),
            Grant("table:comments", "read"),
            Grant("search:explore", "read"),
            Grant(f"bucket:{MODEL_PREFIX}", "read"),
        ),
        redis=True,
        description="The explore page: posts from accounts the viewer does not follow",
    ),
    Function(
        "explore_signals",
        grants=(Grant("table:posts", "read"), Grant("table:users", "read"), Grant("stream:events", "read")),
        redis=True,
        timeout_seconds=60,
        trigger=KinesisTrigger("events"),
        description="Turns new posts, likes and comments into explore's popularity and co-engagement signals",
    ),
    Function(
        "explore_refresh",
        grants=(
            Grant("table:posts", "read"),
            Grant("table:users", "read"),  # the pool's authors' followers and regions, for the explore model
            Grant("queue:explore", "write"),
            Grant("search:explore", "write"),
        ),
        redis=True,
        # The embedding model is a truncated SVD over the recent posts (numpy): memory buys CPU.
        memory_mb=1024,
        timeout_seconds=300,
        trigger=ScheduleTrigger(rate_minutes=15),
        description="Every 15 minutes: rebuilds explore's candidate pools, embeddings and k-NN index",
    ),
    Function(
        "ranking_train",
        # The activity log in, models and their reports out: S3 alone, so outside the VPC (no Redis)
        grants=(Grant(f"bucket:{ACTIVITY_LOG_PREFIX}", "read"), Grant(f"bucket:{MODEL_PREFIX}", "read_write")),
        # Ten million impressions: the records streamed into columns of numbers, the solver's passes in chunks
        # (docs/benchmarks.md, "Ranking loop: training"); memory also buys the CPU the solver uses
        memory_mb=3008,
        timeout_seconds=900,
        trigger=ScheduleTrigger(rate_minutes=24 * 60),
        description="Daily: trains the feed and explore ranking models on the activity log; promotes through the gate",
    ),
    Function(
        "explore_rank",
        grants=(
            STANDING,  # (builds the graph, whose hidden_from includes disabled accounts)
            Grant("table:posts", "read"),  # collaborative filtering's candidates outside the pools
            Grant("table:users", "read"),
            Grant("table:follows", "read"),
            Grant("table:blocks", "read"),
            Grant("table:mutes", "read"),
            Grant("queue:explore", "read"),
            Grant("search:explore", "read"),
            Grant(f"bucket:{MODEL_PREFIX}", "read"),
        ),
        redis=True,
        timeout_seconds=60,
        trigger=SqsTrigger("explore", batch_size=1),
        description="Precomputes the explore pages of a hundred active users per job",
    ),
    Function(
        "search",
        grants=(
            STANDING,
            Grant("table:users", "read"),
            Grant("table:follows", "read"),  # accounts the caller follows come first
            Grant("table:blocks", "read"),  # nobody in a block relation with the caller is found
            Grant("table:hashtags", "read"),  # a hashtag page's recent posts
            Grant("table:posts", "read"),  # ...hydrated like the feed
            Grant("table:likes", "read"),
            Grant("table:saves", "read"),
            Grant("table:comments", "read"),
        ),
        redis=True,
        description="Search: people by name prefix, hashtags by prefix, and hashtag pages",
    ),
    Function(
        "exports",
        grants=(
            STANDING,
            # Requests and their progress; the request is written with its event (the builder's job follows)
            Grant("table:exports", "read_write"),
            Grant("table:outbox", "write"),
            Grant("table:workers", "read_write"),  # Snowflake ids for new exports
            # Presigning a download: the URL carries this role's right to read exports/ and nothing else
            Grant(f"bucket:{EXPORT_PREFIX}", "read"),
        ),
        description="Data export requests: start one, follow its progress, download it (a presigned URL)",
    ),
    Function(
        "export_build",
        grants=(
            Grant("queue:exports", "read"),
            Grant("table:exports", "read_write"),  # claims, progress, ready or failed
            # What the ZIP holds, each read through its owner's key or index (no scans)
            Grant("table:users", "read"),
            Grant("table:posts", "read"),
            Grant("table:comments", "read"),
            Grant("table:likes", "read"),
            Grant("table:follows", "read"),
            Grant("table:stories", "read"),
            Grant("table:highlights", "read"),
            Grant(f"bucket:{IMAGE_PREFIX}", "read"),  # the largest JPEG of every photo
            Grant(f"bucket:{EXPORT_PREFIX}", "read_write"),  # read: a retry finds the ZIP a failed attempt wrote
        ),
        # Photos are streamed one at a time from S3 into a ZIP spooled to /tmp (memory holds one read buffer and the
        # JSON page being written, not the photos); the ZIP is then uploaded in parts. /tmp at its 10 GB maximum holds
        # about 30,000 photos at ~300 KB each; 15 minutes (Lambda's maximum) reads and writes that within the region.
        memory_mb=1024,
        timeout_seconds=900,
        ephemeral_storage_mb=10_240,
        # Two builds at a time at most: an export burst waits in the queue rather than taking Lambda's concurrency
        # (and DynamoDB's read capacity) from the API. Three attempts, then the export is marked failed.
        trigger=SqsTrigger("exports", batch_size=1, max_receives=3, max_concurrency=2),
        description="Builds a user's data export: the JSON files and every photo's largest JPEG, zipped to S3",
    ),
    Function(
        "search_rebuild",
        # Rebuilding reads both tables whole (only after Redis lost the index, which the job checks first)
        grants=(Grant("table:users", "read", scan=True), Grant("table:hashtags", "read", scan=True)),
        redis=True,
        timeout_seconds=900,
        # Cheap when nothing was lost (one EXISTS); after Redis was replaced or flushed, the index is back within
        # the hour (events applied meanwhile are current, so the rebuild indexes over them harmlessly).
        trigger=ScheduleTrigger(rate_minutes=60),
        description="Rebuilds the search index from DynamoDB when Redis has lost it",
    ),
)


def function(name: str) -> Function:
    return next(f for f in FUNCTIONS if f.name == name)
