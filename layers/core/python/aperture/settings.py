"""The one typed settings object of a process, read from the environment once, on first use."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class Settings(BaseSettings):
    """Every knob of the platform. Defaults are what `make dev` uses; the CDK stacks set the rest."""

    model_config = SettingsConfigDict(env_prefix="APERTURE_", frozen=True, extra="ignore")

    region: str = Field(default="us-east-1", validation_alias="AWS_REGION")
    aws_endpoint_url: str | None = Field(default=None, validation_alias="AWS_ENDPOINT_URL")

    table_users: str = "aperture-users"
    table_posts: str = "aperture-posts"
    table_uploads: str = "aperture-uploads"
    table_follows: str = "aperture-follows"
    table_workers: str = "aperture-workers"
    table_blocklist: str = "aperture-blocklist"
    table_blocks: str = "aperture-blocks"
    table_likes: str = "aperture-likes"
    table_comments: str = "aperture-comments"
    table_notifications: str = "aperture-notifications"
    table_notify_keys: str = "aperture-notify_keys"
    table_idempotency: str = "aperture-idempotency"
    table_outbox: str = "aperture-outbox"
    table_devices: str = "aperture-devices"
    table_stories: str = "aperture-stories"
    table_story_views: str = "aperture-story_views"
    table_highlights: str = "aperture-highlights"
    stream_events: str = "aperture-events"
    stream_story_views: str = "aperture-story_views"
    queue_fanout: str = "aperture-fanout"  # the queue's URL on AWS; locally, its name (resolved at first use)
    queue_explore: str = "aperture-explore"
    queue_cdn_invalidations: str = "aperture-cdn_invalidations"
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

    max_upload_bytes: int = 10 * MIB
    upload_url_ttl_seconds: int = 600
    upload_record_ttl_seconds: int = 7 * 86400
    max_image_pixels: int = 50_000_000
    timeline_cap: int = 800
    recent_posts_cap: int = 200  # each author's latest posts kept for request-time merges and rebuilds
    celebrity_threshold: int = 10_000  # followers from which an author's posts are merged at read time
    inactive_days: int = 14  # followers idle longer get no fanout; their timeline is rebuilt when they return
    fanout_job_size: int = 1_000
    ranking_model_key: str | None = None  # e.g. "models/ranking.json" in the media bucket; else the default

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
    notification_ttl_days: int = 90
    like_group_window_seconds: int = 3600  # likes of one post within this window share one notification
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

    @field_validator("ranking_model_key")
    @classmethod
    def _model_under_models(cls, key: str | None) -> str | None:
        # The functions that read it are granted that prefix of the media bucket and nothing else.
        if key and not key.startswith("models/"):
            raise ValueError("APERTURE_RANKING_MODEL_KEY must be a key under models/ in the media bucket")
        return key or None

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_location(self) -> str:
        return self.jwks_url or f"{self.issuer}/.well-known/jwks.json"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
