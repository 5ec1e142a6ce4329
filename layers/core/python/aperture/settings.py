"""The one typed settings object of a process, read from the environment once, on first use."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, StringConstraints, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from aperture.captions import MAX_MENTIONS, MAX_MENTIONS_NOTIFIED
from aperture.resources import FUNCTIONS, QUEUES, STREAMS, TABLES, Function

MIB = 1024 * 1024

# A rate limit as the environment spells it: "<count>/<seconds>", both positive (aperture.limits.Rate)
RateText = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[1-9][0-9]{0,8}/[1-9][0-9]{0,8}$")]


class MissingSettingError(RuntimeError):
    """A process on Lambda lacks a value its function needs, which would otherwise fall back to a local name."""


class Settings(BaseSettings):
    """Every knob of the platform. Defaults are what `make dev` uses; the CDK stacks set the rest."""

    model_config = SettingsConfigDict(env_prefix="APERTURE_", frozen=True, extra="ignore")

    # Where this runs. On Lambda (whose runtime sets AWS_LAMBDA_FUNCTION_NAME) nothing falls back to a local
    # default: every value the declared function needs must be set (required_on_lambda), or the first use fails.
    # The local runtime and the tests set APERTURE_LOCAL, so they keep the defaults even under an emulator that
    # sets Lambda's variables.
    lambda_function_name: str | None = Field(default=None, validation_alias="AWS_LAMBDA_FUNCTION_NAME")
    local: bool = False
    function: str | None = None  # the declared function (aperture.resources) this process runs, set by the stacks

    region: str = Field(default="us-east-1", validation_alias="AWS_REGION")
    aws_endpoint_url: str | None = Field(default=None, validation_alias="AWS_ENDPOINT_URL")

    table_users: str = "aperture-users"
    table_posts: str = "aperture-posts"
    table_uploads: str = "aperture-uploads"
    table_follows: str = "aperture-follows"
    table_workers: str = "aperture-workers"
    table_blocklist: str = "aperture-blocklist"
    table_blocks: str = "aperture-blocks"
    table_mutes: str = "aperture-mutes"
    table_likes: str = "aperture-likes"
    table_saves: str = "aperture-saves"
    table_comments: str = "aperture-comments"
    table_notifications: str = "aperture-notifications"
    table_notify_keys: str = "aperture-notify_keys"
    table_idempotency: str = "aperture-idempotency"
    table_outbox: str = "aperture-outbox"
    table_devices: str = "aperture-devices"
    table_stories: str = "aperture-stories"
    table_story_views: str = "aperture-story_views"
    table_highlights: str = "aperture-highlights"
    table_close_friends: str = "aperture-close_friends"
    table_close_friend_of: str = "aperture-close_friend_of"
    table_follow_requests: str = "aperture-follow_requests"
    table_hashtags: str = "aperture-hashtags"
    table_reports: str = "aperture-reports"
    table_moderation_queue: str = "aperture-moderation_queue"
    table_disabled_accounts: str = "aperture-disabled_accounts"
    table_exports: str = "aperture-exports"
    table_rate_limits: str = "aperture-rate_limits"
    stream_events: str = "aperture-events"
    stream_story_views: str = "aperture-story_views"
    queue_fanout: str = "aperture-fanout"  # the queue's URL on AWS; locally, its name (resolved at first use)
    queue_explore: str = "aperture-explore"
    queue_cdn_invalidations: str = "aperture-cdn_invalidations"
    queue_erasure: str = "aperture-erasure"
    queue_exports: str = "aperture-exports"
    media_bucket: str = "aperture-media"
    # Whole records of stream batches given up on (the S3 on-failure destination); read by the redrive command.
    failure_archive_bucket: str = "aperture-failures"

    user_pool_id: str = ""
    user_pool_client_id: str = ""
    # Where the pool's signing keys are published; derived from the issuer when unset.
    jwks_url: str | None = None

    cdn_base: str = "http://127.0.0.1:8000/cdn"
    # The CloudFront distribution whose cached images are invalidated when they are deleted (unset locally).
    cdn_distribution_id: str | None = None
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    redis_cluster: bool = False
    # Whom the platform authenticates to Redis as (its ACL user; the server has no usable default user). On AWS an
    # ElastiCache user with IAM authentication: its password is a token the function signs with its role for
    # `redis_iam_cache`, the serverless cache's name (aperture.adapters.redis_store.iam). Locally the embedded
    # server's ACL user and the password `python -m local` generates for it. Unset: what REDIS_URL carries (an
    # external server's user and password go in the URL).
    redis_user: str | None = None
    redis_password: SecretStr | None = None
    redis_iam_cache: str | None = None

    max_upload_bytes: int = 10 * MIB
    upload_url_ttl_seconds: int = 600
    upload_record_ttl_seconds: int = 7 * 86400
    max_image_pixels: int = 50_000_000
    timeline_cap: int = 800
    # A pushed-to timeline may pass its cap by this much before it is trimmed back: a full timeline is then trimmed
    # once per 65 pushes instead of on every one (about 1.25x the fanout rate on full timelines, docs/benchmarks.md)
    timeline_slack: int = 64
    recent_posts_cap: int = 200  # each author's latest posts kept for request-time merges and rebuilds
    celebrity_threshold: int = 10_000  # followers from which an author's posts are merged at read time
    # ...and below which (a fraction of it) an author stops being one: an author whose count wobbles around the
    # threshold is not announced to every follower at each crossing (aperture.fanout)
    celebrity_exit_ratio: float = Field(default=0.9, gt=0, le=1)
    inactive_days: int = 14  # followers idle longer get no fanout; their timeline is rebuilt when they return
    fanout_job_size: int = 1_000
    ranking_model_key: str | None = None  # e.g. "models/ranking.json" in the media bucket; else the default
    # Serving re-reads models/<surface>/current.json (the promoted model) at most this often: a promotion serves
    # within this many seconds, without a deploy (aperture.ranking.ServedModel)
    ranking_model_ttl_seconds: int = Field(default=300, ge=1)
    # The daily training job (aperture.training): days of the activity log it reads (the held-out day included),
    # the label window (docs/ranking.md), the guards, and the margin of the evaluation gate
    ranking_train_days: int = Field(default=14, ge=2, le=30)
    ranking_label_window_seconds: int = Field(default=86_400, ge=60, le=7 * 86_400)
    ranking_min_examples: int = Field(default=1_000, ge=1)
    ranking_min_label_rate: float = Field(default=0.001, ge=0, le=1)
    ranking_max_label_rate: float = Field(default=0.5, ge=0, le=1)
    ranking_promote_margin: float = Field(default=0.002, ge=0, le=1)
    ranking_max_impressions: int = Field(default=12_000_000, ge=1)  # read by one run, at most (TrainingPolicy)
    # The activity log: each shard stream is read this many entries at a time into S3, at most so many times a run.
    # 8 shards x 15 x 10,000 = 1.2 million records a run (a minute), against about 500,000 arriving a minute at a
    # million daily users; a full run takes about 41 s of one vCPU's CPU at 34 us a record, a minute's arrivals about
    # 17 s (docs/benchmarks.md, "Ranking loop: cost and capacity"), inside the minute and the function's timeout.
    activity_flush_batch: int = Field(default=10_000, ge=1, le=50_000)
    activity_flush_rounds: int = Field(default=15, ge=1)

    # Explore: the k-NN index is OpenSearch when OPENSEARCH_URL is set (SigV4-signed on AWS), else FAISS in process.
    opensearch_url: str | None = Field(default=None, validation_alias="OPENSEARCH_URL")
    opensearch_sigv4: bool = False
    opensearch_alias: str = "aperture-explore"
    explore_page_seconds: int = 1800  # longest a precomputed explore list is served (refreshed every 15 minutes)
    explore_list_size: int = 300  # posts ranked into each viewer's precomputed list
    explore_active_days: int = 2  # viewers whose lists the refresh precomputes (the rest are ranked on request)
    explore_pool_size: int = 5000  # recent posts in the candidate pools and the k-NN index
    explore_job_size: int = 100  # viewers per ranking job
    explore_dimensions: int = 32  # of the user and post embeddings

    story_ttl_seconds: int = 86_400  # a story's life
    story_tray_seconds: int = 300  # longest a precomputed tray is served (it is also dropped on changes)
    like_bloom_threshold: int = 10_000  # likes past which "did I like it" moves from a set to a Bloom filter
    # likes a post's filter holds at its 1% false-positive rate (it grows in layers to this; see aperture.bloom)
    like_bloom_capacity: int = 10_000_000
    comment_preview_size: int = 3
    relationship_cache_seconds: int = 3600
    # The cached set of disabled accounts is dropped when it changes; this bounds a copy that outlived a failed drop.
    disabled_cache_seconds: int = 30
    notification_ttl_days: int = 90
    like_group_window_seconds: int = 3600  # likes of one post within this window share one notification
    # One follow notification per (follower, followee) pair in this window, however often the follow is toggled
    follow_notify_window_seconds: int = Field(default=86_400, ge=1)
    # Users one comment or caption may notify by @mention (the text keeps every @name; later ones notify nobody)
    max_mentions_notified: int = Field(default=MAX_MENTIONS_NOTIFIED, ge=0, le=MAX_MENTIONS)
    # SNS platform applications for push; without them notifications stay in-app only.
    sns_apns_application_arn: str | None = None
    sns_fcm_application_arn: str | None = None
    # Local runtime only: "auto" runs scheduled functions at their rates, "manual" only via /_local/run/{job}.
    schedules: Literal["auto", "manual"] = "auto"

    # Moderators applied to every upload, in order: "rekognition" and/or "blocklist".
    moderation: str = "blocklist"
    moderation_min_confidence: float = 80.0
    moderation_labels: str = "Explicit,Explicit Nudity,Violence,Visually Disturbing,Hate Symbols"
    blocklist_max_distance: int = 10  # bits of 64 by which a re-upload may differ from a blocked image
    moderator_group: str = "moderators"  # Cognito group allowed to use the /admin routes
    worker_lease_seconds: int = 600
    # Pending follow requests approved per round when an account goes public (each round a bounded relay run).
    follow_request_batch: int = Field(default=100, ge=1, le=1000)
    # Data exports: how long a download link (and the ZIP, by the bucket's lifecycle) lasts, and how long a pending
    # export may stay unfinished before it counts as failed and a new request may start another.
    export_link_seconds: int = 86_400
    export_stale_seconds: int = 3 * 6 * 900  # three attempts, each within its message's visibility timeout
    # An account's erasure deletes at most this many records of each kind per round (aperture.erasure)
    erasure_batch: int = Field(default=100, ge=1, le=1000)

    # Rate limits (aperture.limits): "<count>/<seconds>", a burst of `count` then one every seconds/count. Per
    # user, except sign-ups (per source address). docs/security.md ("Limits") says why these numbers.
    limit_posts: RateText = "30/3600"
    limit_stories: RateText = "60/3600"
    limit_comments: RateText = "60/600"
    limit_follows: RateText = "60/3600"
    limit_likes: RateText = "300/3600"
    limit_reports: RateText = "20/3600"
    limit_signups: RateText = "10/3600"

    @field_validator("ranking_model_key")
    @classmethod
    def _model_under_models(cls, key: str | None) -> str | None:
        # The functions that read it are granted that prefix of the media bucket and nothing else.
        if key and not key.startswith("models/"):
            raise ValueError("APERTURE_RANKING_MODEL_KEY must be a key under models/ in the media bucket")
        return key or None

    @model_validator(mode="after")
    def _deployed_values_are_set(self) -> Settings:
        if not self.on_lambda:
            return self
        declared = {f.name: f for f in FUNCTIONS}
        if self.function not in declared:
            raise MissingSettingError(
                f"{setting_variable('function')} must name the declared function this Lambda runs (one of "
                f"aperture.resources.FUNCTIONS), not {self.function!r}; the stacks set it"
            )
        missing = [
            setting_variable(field)
            for field in required_on_lambda(declared[self.function])
            if field not in self.model_fields_set or getattr(self, field) in (None, "")
        ]
        if missing:
            raise MissingSettingError(
                f"function {self.function!r} runs on Lambda without {', '.join(missing)}: the stacks set every value "
                "a deployed function needs (stacks/constructs/functions.py); nothing falls back to a local name there"
            )
        return self

    @model_validator(mode="after")
    def _one_way_to_authenticate_to_redis(self) -> Settings:
        user, password, iam = (setting_variable(f) for f in ("redis_user", "redis_password", "redis_iam_cache"))
        if (self.redis_password or self.redis_iam_cache) and not self.redis_user:
            raise ValueError(f"{password} and {iam} authenticate {user}, which is not set")
        if self.redis_password and self.redis_iam_cache:
            raise ValueError(f"{user} authenticates with {password} or with IAM ({iam}), not both")
        if self.redis_user and not (self.redis_password or self.redis_iam_cache):
            raise ValueError(f"{user} is set without a way to authenticate it: set {password} or {iam}")
        return self

    @property
    def on_lambda(self) -> bool:
        return bool(self.lambda_function_name) and not self.local

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_location(self) -> str:
        return self.jwks_url or f"{self.issuer}/.well-known/jwks.json"


def setting_variable(field: str) -> str:
    """The variable `Settings` reads `field` from (its alias if it has one, else APERTURE_<FIELD>)."""
    try:
        info = Settings.model_fields[field]
    except KeyError:
        # A declared resource without a settings field could never reach the code; fail the synth instead.
        raise KeyError(f"aperture.settings.Settings has no field {field!r}") from None
    if isinstance(info.validation_alias, str):
        return info.validation_alias
    prefix = str(Settings.model_config.get("env_prefix", ""))
    return f"{prefix}{field}".upper()


def required_on_lambda(function: Function) -> tuple[str, ...]:
    """The settings fields a deployed function must be given: its identity, the CDN, and the name, URL or id of
    everything it is granted or connects to. Push applications are optional (without one, that platform is off)."""
    settings = {f"table:{t.key}": t.setting for t in TABLES}
    settings |= {f"stream:{s.key}": s.setting for s in STREAMS}
    settings |= {f"queue:{q.key}": q.setting for q in QUEUES}
    fields = ["function", "cdn_base"]
    for grant in function.grants:
        kind = grant.resource.partition(":")[0]
        if grant.resource in settings:
            fields.append(settings[grant.resource])
        elif kind == "bucket":
            fields.append("media_bucket")
        elif kind == "user_pool":
            fields += ["user_pool_id", "user_pool_client_id"]
        elif kind == "cdn":
            fields.append("cdn_distribution_id")
        elif kind == "search":
            fields.append("opensearch_url")
    if function.redis:
        # The cache, and whom to authenticate as with which cache's IAM tokens (it has no usable default user).
        fields += ["redis_url", "redis_user", "redis_iam_cache"]
    return tuple(dict.fromkeys(fields))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read on first use (on Lambda, MissingSettingError if a needed value is unset)."""
    return Settings()
