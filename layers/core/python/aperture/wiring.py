"""Builds the real ports (repositories, stores, publishers) once per process, on first use."""

from __future__ import annotations

from functools import lru_cache

from aperture.adapters.aws import client, dynamo_table, reset_clients
from aperture.adapters.cloudfront import CdnCache
from aperture.adapters.cognito import IdentityProvider, TokenVerifier
from aperture.adapters.dynamo.comments import CommentRepository
from aperture.adapters.dynamo.graph import BlockRepository, FollowRepository
from aperture.adapters.dynamo.likes import LikeRepository
from aperture.adapters.dynamo.moderation import BlocklistRepository
from aperture.adapters.dynamo.notifications import DeviceRepository, NotificationRepository
from aperture.adapters.dynamo.posts import PostRepository
from aperture.adapters.dynamo.stories import HighlightRepository, StoryRepository, StoryViewRepository
from aperture.adapters.dynamo.uploads import UploadRepository
from aperture.adapters.dynamo.users import UserRepository
from aperture.adapters.explore_store import ExploreStore
from aperture.adapters.kinesis import EventPublisher
from aperture.adapters.outbox import Outbox
from aperture.adapters.redis_store import (
    AffinityStore,
    CommentPreviewCache,
    LikeCache,
    PostCache,
    RelationshipCache,
    StoryCache,
    Timeline,
    redis_client,
)
from aperture.adapters.s3 import MediaStore
from aperture.adapters.sns import PushGateway
from aperture.adapters.sqs import JobQueue
from aperture.adapters.vectors import FaissIndex, VectorIndex
from aperture.cascade import Cascade, CascadePorts
from aperture.clock import now_ms
from aperture.comments import Comments
from aperture.explore import Explore, ExplorePorts
from aperture.fanout import Fanout
from aperture.graph import Graph
from aperture.idempotency import Once, Replays, dynamo_once, dynamo_replays
from aperture.ids import new_id
from aperture.invalidations import CdnInvalidator
from aperture.likes import Likes, scalable_bloom
from aperture.media.moderation import HashBlocklist, ModerationChain, Moderator, RekognitionModerator
from aperture.media.pipeline import MediaLimits, MediaPorts
from aperture.models.events import CdnInvalidation
from aperture.notifications import Inbox, Notifier
from aperture.posts import PostViews
from aperture.ranking import RankingModel
from aperture.relay import Relay
from aperture.settings import get_settings
from aperture.stories import Stories, StoryPorts


@lru_cache(maxsize=1)
def users() -> UserRepository:
    return UserRepository(dynamo_table(get_settings().table_users))


@lru_cache(maxsize=1)
def posts() -> PostRepository:
    settings = get_settings()
    return PostRepository(dynamo_table(settings.table_posts), dynamo_table(settings.table_users), outbox())


@lru_cache(maxsize=1)
def uploads() -> UploadRepository:
    return UploadRepository(dynamo_table(get_settings().table_uploads))


@lru_cache(maxsize=1)
def follows() -> FollowRepository:
    settings = get_settings()
    return FollowRepository(dynamo_table(settings.table_follows), dynamo_table(settings.table_users), outbox())


@lru_cache(maxsize=1)
def timeline() -> Timeline:
    settings = get_settings()
    return Timeline(redis_client(), settings.timeline_cap, settings.recent_posts_cap, settings.inactive_days * 86_400)


@lru_cache(maxsize=1)
def fanout() -> Fanout:
    settings = get_settings()
    jobs = JobQueue(client("sqs"), settings.queue_fanout)
    return Fanout(timeline(), follows(), users(), jobs, settings.celebrity_threshold, settings.fanout_job_size, posts())


@lru_cache(maxsize=1)
def cdn_cache() -> CdnCache:
    return CdnCache(lambda: client("cloudfront"), get_settings().cdn_distribution_id)


@lru_cache(maxsize=1)
def cdn_invalidations() -> JobQueue:
    return JobQueue(client("sqs"), get_settings().queue_cdn_invalidations)


@lru_cache(maxsize=1)
def cdn_invalidator() -> CdnInvalidator:
    return CdnInvalidator(cdn_cache())


def _forget_cached(prefix: str) -> None:
    # The functions that delete images run in the VPC, where CloudFront's API is out of reach: the prefix is
    # queued for cdn_invalidate, which runs outside it.
    cdn_invalidations().enqueue([CdnInvalidation(prefix=prefix)])


@lru_cache(maxsize=1)
def media_store() -> MediaStore:
    return MediaStore(client("s3"), get_settings().media_bucket, forget_cached=_forget_cached)


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


@lru_cache(maxsize=1)
def blocks() -> BlockRepository:
    settings = get_settings()
    return BlockRepository(
        dynamo_table(settings.table_blocks), dynamo_table(settings.table_follows), dynamo_table(settings.table_users)
    )


@lru_cache(maxsize=1)
def graph() -> Graph:
    cache = RelationshipCache(redis_client(), get_settings().relationship_cache_seconds)

    def on_follow(follower_id: int, followee_id: int, following: bool) -> None:
        fanout().followed(follower_id, followee_id, following)
        story_cache().forget_trays([follower_id])
        explore().followed(follower_id, followee_id, following)

    return Graph(users(), follows(), blocks(), cache, now_ms, on_follow=on_follow)


@lru_cache(maxsize=1)
def like_repository() -> LikeRepository:
    settings = get_settings()
    return LikeRepository(dynamo_table(settings.table_likes), outbox(), dynamo_table(settings.table_posts))


@lru_cache(maxsize=1)
def like_cache() -> LikeCache:
    settings = get_settings()
    return LikeCache(redis_client(), scalable_bloom(settings.like_bloom_threshold, settings.like_bloom_capacity))


@lru_cache(maxsize=1)
def likes() -> Likes:
    settings = get_settings()
    return Likes(like_repository(), like_cache(), settings.like_bloom_threshold, now_ms, affinity=affinity())


@lru_cache(maxsize=1)
def comments() -> Comments:
    settings = get_settings()
    repo = CommentRepository(dynamo_table(settings.table_comments), dynamo_table(settings.table_posts), outbox())
    previews = CommentPreviewCache(redis_client())
    return Comments(
        repo,
        users(),
        previews,
        settings.comment_preview_size,
        new_id,
        now_ms,
        affinity=affinity(),
        on_change=lambda post_id: post_cache().forget(post_id),
    )


@lru_cache(maxsize=1)
def post_cache() -> PostCache:
    return PostCache(redis_client())


@lru_cache(maxsize=1)
def affinity() -> AffinityStore:
    return AffinityStore(redis_client())


@lru_cache(maxsize=1)
def ranking_model() -> RankingModel:
    """The trained weights from S3 when configured, else the default shipped in the layer."""
    key = get_settings().ranking_model_key
    if key:
        return RankingModel.from_json(media_store().read(key))
    return RankingModel.default()


@lru_cache(maxsize=1)
def post_views() -> PostViews:
    return PostViews(
        posts(), users(), likes(), comments(), graph(), post_cache(), redis_client(), get_settings().cdn_base
    )


@lru_cache(maxsize=1)
def notification_repository() -> NotificationRepository:
    settings = get_settings()
    return NotificationRepository(
        dynamo_table(settings.table_notifications),
        dynamo_table(settings.table_notify_keys),
        dynamo_table(settings.table_users),
    )


@lru_cache(maxsize=1)
def devices() -> DeviceRepository:
    return DeviceRepository(dynamo_table(get_settings().table_devices))


@lru_cache(maxsize=1)
def push() -> PushGateway:
    settings = get_settings()
    applications = {
        platform: arn
        for platform, arn in (("apns", settings.sns_apns_application_arn), ("fcm", settings.sns_fcm_application_arn))
        if arn
    }
    return PushGateway(client("sns"), applications)


@lru_cache(maxsize=1)
def notifier() -> Notifier:
    settings = get_settings()
    return Notifier(
        notification_repository(),
        users(),
        devices(),
        push(),
        # Block lookups straight from DynamoDB: notify runs outside the VPC, with no Redis cache.
        lambda user_id: blocks().blocked_either_way(user_id),
        once(),
        settings.notification_ttl_days,
        settings.like_group_window_seconds,
        post_exists=lambda post_id: posts().get(post_id) is not None,
    )


@lru_cache(maxsize=1)
def cascade() -> Cascade:
    settings = get_settings()
    ports = CascadePorts(
        comments=CommentRepository(dynamo_table(settings.table_comments), dynamo_table(settings.table_posts), outbox()),
        likes=like_repository(),
        notifications=notification_repository(),
        like_cache=like_cache(),
        previews=CommentPreviewCache(redis_client()),
        post_cache=post_cache(),
        timeline=timeline(),
        explore=explore_store(),
        images=media_store(),
        followers=lambda author_id: follows().followers(author_id),
        story_views=story_views(),
        highlights=highlights(),
        story_cache=story_cache(),
        is_celebrity=lambda author_id: fanout().is_celebrity(author_id),
    )
    return Cascade(ports)


@lru_cache(maxsize=1)
def relay() -> Relay:
    return Relay(events(), likes(), graph(), comments())


@lru_cache(maxsize=1)
def outbox() -> Outbox:
    return Outbox(get_settings().table_outbox)


@lru_cache(maxsize=1)
def once() -> Once:
    """Claim, do, mark done, for consumers (aperture.idempotency), in the idempotency table."""
    return dynamo_once(get_settings().table_idempotency, client("dynamodb"))


@lru_cache(maxsize=1)
def replays() -> Replays:
    """Clients' retries with an Idempotency-Key (aperture.idempotency), in the idempotency table."""
    return dynamo_replays(get_settings().table_idempotency, client("dynamodb"))


@lru_cache(maxsize=1)
def inbox() -> Inbox:
    # Block lookups straight from DynamoDB: the notifications function runs outside the VPC, with no Redis cache.
    return Inbox(
        notification_repository(),
        users(),
        devices(),
        push(),
        now_ms,
        lambda user_id: blocks().blocked_either_way(user_id),
        existing_posts=lambda post_ids: set(posts().get_many(post_ids)),
    )


@lru_cache(maxsize=1)
def story_repository() -> StoryRepository:
    return StoryRepository(dynamo_table(get_settings().table_stories), outbox())


@lru_cache(maxsize=1)
def story_views() -> StoryViewRepository:
    return StoryViewRepository(dynamo_table(get_settings().table_story_views))


@lru_cache(maxsize=1)
def highlights() -> HighlightRepository:
    return HighlightRepository(dynamo_table(get_settings().table_highlights))


@lru_cache(maxsize=1)
def story_cache() -> StoryCache:
    return StoryCache(redis_client(), get_settings().story_ttl_seconds)


@lru_cache(maxsize=1)
def story_view_events() -> EventPublisher:
    return EventPublisher(client("kinesis"), get_settings().stream_story_views)


@lru_cache(maxsize=1)
def stories() -> Stories:
    settings = get_settings()
    ports = StoryPorts(
        story_repository(), uploads(), story_views(), highlights(), users(), follows(), graph(), story_cache(),
        affinity(),
        story_view_events(), media_store(), fanout().is_celebrity, redis_client(), now_ms,
    )  # fmt: skip
    return Stories(ports, settings.story_ttl_seconds, settings.story_tray_seconds, settings.cdn_base)


@lru_cache(maxsize=1)
def explore_store() -> ExploreStore:
    return ExploreStore(redis_client())


@lru_cache(maxsize=1)
def vector_index() -> VectorIndex:
    """OpenSearch k-NN when OPENSEARCH_URL is set (always on AWS), else FAISS in this process."""
    settings = get_settings()
    if settings.opensearch_url:
        from aperture.adapters.opensearch import OpenSearchIndex, opensearch_client

        search = opensearch_client(settings.opensearch_url, settings.region, settings.opensearch_sigv4)
        return OpenSearchIndex(search, settings.opensearch_alias, settings.explore_dimensions)
    return _local_index(settings.explore_dimensions)


@lru_cache(maxsize=4)
def _local_index(dimensions: int) -> FaissIndex:
    # Outlives reset(): locally every function shares this process, as they share one OpenSearch domain on AWS.
    return FaissIndex(dimensions)


@lru_cache(maxsize=1)
def explore_jobs() -> JobQueue:
    return JobQueue(client("sqs"), get_settings().queue_explore)


@lru_cache(maxsize=1)
def explore() -> Explore:
    settings = get_settings()
    ports = ExplorePorts(
        explore_store(), vector_index(), posts(), users(), follows().following_ids, graph(), affinity(), post_views(),
        ranking_model, redis_client(), now_ms,
    )  # fmt: skip
    return Explore(ports, settings.explore_page_seconds, settings.explore_list_size, settings.explore_dimensions)


def reset() -> None:
    """Forget every port and the settings (tests and the local runtime call this after changing env)."""
    from aperture import ids, settings

    factories = (
        users, posts, uploads, follows, blocks, timeline, fanout, media_store, events, identity, token_verifier,
        blocklist, hash_blocklist, moderator, graph, like_repository, like_cache, likes, comments, once, outbox, relay,
        cascade,
        replays, post_views, notification_repository, devices, push, notifier, inbox, affinity, ranking_model,
        post_cache, story_repository, story_views, highlights, story_cache, story_view_events, stories, explore_store,
        vector_index, explore_jobs, explore, cdn_cache, cdn_invalidations, cdn_invalidator,
    )  # fmt: skip
    for factory in factories:
        factory.cache_clear()
    redis_client.cache_clear()
    ids.default_generator.cache_clear()
    settings.get_settings.cache_clear()
    reset_clients()
