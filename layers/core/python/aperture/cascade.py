"""The deletion cascade: what hangs off a deleted post goes, once its deletion is committed.

A post's deletion is one transaction (the record, its count, its upload's state, and a PostDeleted event in the
outbox). The outbox's stream hands the event to the `cascade` function, which removes, in order: the notifications
about the post (in every user's inbox, through the notifications' by_post index), the comments, the likes, the
saves (out of every saver's cached list, then out of the table, found through its by_post index), every Redis key
of the post (like cache, Bloom filter, applied marks, cached copy, preview), its place in its author's recent posts
and its followers' timelines, explore's buckets and engagements, then the raw upload and the images, and last tells
the CDN. Every step deletes what is there and does nothing when it is gone, so a cascade
that stops anywhere is finished by its retry (the stream redelivers the record until it succeeds; after its
retries, the failure archive keeps it for a redrive).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from aperture.adapters.dynamo.comments import CommentRepository
from aperture.adapters.dynamo.likes import LikeRepository
from aperture.adapters.dynamo.notifications import NotificationRepository
from aperture.adapters.dynamo.saves import SaveRepository
from aperture.adapters.dynamo.stories import HighlightRepository, StoryViewRepository
from aperture.adapters.redis_store.comments import CommentPreviewCache
from aperture.adapters.redis_store.explore import ExploreStore
from aperture.adapters.redis_store.likes import LikeCache
from aperture.adapters.redis_store.posts import PostCache
from aperture.adapters.redis_store.saves import SavedCache
from aperture.adapters.redis_store.stories import StoryCache
from aperture.adapters.redis_store.timeline import Timeline
from aperture.models.events import PostDeleted, StoryDeleted
from aperture.ports import ImageStore
from aperture.resources import IMAGE_PREFIX
from aperture.stories import forget_followers_trays
from aperture.uploads import upload_key


@dataclass(frozen=True)
class CascadePorts:
    comments: CommentRepository
    likes: LikeRepository
    saves: SaveRepository
    notifications: NotificationRepository
    like_cache: LikeCache
    saved_cache: SavedCache
    previews: CommentPreviewCache
    post_cache: PostCache
    timeline: Timeline
    explore: ExploreStore
    images: ImageStore
    followers: Callable[[int], Iterator[list[int]]]  # an author's followers, a page at a time
    story_views: StoryViewRepository
    highlights: HighlightRepository
    story_cache: StoryCache
    is_celebrity: Callable[[int], bool]


@dataclass(frozen=True)
class CascadeOutcome:
    comments: int
    likes: int
    saves: int
    notifications: int
    timelines: int
    images: int


class Cascade:
    def __init__(self, ports: CascadePorts) -> None:
        self.ports = ports

    def post_deleted(self, event: PostDeleted) -> CascadeOutcome:
        p = self.ports
        notifications = p.notifications.forget_post(event.post_id)
        comments = p.comments.purge(event.post_id)
        likes = p.likes.purge(event.post_id)
        # Out of the savers' cached lists first: the savers are found through the saves themselves
        for savers in p.saves.savers(event.post_id):
            p.saved_cache.forget_post(savers, event.post_id)
        saves = p.saves.purge(event.post_id)
        p.like_cache.forget(event.post_id)
        p.previews.forget(event.post_id)
        p.post_cache.forget(event.post_id)
        # Out of the timelines it was pushed to: active followers' (others' expire, and are rebuilt without it);
        # a celebrity's posts are never pushed
        followers: list[int] = []
        if not p.is_celebrity(event.author_id):
            for page in p.followers(event.author_id):
                followers += p.timeline.active(page)
        timelines = p.timeline.remove_everywhere(event.author_id, event.post_id, followers)
        p.explore.forget_post(event.post_id, event.hashtags, event.occurred_at)
        # What it was made from, then what it became; the CDN is told even if a first attempt deleted them all
        p.images.delete(upload_key(event.author_id, event.upload_id))
        p.images.delete_unserved(f"{upload_key(event.author_id, event.upload_id)}/")  # a carousel's photos
        images = p.images.delete_under(f"{IMAGE_PREFIX}{event.author_id}/{event.post_id}/", forget_cached=True)
        return CascadeOutcome(comments, likes, saves, notifications, timelines, images)

    def story_deleted(self, event: StoryDeleted) -> int:
        """A story taken down: its views, its highlight, its cached copies and its followers' trays, then its raw
        upload and images (the CDN told). Returns how many views went."""
        p = self.ports
        views = p.story_views.purge(event.story_id)
        p.highlights.delete(event.author_id, event.story_id)
        p.story_cache.remove_live(event.author_id, [event.story_id], event.occurred_at)
        p.story_cache.forget(event.story_id)
        forget_followers_trays(event.author_id, p.story_cache, p.followers, p.is_celebrity)
        p.images.delete(upload_key(event.author_id, event.upload_id))
        p.images.delete_under(f"{IMAGE_PREFIX}{event.author_id}/{event.story_id}/", forget_cached=True)
        return views
