"""The one typed settings object of a process, read from the environment once, on first use."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
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
    stream_events: str = "aperture-events"
    media_bucket: str = "aperture-media"

    user_pool_id: str = ""
    user_pool_client_id: str = ""
    # Where the pool's signing keys are published; derived from the issuer when unset.
    jwks_url: str | None = None

    cdn_base: str = "http://127.0.0.1:8000/cdn"
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    redis_cluster: bool = False

    max_upload_bytes: int = 10 * MIB
    upload_url_ttl_seconds: int = 600
    upload_record_ttl_seconds: int = 7 * 86400
    max_image_pixels: int = 50_000_000
    timeline_cap: int = 800

    # Moderators applied to every upload, in order: "rekognition" and/or "blocklist".
    moderation: str = "blocklist"
    moderation_min_confidence: float = 80.0
    moderation_labels: str = "Explicit,Explicit Nudity,Violence,Visually Disturbing,Hate Symbols"
    blocklist_max_distance: int = 10  # bits of 64 by which a re-upload may differ from a blocked image
    moderator_group: str = "moderators"  # Cognito group allowed to use the /admin routes
    worker_lease_seconds: int = 600

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_location(self) -> str:
        return self.jwks_url or f"{self.issuer}/.well-known/jwks.json"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
