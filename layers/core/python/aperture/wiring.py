"""Builds the real ports (repositories, stores, publishers) once per process, on first use."""

from __future__ import annotations

from collections.abc import Callable
from functools import _lru_cache_wrapper, lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from aperture.adapters.aws import client, dynamo_table, reset_clients
from aperture.adapters.redis_store.client import redis_client
from aperture.clock import now, now_ms
from aperture.ids import new_id
from aperture.settings import get_settings

# Each factory imports its adapters and services when first called, so a function's cold start loads only what
# its handler uses (docs/benchmarks.md, cold starts); these names serve the annotations alone.
if TYPE_CHECKING:
    from aperture.activity import ActivityLog
    from aperture.activity_flush import ActivityErasure, ActivityFlush
    from aperture.adapters.cloudfront import CdnCache
    from aperture.adapters.cognito import IdentityProvider, TokenVerifier
    from aperture.adapters.dynamo.carousels import CarouselCounter
    from aperture.adapters.dynamo.comments import CommentRepository
    from aperture.adapters.dynamo.exports import ExportRepository
    from aperture.adapters.dynamo.follow_requests import FollowRequestRepository
    from aperture.adapters.dynamo.graph import BlockRepository, FollowRepository
    from aperture.adapters.dynamo.hashtags import HashtagRepository
    from aperture.adapters.dynamo.likes import LikeRepository
    from aperture.adapters.dynamo.moderation import BlocklistRepository
    from aperture.adapters.dynamo.notifications import DeviceRepository, NotificationRepository
    from aperture.adapters.dynamo.posts import PostRepository
    from aperture.adapters.dynamo.saves import SaveRepository
    from aperture.adapters.dynamo.standing import DisabledAccountRepository
    from aperture.adapters.dynamo.stories import HighlightRepository, StoryRepository, StoryViewRepository
    from aperture.adapters.dynamo.uploads import UploadRepository
    from aperture.adapters.dynamo.users import UserRepository
    from aperture.adapters.kinesis import EventPublisher
    from aperture.adapters.outbox import Outbox
    from aperture.adapters.ranking_models import ModelStore
    from aperture.adapters.redis_store.affinity import AffinityStore
    from aperture.adapters.redis_store.comments import CommentPreviewCache
    from aperture.adapters.redis_store.explore import ExploreStore
    from aperture.adapters.redis_store.likes import LikeCache
    from aperture.adapters.redis_store.posts import PostCache
    from aperture.adapters.redis_store.saves import SavedCache
    from aperture.adapters.redis_store.stories import StoryCache
    from aperture.adapters.redis_store.timeline import Timeline
    from aperture.adapters.s3 import MediaStore
    from aperture.adapters.sns import PushGateway
    from aperture.adapters.sqs import JobQueue
    from aperture.adapters.vectors import FaissIndex, VectorIndex
    from aperture.cascade import Cascade
    from aperture.close_friends import Audiences, CloseFriends
    from aperture.comments import Comments
    from aperture.editing import PostEdits
    from aperture.engagements import EngagementLog
    from aperture.erasure import Erasure, ErasureRequests
    from aperture.explore import Explore, ExploreRefresh, ExploreSignals
    from aperture.exports import ExportBuilder, Exports
    from aperture.fanout import Fanout
    from aperture.feed import Feed
    from aperture.follow_requests import FollowRequests
    from aperture.graph import Graph
    from aperture.hashtag_pages import HashtagPages
    from aperture.idempotency import Once, Replays
    from aperture.invalidations import CdnInvalidator
    from aperture.likes import Likes
    from aperture.limits import RateLimiter
    from aperture.media.moderation import HashBlocklist, ImageBlocker, ModerationChain, Moderator
    from aperture.media.pipeline import MediaLimits, MediaPorts
    from aperture.models.events import AccountErasureRequested, ExportRequested
    from aperture.notifications import Inbox, Notifier
    from aperture.posts import Posts, PostViews
    from aperture.profiles import ProfileChanges
    from aperture.ranking import RankingModel, ServedModel
    from aperture.relay import Relay
    from aperture.reports import Reports
    from aperture.saves import Saves
    from aperture.search import Search, SearchIndexer
    from aperture.standing import AccountStanding
    from aperture.stories import Stories, StoryViewLog
    from aperture.training import RankingTraining
    from aperture.uploads import UploadGrants

T = TypeVar("T")
_BUILT_ONCE: list[_lru_cache_wrapper[Any]] = []


def built_once(factory: Callable[[], T]) -> _lru_cache_wrapper[T]:
    """A port built on first use and kept for the process, until reset()."""
    cached = lru_cache(maxsize=1)(factory)
    _BUILT_ONCE.append(cached)
    return cached


@built_once
def disabled_accounts() -> DisabledAccountRepository:
    from aperture.adapters.dynamo.standing import DisabledAccountRepository

    return DisabledAccountRepository(dynamo_table(get_settings().table_disabled_accounts), outbox())


@built_once
def standing() -> AccountStanding:
    """For functions with Redis: the disabled accounts as one cached set."""
    from aperture.adapters.redis_store.standing import DisabledCache
    from aperture.standing import AccountStanding

    cache = DisabledCache(redis_client(), get_settings().disabled_cache_seconds)
    return AccountStanding(disabled_accounts(), cache, now_ms)


@built_once
def standing_from_table() -> AccountStanding:
    """For functions outside the VPC (no Redis): the caller's own record read by key, the set kept briefly."""
    from aperture.standing import AccountStanding

    return AccountStanding(disabled_accounts(), None, now_ms)


@built_once
def users() -> UserRepository:
    from aperture.adapters.dynamo.users import UserRepository

    return UserRepository(dynamo_table(get_settings().table_users), outbox())


@built_once
def post_repository() -> PostRepository:
    from aperture.adapters.dynamo.posts import PostRepository

    settings = get_settings()
    return PostRepository(dynamo_table(settings.table_posts), dynamo_table(settings.table_users), outbox())


@built_once
def upload_repository() -> UploadRepository:
    from aperture.adapters.dynamo.uploads import UploadRepository

    return UploadRepository(dynamo_table(get_settings().table_uploads))


@built_once
def uploads() -> UploadGrants:
    from aperture.uploads import UploadGrants

    return UploadGrants(upload_repository(), users(), media_store(), now, get_settings())


@built_once
def limiter() -> RateLimiter:
    """Per-user limits, in Redis (the functions that write in the VPC)."""
    from aperture.adapters.redis_store.limits import RedisBuckets
    from aperture.limits import RateLimiter, configured_rates

    settings = get_settings()
    return RateLimiter(RedisBuckets(redis_client()), configured_rates(settings), now_ms, settings.function or "local")


@built_once
def signup_limiter() -> RateLimiter:
    """Sign-ups per source address, in DynamoDB: the auth function runs outside the VPC, away from Redis."""
    from aperture.adapters.dynamo.limits import DynamoWindows
    from aperture.limits import RateLimiter, configured_rates

    settings = get_settings()
    buckets = DynamoWindows(dynamo_table(settings.table_rate_limits))
    return RateLimiter(buckets, configured_rates(settings), now_ms, settings.function or "local")


@built_once
def follows() -> FollowRepository:
    from aperture.adapters.dynamo.graph import FollowRepository

    settings = get_settings()
    return FollowRepository(dynamo_table(settings.table_follows), dynamo_table(settings.table_users), outbox())


@built_once
def timeline() -> Timeline:
    from aperture.adapters.redis_store.timeline import Timeline

    settings = get_settings()
    return Timeline(
        redis_client(),
        settings.timeline_cap,
        settings.recent_posts_cap,
        settings.inactive_days * 86_400,
        slack=settings.timeline_slack,
    )


@built_once
def fanout() -> Fanout:
    from aperture.adapters.sqs import JobQueue
    from aperture.fanout import Fanout

    settings = get_settings()
    jobs = JobQueue(client("sqs"), settings.queue_fanout)
    return Fanout(
        timeline=timeline(),
        follows=follows(),
        users=users(),
        jobs=jobs,
        threshold=settings.celebrity_threshold,
        job_size=settings.fanout_job_size,
        posts=post_repository(),
        exit_ratio=settings.celebrity_exit_ratio,
    )


@built_once
def cdn_cache() -> CdnCache:
    from aperture.adapters.cloudfront import CdnCache

    return CdnCache(lambda: client("cloudfront"), get_settings().cdn_distribution_id)


@built_once
def cdn_invalidations() -> JobQueue:
    from aperture.adapters.sqs import JobQueue

    return JobQueue(client("sqs"), get_settings().queue_cdn_invalidations)


@built_once
def cdn_invalidator() -> CdnInvalidator:
    from aperture.invalidations import CdnInvalidator

    return CdnInvalidator(cdn_cache())


def _forget_cached(prefix: str) -> None:
    from aperture.models.events import CdnInvalidation

    # The functions that delete images run in the VPC, where CloudFront's API is out of reach: the prefix is
    # queued for cdn_invalidate, which runs outside it.
    cdn_invalidations().enqueue([CdnInvalidation(prefix=prefix)])


@built_once
def media_store() -> MediaStore:
    from aperture.adapters.s3 import MediaStore

    return MediaStore(client("s3"), get_settings().media_bucket, forget_cached=_forget_cached)


@built_once
def events() -> EventPublisher:
    from aperture.adapters.kinesis import EventPublisher

    return EventPublisher(client("kinesis"), get_settings().stream_events)


@built_once
def identity() -> IdentityProvider:
    from aperture.adapters.cognito import IdentityProvider

    settings = get_settings()
    return IdentityProvider(client("cognito-idp"), settings.user_pool_id, settings.user_pool_client_id)


@built_once
def token_verifier() -> TokenVerifier:
    from aperture.adapters.cognito import TokenVerifier

    settings = get_settings()
    return TokenVerifier(settings.jwks_location, settings.issuer, settings.user_pool_client_id)


@built_once
def blocklist() -> BlocklistRepository:
    from aperture.adapters.dynamo.moderation import BlocklistRepository

    return BlocklistRepository(dynamo_table(get_settings().table_blocklist))


@built_once
def hash_blocklist() -> HashBlocklist:
    from aperture.media.moderation import HashBlocklist

    return HashBlocklist(blocklist(), get_settings().blocklist_max_distance)


@built_once
def moderator() -> ModerationChain:
    from aperture.media.moderation import ModerationChain, RekognitionModerator

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


@built_once
def image_blocker() -> ImageBlocker:
    from aperture.media.moderation import BlockPorts, ImageBlocker

    ports = BlockPorts(
        posts=post_repository(),
        stories=story_repository(),
        images=media_store(),
        blocklist=blocklist(),
        hashes=hash_blocklist(),
        now_ms=now_ms,
    )
    return ImageBlocker(ports)


def media_ports() -> MediaPorts:
    from aperture.media.pipeline import MediaPorts

    return MediaPorts(
        store=media_store(),
        uploads=upload_repository(),
        events=events(),
        moderator=moderator(),
        now_ms=now_ms,
        carousels=carousel_counter(),
    )


@built_once
def carousel_counter() -> CarouselCounter:
    from aperture.adapters.dynamo.carousels import CarouselCounter

    return CarouselCounter(dynamo_table(get_settings().table_uploads), outbox())


def media_limits() -> MediaLimits:
    from aperture.media.pipeline import MediaLimits

    settings = get_settings()
    return MediaLimits(settings.max_upload_bytes, settings.max_image_pixels)


@built_once
def blocks() -> BlockRepository:
    from aperture.adapters.dynamo.graph import BlockRepository

    settings = get_settings()
    return BlockRepository(
        dynamo_table(settings.table_blocks),
        dynamo_table(settings.table_follows),
        dynamo_table(settings.table_users),
        requests=follow_request_repository(),
    )


@built_once
def graph() -> Graph:
    from aperture.adapters.dynamo.graph import MuteRepository
    from aperture.adapters.redis_store.graph import RelationshipCache
    from aperture.adapters.redis_store.privacy import PrivacyCache
    from aperture.graph import Graph

    cache = RelationshipCache(redis_client(), get_settings().relationship_cache_seconds)

    def on_follow(follower_id: int, followee_id: int, following: bool) -> None:
        fanout().followed(follower_id, followee_id, following)
        story_cache().forget_trays([follower_id])
        explore().followed(follower_id, followee_id, following)

    def on_mute(muter_id: int) -> None:
        story_cache().forget_trays([muter_id])

    return Graph(
        users=users(),
        follows=follows(),
        blocks=blocks(),
        mutes=MuteRepository(dynamo_table(get_settings().table_mutes)),
        cache=cache,
        now_ms=now_ms,
        on_follow=on_follow,
        on_mute=on_mute,
        requests=follow_request_repository(),
        privacy=PrivacyCache(redis_client(), get_settings().relationship_cache_seconds),
        standing=standing(),
    )


@built_once
def like_repository() -> LikeRepository:
    from aperture.adapters.dynamo.likes import LikeRepository

    settings = get_settings()
    return LikeRepository(dynamo_table(settings.table_likes), outbox(), dynamo_table(settings.table_posts))


@built_once
def like_cache() -> LikeCache:
    from aperture.adapters.redis_store.likes import LikeCache
    from aperture.likes import scalable_bloom

    settings = get_settings()
    return LikeCache(redis_client(), scalable_bloom(settings.like_bloom_threshold, settings.like_bloom_capacity))


@built_once
def likes() -> Likes:
    from aperture.likes import Likes

    settings = get_settings()
    return Likes(
        repo=like_repository(),
        cache=like_cache(),
        threshold=settings.like_bloom_threshold,
        now_ms=now_ms,
        affinity=affinity(),
    )


@built_once
def comment_repository() -> CommentRepository:
    from aperture.adapters.dynamo.comments import CommentRepository

    settings = get_settings()
    return CommentRepository(dynamo_table(settings.table_comments), dynamo_table(settings.table_posts), outbox())


@built_once
def comment_previews() -> CommentPreviewCache:
    from aperture.adapters.redis_store.comments import CommentPreviewCache

    return CommentPreviewCache(redis_client())


@built_once
def save_repository() -> SaveRepository:
    from aperture.adapters.dynamo.saves import SaveRepository

    settings = get_settings()
    return SaveRepository(dynamo_table(settings.table_saves), dynamo_table(settings.table_posts), outbox())


@built_once
def saved_cache() -> SavedCache:
    from aperture.adapters.redis_store.saves import SavedCache

    return SavedCache(redis_client())


@built_once
def saves() -> Saves:
    from aperture.saves import Saves

    return Saves(repo=save_repository(), cache=saved_cache(), now_ms=now_ms)


@built_once
def comments() -> Comments:
    from aperture.comments import Comments

    settings = get_settings()
    return Comments(
        repo=comment_repository(),
        users=users(),
        previews=comment_previews(),
        preview_size=settings.comment_preview_size,
        new_id=new_id,
        now_ms=now_ms,
        affinity=affinity(),
        on_change=lambda post_id: post_cache().forget_record(post_id),
    )


@built_once
def post_cache() -> PostCache:
    from aperture.adapters.redis_store.posts import PostCache

    return PostCache(redis_client())


@built_once
def affinity() -> AffinityStore:
    from aperture.adapters.redis_store.affinity import AffinityStore

    return AffinityStore(redis_client())


@built_once
def model_store() -> ModelStore:
    from aperture.adapters.ranking_models import ModelStore

    return ModelStore(media_store())


def _served_model(surface: str, fallback: RankingModel | None, pinned: str | None = None) -> ServedModel:
    from aperture.observability import logger
    from aperture.ranking import RankingModel, ServedModel

    def load() -> RankingModel | None:
        if pinned:
            return RankingModel.from_json(media_store().read(pinned))
        found = model_store().current(surface)
        return None if found is None else RankingModel.from_json(found)

    def keep_last_good(error: Exception) -> None:
        logger.warning(
            "ranking model unreadable; serving the last good one", extra={"surface": surface, "error": repr(error)}
        )

    return ServedModel(load, fallback, get_settings().ranking_model_ttl_seconds, now, keep_last_good)


@built_once
def served_feed_model() -> ServedModel:
    """The feed's model: the promoted one (models/feed/current.json, or the key APERTURE_RANKING_MODEL_KEY pins),
    re-read every few minutes, else the default shipped in the layer."""
    from aperture.ranking import RankingModel

    return _served_model("feed", RankingModel.default(), get_settings().ranking_model_key)


def ranking_model() -> RankingModel:
    from aperture.ranking import RankingModel

    model = served_feed_model()()
    return model if model is not None else RankingModel.default()  # (never: the default is its fallback)


@built_once
def served_explore_model() -> ServedModel:
    """Explore's model: the promoted one (models/explore/current.json), else the default shipped in the layer
    (aperture/explore_model.json) if there is one, else None (explore's own default)."""
    return _served_model("explore", shipped_explore_model())


def shipped_explore_model() -> RankingModel | None:
    from importlib import resources

    from aperture.ranking import RankingModel

    shipped = resources.files("aperture") / "explore_model.json"
    return RankingModel.from_json(shipped.read_text()) if shipped.is_file() else None


def explore_model() -> RankingModel | None:
    return served_explore_model()()


@built_once
def ranking_training() -> RankingTraining:
    from aperture.adapters.activity_archive import ActivityArchive
    from aperture.learning import Guards
    from aperture.training import RankingTraining, TrainingPolicy

    settings = get_settings()
    policy = TrainingPolicy(
        days=settings.ranking_train_days,
        label_window_ms=settings.ranking_label_window_seconds * 1000,
        guards=Guards(settings.ranking_min_examples, settings.ranking_min_label_rate, settings.ranking_max_label_rate),
        margin=settings.ranking_promote_margin,
        max_impressions=settings.ranking_max_impressions,
    )
    from aperture.ranking import RankingModel

    # What serves when nothing is promoted: the gate's serving model on a first run
    defaults = {"feed": RankingModel.default(), "explore": shipped_explore_model()}
    return RankingTraining(ActivityArchive(media_store()), model_store(), defaults, policy)


@built_once
def post_views() -> PostViews:
    from aperture.posts import PostViewPorts, PostViews

    ports = PostViewPorts(
        posts=post_repository(),
        users=users(),
        likes=likes(),
        comments=comments(),
        graph=graph(),
        post_cache=post_cache(),
        saves=saves(),
        redis_client=redis_client(),
    )
    return PostViews(ports, get_settings().cdn_base)


@built_once
def posts() -> Posts:
    from aperture.posts import PostPorts, Posts

    ports = PostPorts(
        posts=post_repository(),
        uploads=upload_repository(),
        views=post_views(),
        fanout=fanout(),
        like_cache=like_cache(),
        images=media_store(),
        graph=graph(),
        now_ms=now_ms,
    )
    return Posts(ports)


@built_once
def post_edits() -> PostEdits:
    from aperture.adapters.dynamo.post_edits import PostEditRepository
    from aperture.editing import PostEditPorts, PostEdits

    ports = PostEditPorts(
        edits=PostEditRepository(dynamo_table(get_settings().table_posts), outbox()),
        cache=post_cache(),
        views=post_views(),
        users=users(),
        graph=graph(),
        now_ms=now_ms,
        max_mentions=get_settings().max_mentions_notified,
    )
    return PostEdits(ports)


@built_once
def feed() -> Feed:
    from aperture.feed import Feed, FeedPorts

    ports = FeedPorts(
        timeline=timeline(),
        views=post_views(),
        fanout=fanout(),
        graph=graph(),
        affinity=affinity(),
        redis_client=redis_client(),
        following_ids=follows().following_ids,
        latest_by=post_repository().latest_by,
        model=ranking_model,
        now_ms=now_ms,
        activity=activity_log(),
    )
    return Feed(ports)


@built_once
def notification_repository() -> NotificationRepository:
    from aperture.adapters.dynamo.notifications import NotificationRepository

    settings = get_settings()
    return NotificationRepository(
        dynamo_table(settings.table_notifications),
        dynamo_table(settings.table_notify_keys),
        dynamo_table(settings.table_users),
    )


@built_once
def devices() -> DeviceRepository:
    from aperture.adapters.dynamo.notifications import DeviceRepository

    return DeviceRepository(dynamo_table(get_settings().table_devices))


@built_once
def push() -> PushGateway:
    from aperture.adapters.sns import PushGateway

    settings = get_settings()
    applications = {
        platform: arn
        for platform, arn in (("apns", settings.sns_apns_application_arn), ("fcm", settings.sns_fcm_application_arn))
        if arn
    }
    return PushGateway(client("sns"), applications)


@built_once
def notifier() -> Notifier:
    from aperture.notifications import Notifier

    settings = get_settings()
    return Notifier(
        repo=notification_repository(),
        users=users(),
        devices=devices(),
        push=push(),
        # Block lookups straight from DynamoDB: notify runs outside the VPC, with no Redis cache.
        hidden_from=lambda user_id: blocks().blocked_either_way(user_id) | standing_from_table().disabled(),
        once=once(),
        ttl_days=settings.notification_ttl_days,
        group_window_seconds=settings.like_group_window_seconds,
        post_exists=lambda post_id: post_repository().get(post_id) is not None,
        pair_window_seconds=settings.follow_notify_window_seconds,
        max_mentions=settings.max_mentions_notified,
    )


@built_once
def cascade() -> Cascade:
    from aperture.cascade import Cascade, CascadePorts

    ports = CascadePorts(
        comments=comment_repository(),
        likes=like_repository(),
        saves=save_repository(),
        notifications=notification_repository(),
        like_cache=like_cache(),
        saved_cache=saved_cache(),
        previews=comment_previews(),
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


def _queue_export_build(event: ExportRequested) -> None:
    from aperture.models.events import ExportJob

    export_jobs().enqueue([ExportJob(user_id=event.user_id, export_id=event.export_id)])


def _queue_erasure_round(event: AccountErasureRequested) -> None:
    erasure_jobs().enqueue([event])


@built_once
def relay() -> Relay:
    from aperture.relay import Relay

    return Relay(
        events(),
        likes(),
        graph(),
        comments(),
        on_post_edited=lambda event: post_edits().after(event),
        follow_requests=follow_requests(),
        search=search_indexer(),
        on_export_requested=_queue_export_build,
        on_erasure_requested=_queue_erasure_round,
    )


@built_once
def erasure_jobs() -> JobQueue:
    from aperture.adapters.sqs import JobQueue

    return JobQueue(client("sqs"), get_settings().queue_erasure)


@built_once
def outbox() -> Outbox:
    from aperture.adapters.outbox import Outbox

    return Outbox(get_settings().table_outbox)


@built_once
def once() -> Once:
    """Claim, do, mark done, for consumers (aperture.idempotency), in the idempotency table."""
    from aperture.idempotency import dynamo_once

    return dynamo_once(get_settings().table_idempotency, client("dynamodb"))


@built_once
def replays() -> Replays:
    """Clients' retries with an Idempotency-Key (aperture.idempotency), in the idempotency table."""
    from aperture.idempotency import dynamo_replays

    return dynamo_replays(get_settings().table_idempotency, client("dynamodb"))


@built_once
def inbox() -> Inbox:
    # Block lookups straight from DynamoDB: the notifications function runs outside the VPC, with no Redis cache.
    from aperture.notifications import Inbox

    return Inbox(
        repo=notification_repository(),
        users=users(),
        devices=devices(),
        push=push(),
        now_ms=now_ms,
        hidden_from=lambda user_id: blocks().blocked_either_way(user_id) | standing_from_table().disabled(),
        existing_posts=lambda post_ids: set(post_repository().get_many(post_ids)),
    )


@built_once
def story_repository() -> StoryRepository:
    from aperture.adapters.dynamo.stories import StoryRepository

    return StoryRepository(dynamo_table(get_settings().table_stories), outbox())


@built_once
def story_views() -> StoryViewRepository:
    from aperture.adapters.dynamo.stories import StoryViewRepository

    return StoryViewRepository(dynamo_table(get_settings().table_story_views))


@built_once
def highlights() -> HighlightRepository:
    from aperture.adapters.dynamo.stories import HighlightRepository

    return HighlightRepository(dynamo_table(get_settings().table_highlights))


@built_once
def story_cache() -> StoryCache:
    from aperture.adapters.redis_store.stories import StoryCache

    return StoryCache(redis_client(), get_settings().story_ttl_seconds)


@built_once
def story_view_events() -> EventPublisher:
    from aperture.adapters.kinesis import EventPublisher

    return EventPublisher(client("kinesis"), get_settings().stream_story_views)


@built_once
def story_view_log() -> StoryViewLog:
    from aperture.stories import StoryViewLog

    return StoryViewLog(story_views(), get_settings().story_ttl_seconds)


@built_once
def stories() -> Stories:
    from aperture.stories import Stories, StoryPorts

    settings = get_settings()
    ports = StoryPorts(
        stories=story_repository(),
        uploads=upload_repository(),
        views=story_views(),
        highlights=highlights(),
        users=users(),
        follows=follows(),
        graph=graph(),
        cache=story_cache(),
        affinity=affinity(),
        view_events=story_view_events(),
        images=media_store(),
        is_celebrity=fanout().is_celebrity,
        redis=redis_client(),
        now_ms=now_ms,
        close_friends=audiences,
    )
    return Stories(ports, settings.story_ttl_seconds, settings.story_tray_seconds, settings.cdn_base)


@built_once
def reports() -> Reports:
    from aperture.adapters.dynamo.reports import ReportRepository
    from aperture.reports import ReportPorts, Reports

    settings = get_settings()
    ports = ReportPorts(
        repo=ReportRepository(dynamo_table(settings.table_reports), dynamo_table(settings.table_moderation_queue)),
        graph=graph(),
        post_views=post_views(),
        stories=stories,
        posts=posts,
        comments=comments,
        post_records=post_repository(),
        comment_records=comment_repository(),
        story_records=story_repository(),
        users=users(),
        blocker=image_blocker,
        standing=standing,
        now_ms=now_ms,
        cdn_base=settings.cdn_base,
    )
    return Reports(ports)


@built_once
def audiences() -> Audiences:
    """Whose close-friends stories a viewer may see (the functions showing stories read only the reverse table)."""
    from aperture.adapters.dynamo.close_friends import CloseFriendOfRepository
    from aperture.adapters.redis_store.close_friends import CloseFriendsCache
    from aperture.close_friends import Audiences

    repo = CloseFriendOfRepository(dynamo_table(get_settings().table_close_friend_of))
    return Audiences(repo=repo, cache=CloseFriendsCache(redis_client()))


@built_once
def close_friends() -> CloseFriends:
    from aperture.adapters.dynamo.close_friends import CloseFriendRepository
    from aperture.close_friends import CloseFriends

    settings = get_settings()
    return CloseFriends(
        repo=CloseFriendRepository(
            dynamo_table(settings.table_close_friends), dynamo_table(settings.table_close_friend_of)
        ),
        audiences=audiences(),
        graph=graph(),
        users=users(),
        now_ms=now_ms,
    )


@built_once
def activity_log() -> ActivityLog:
    """Impressions and engagements, appended for the training job (aperture.activity)."""
    from aperture.adapters.redis_store.activity import RedisActivityLog

    return RedisActivityLog(redis_client())


@built_once
def engagement_log() -> EngagementLog:
    from aperture.engagements import EngagementLog

    return EngagementLog(activity_log(), now_ms)


@built_once
def activity_erasure() -> ActivityErasure:
    from aperture.activity_flush import ActivityErasure
    from aperture.adapters.redis_store.activity import ActivityStreams

    return ActivityErasure(ActivityStreams(redis_client()), media_store())


@built_once
def activity_flush() -> ActivityFlush:
    from aperture.activity_flush import ActivityFlush
    from aperture.adapters.redis_store.activity import ActivityStreams

    settings = get_settings()
    return ActivityFlush(
        ActivityStreams(redis_client()), media_store(), settings.activity_flush_batch, settings.activity_flush_rounds
    )


@built_once
def explore_store() -> ExploreStore:
    from aperture.adapters.redis_store.explore import ExploreStore

    return ExploreStore(redis_client())


@built_once
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
    from aperture.adapters.vectors import FaissIndex

    return FaissIndex(dimensions)


@built_once
def explore_jobs() -> JobQueue:
    from aperture.adapters.sqs import JobQueue

    return JobQueue(client("sqs"), get_settings().queue_explore)


@built_once
def explore() -> Explore:
    from aperture.explore import Explore, ExplorePorts

    settings = get_settings()
    ports = ExplorePorts(
        store=explore_store(),
        index=vector_index(),
        posts=post_repository(),
        users=users(),
        following_ids=follows().following_ids,
        graph=graph(),
        affinity=affinity(),
        views=post_views(),
        ranking=explore_model,
        activity=activity_log(),
        redis=redis_client(),
        now_ms=now_ms,
    )
    return Explore(ports, settings.explore_page_seconds, settings.explore_list_size, settings.explore_dimensions)


@built_once
def explore_signals() -> ExploreSignals:
    from aperture.explore import ExploreSignals

    return ExploreSignals(explore_store(), post_repository(), users())


@built_once
def explore_refresh() -> ExploreRefresh:
    from aperture.explore import ExploreRefresh, RefreshLimits

    settings = get_settings()
    limits = RefreshLimits(
        pool_size=settings.explore_pool_size,
        dimensions=settings.explore_dimensions,
        active_days=settings.explore_active_days,
        job_size=settings.explore_job_size,
    )
    return ExploreRefresh(
        explore_store(), post_repository(), vector_index(), explore_jobs().enqueue, limits, users=users()
    )


@built_once
def profiles() -> ProfileChanges:
    from aperture.profiles import ProfileChanges

    return ProfileChanges(users=users(), now_ms=now_ms)


@built_once
def hashtag_repository() -> HashtagRepository:
    from aperture.adapters.dynamo.hashtags import HashtagRepository

    settings = get_settings()
    return HashtagRepository(dynamo_table(settings.table_hashtags), dynamo_table(settings.table_posts))


@built_once
def search_indexer() -> SearchIndexer:
    from aperture.adapters.redis_store.search import HashtagSearchIndex, UserSearchIndex
    from aperture.search import SearchIndexer, SearchIndexPorts

    ports = SearchIndexPorts(
        users=users(),
        posts=post_repository(),
        hashtags=hashtag_repository(),
        user_index=UserSearchIndex(redis_client()),
        hashtag_index=HashtagSearchIndex(redis_client()),
    )
    return SearchIndexer(ports)


@built_once
def search() -> Search:
    from aperture.adapters.redis_store.search import HashtagSearchIndex, UserSearchIndex
    from aperture.search import Search, SearchPorts

    ports = SearchPorts(
        users=users(),
        follows=follows(),
        graph=graph(),
        user_index=UserSearchIndex(redis_client()),
        hashtag_index=HashtagSearchIndex(redis_client()),
    )
    return Search(ports)


@built_once
def hashtag_pages() -> HashtagPages:
    from aperture.adapters.redis_store.search import HashtagTop
    from aperture.hashtag_pages import HashtagPagePorts, HashtagPages

    ports = HashtagPagePorts(
        hashtags=hashtag_repository(),
        users=users(),
        follows=follows(),
        graph=graph(),
        views=post_views(),
        top=HashtagTop(redis_client()),
        now_ms=now_ms,
    )
    return HashtagPages(ports)


def reset() -> None:
    """Forget every port and the settings (tests and the local runtime call this after changing env)."""
    from aperture import ids, settings

    for factory in _BUILT_ONCE:
        factory.cache_clear()
    redis_client.cache_clear()
    ids.default_generator.cache_clear()
    settings.get_settings.cache_clear()
    reset_clients()


@built_once
def follow_request_repository() -> FollowRequestRepository:
    from aperture.adapters.dynamo.follow_requests import FollowRequestRepository

    settings = get_settings()
    return FollowRequestRepository(
        dynamo_table(settings.table_follow_requests),
        dynamo_table(settings.table_follows),
        dynamo_table(settings.table_users),
        outbox(),
    )


@built_once
def follow_requests() -> FollowRequests:
    from aperture.adapters.dynamo.follow_requests import PrivacyRepository
    from aperture.follow_requests import FollowRequestPorts, FollowRequests

    settings = get_settings()
    ports = FollowRequestPorts(
        requests=follow_request_repository(),
        privacy=PrivacyRepository(dynamo_table(settings.table_users), outbox()),
        users=users(),
        follows=follows(),
    )
    return FollowRequests(ports=ports, graph=graph(), now_ms=now_ms, batch_size=settings.follow_request_batch)


@built_once
def export_repository() -> ExportRepository:
    from aperture.adapters.dynamo.exports import ExportRepository

    return ExportRepository(dynamo_table(get_settings().table_exports), outbox())


@built_once
def export_jobs() -> JobQueue:
    from aperture.adapters.sqs import JobQueue

    return JobQueue(client("sqs"), get_settings().queue_exports)


@built_once
def exports() -> Exports:
    from aperture.exports import Exports

    settings = get_settings()
    return Exports(
        export_repository(), media_store(), now_ms, settings.export_link_seconds, settings.export_stale_seconds
    )


@built_once
def export_builder() -> ExportBuilder:
    from aperture.adapters.dynamo.exports import AccountRecords
    from aperture.exports import ExportBuilder

    settings = get_settings()
    tables = {
        key: dynamo_table(getattr(settings, f"table_{key}"))
        for key in ("users", "posts", "comments", "likes", "follows", "stories", "highlights")
    }
    return ExportBuilder(export_repository(), AccountRecords(tables), media_store(), now_ms)


@built_once
def erasure_requests() -> ErasureRequests:
    from aperture.erasure import ErasureRequests

    return ErasureRequests(identity(), standing(), now_ms)


@built_once
def erasure() -> Erasure:
    from aperture.adapters.dynamo.close_friends import CloseFriendRepository
    from aperture.adapters.dynamo.erasure import ErasureRecords, ErasureTables
    from aperture.adapters.dynamo.reports import ReportRepository
    from aperture.adapters.redis_store.erasure import RedisTraces
    from aperture.adapters.redis_store.graph import RelationshipCache
    from aperture.adapters.redis_store.search import UserSearchIndex
    from aperture.erasure import Erasure, ErasurePorts

    settings = get_settings()
    tables = ErasureTables(
        **{name: dynamo_table(getattr(settings, f"table_{name}")) for name in ErasureTables.__dataclass_fields__}
    )
    records = ErasureRecords(tables, outbox())
    ports = ErasurePorts(
        records=records,
        users=users(),
        posts=posts(),
        post_records=post_repository(),
        stories=stories(),
        comments=comments(),
        likes=likes(),
        saves=save_repository(),
        follows=follows(),
        graph=graph(),
        relationships=RelationshipCache(redis_client(), settings.relationship_cache_seconds),
        story_cache=story_cache(),
        close_friends=CloseFriendRepository(
            dynamo_table(settings.table_close_friends), dynamo_table(settings.table_close_friend_of)
        ),
        audiences=audiences(),
        devices=devices(),
        push_owner=lambda arn: push().owner(arn),
        push_unregister=lambda arn: push().unregister(arn),
        images=media_store(),
        user_index=UserSearchIndex(redis_client()),
        traces=RedisTraces(redis_client()),
        activity=activity_erasure(),
        model_generation=lambda: explore_store().current_generation(),
        delete_identity=lambda username: identity().delete_user_if_present(username),
        reports=ReportRepository(dynamo_table(settings.table_reports), dynamo_table(settings.table_moderation_queue)),
        record_next=records.record,
        forget_disabled=lambda user_id: standing().release(user_id),
        now_ms=now_ms,
        like_window_ms=settings.like_group_window_seconds * 1000,
    )
    return Erasure(ports, settings.erasure_batch)
