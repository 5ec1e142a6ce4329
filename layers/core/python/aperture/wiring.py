"""Builds the real ports (repositories, stores, publishers) once per process, on first use."""

from __future__ import annotations

from functools import lru_cache

from aperture.adapters.aws import client, dynamo_table, reset_clients
from aperture.adapters.cognito import IdentityProvider, TokenVerifier
from aperture.adapters.dynamo import (
    BlocklistRepository,
    FollowRepository,
    PostRepository,
    UploadRepository,
    UserRepository,
)
from aperture.adapters.kinesis import EventPublisher
from aperture.adapters.redis_store import Timeline, redis_client
from aperture.adapters.s3 import MediaStore
from aperture.clock import now_ms
from aperture.media.moderation import HashBlocklist, ModerationChain, Moderator, RekognitionModerator
from aperture.media.pipeline import MediaLimits, MediaPorts
from aperture.settings import get_settings


@lru_cache(maxsize=1)
def users() -> UserRepository:
    return UserRepository(dynamo_table(get_settings().table_users))


@lru_cache(maxsize=1)
def posts() -> PostRepository:
    settings = get_settings()
    return PostRepository(dynamo_table(settings.table_posts), dynamo_table(settings.table_users))


@lru_cache(maxsize=1)
def uploads() -> UploadRepository:
    return UploadRepository(dynamo_table(get_settings().table_uploads))


@lru_cache(maxsize=1)
def follows() -> FollowRepository:
    settings = get_settings()
    return FollowRepository(dynamo_table(settings.table_follows), dynamo_table(settings.table_users))


@lru_cache(maxsize=1)
def timeline() -> Timeline:
    return Timeline(redis_client(), get_settings().timeline_cap)


@lru_cache(maxsize=1)
def media_store() -> MediaStore:
    return MediaStore(client("s3"), get_settings().media_bucket)


@lru_cache(maxsize=1)
def events() -> EventPublisher:
    return EventPublisher(client("kinesis"), get_settings().stream_events)


@lru_cache(maxsize=1)
def identity() -> IdentityProvider:
    settings = get_settings()
    return IdentityProvider(client("cognito-idp"), settings.user_pool_id, settings.user_pool_client_id)


@lru_cache(maxsize=1)
def token_verifier() -> TokenVerifier:
    settings = get_settings()
    return TokenVerifier(settings.jwks_location, settings.issuer, settings.user_pool_client_id)


@lru_cache(maxsize=1)
def blocklist() -> BlocklistRepository:
    return BlocklistRepository(dynamo_table(get_settings().table_blocklist))


@lru_cache(maxsize=1)
def hash_blocklist() -> HashBlocklist:
    return HashBlocklist(blocklist(), get_settings().blocklist_max_distance)


@lru_cache(maxsize=1)
def moderator() -> ModerationChain:
    settings = get_settings()
    chosen: list[Moderator] = []
    for name in (n.strip() for n in settings.moderation.split(",") if n.strip()):
        if name == "blocklist":
            chosen.append(hash_blocklist())
        elif name == "rekognition":
            labels = settings.moderation_labels.split(",")
            chosen.append(RekognitionModerator(client("rekognition"), settings.moderation_min_confidence, labels))
        else:
            raise ValueError(f"unknown moderator {name!r} in APERTURE_MODERATION")
    return ModerationChain(chosen)


def media_ports() -> MediaPorts:
    return MediaPorts(media_store(), uploads(), events(), moderator(), now_ms)


def media_limits() -> MediaLimits:
    settings = get_settings()
    return MediaLimits(settings.max_upload_bytes, settings.max_image_pixels)


def reset() -> None:
    """Forget every port and the settings (tests and the local runtime call this after changing env)."""
    from aperture import ids, settings

    factories = (
        users,
        posts,
        uploads,
        follows,
        timeline,
        media_store,
        events,
        identity,
        token_verifier,
        blocklist,
        hash_blocklist,
        moderator,
    )
    for factory in factories:
        factory.cache_clear()
    redis_client.cache_clear()
    ids.default_generator.cache_clear()
    settings.get_settings.cache_clear()
    reset_clients()
