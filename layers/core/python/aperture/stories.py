"""Stories: 24-hour photos, the tray of whose stories to watch, views and viewer lists, expiry and highlights.

A story lives `APERTURE_STORY_TTL_SECONDS` from publication. Redis keeps each author's live story ids (scored by
publish time), what each viewer has seen, a live view count per story, and each viewer's precomputed tray.
DynamoDB keeps the stories, the viewer lists (written in batches from the story-views stream) and highlights.

The tray is precomputed per viewer and dropped when a followed author posts (authors under the celebrity
threshold drop their followers' trays at publish time; a celebrity's new story is noticed at read time by
comparing its publish time with the tray's), when the viewer views a story or follows someone, and it expires
by itself when its first story does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from redis.exceptions import RedisError

from aperture.adapters.dynamo.graph import FollowRepository
from aperture.adapters.dynamo.stories import EXPIRY_SHARDS, HighlightRepository, StoryRepository, StoryViewRepository
from aperture.adapters.dynamo.uploads import UploadRepository
from aperture.adapters.dynamo.users import UserRepository
from aperture.adapters.redis_store.affinity import AffinityStore
from aperture.adapters.redis_store.client import PipelineBatch
from aperture.adapters.redis_store.stories import StoryCache
from aperture.cdn import image_urls
from aperture.clock import iso
from aperture.close_friends import CLOSE_FRIENDS, Audiences, may_see
from aperture.errors import (
    ForbiddenError,
    InvalidCursorError,
    NotFoundError,
    PrivateAccountError,
    TooManyRequestsError,
)
from aperture.graph import Graph
from aperture.models.api import ImageFormats, Page, Story, StoryViewer, StoryViewers, TrayEntry, UserRef
from aperture.models.events import PostReady, StoryDeleted, StoryViewed
from aperture.models.records import StoryRecord, StoryView, User
from aperture.observability import logger, measure
from aperture.ports import EventSink, ImageStore
from aperture.ranking import AFFINITY_WEIGHTS
from aperture.resources import IMAGE_PREFIX
from aperture.uploads import upload_key

DAY_MS = 86_400_000
EXPIRY_LOOKBACK_DAYS = 8  # the expiry job looks this far back for stories it has not ended (TTL purges at 7)


class StoryNotFoundError(NotFoundError):
    code = "story_not_found"


@dataclass(frozen=True, kw_only=True)
class StoryPorts:
    stories: StoryRepository
    uploads: UploadRepository
    views: StoryViewRepository
    highlights: HighlightRepository
    users: UserRepository
    follows: FollowRepository
    graph: Graph
    cache: StoryCache
    affinity: AffinityStore
    view_events: EventSink
    images: ImageStore
    is_celebrity: Callable[[int], bool]
    redis: Any
    now_ms: Callable[[], int]
    # Built on first use: only the functions that show stories are given its table (ingest and expiry never ask)
    close_friends: Callable[[], Audiences]


@dataclass(frozen=True)
class ExpiryOutcome:
    archived: int = 0
    deleted: int = 0


class Stories:
    def __init__(self, ports: StoryPorts, ttl_seconds: int, tray_seconds: int, cdn_base: str) -> None:
        self.ports = ports
        self._ttl_ms = ttl_seconds * 1000
        self._tray_seconds = tray_seconds
        self._cdn = cdn_base

    # The tray

    def tray_page(self, viewer_id: int, limit: int, cursor: str | None) -> Page[TrayEntry]:
        """A page of the tray; the cursor is a position in it (the tray is precomputed whole)."""
        if cursor is not None and not (cursor.isascii() and cursor.isdigit() and len(cursor) < 7):
            raise InvalidCursorError("the cursor is not valid; start again without one")
        start = int(cursor or 0)
        entries = self.tray(viewer_id)
        more = start + limit < len(entries)
        return Page[TrayEntry](items=entries[start : start + limit], next_cursor=str(start + limit) if more else None)

    def tray(self, viewer_id: int) -> list[TrayEntry]:
        """Followed users with live stories: unseen first, then those the viewer engages with most, then newest."""
        now = self.ports.now_ms()
        try:
            batch = PipelineBatch(self.ports.redis)
            cached_slot = self.ports.cache.queue_tray(batch, viewer_id)
            hidden_slot = self.ports.graph.queue_hidden(batch, viewer_id)
            muted_slot = self.ports.graph.queue_muted(batch, viewer_id)
            close_slot = self.ports.close_friends().queue_lookup(batch, viewer_id)
            batch.execute()
            # Whose close-friends stories the viewer may see, as of now: a tray built with another answer is rebuilt
            close_of = self.ports.close_friends().resolve(viewer_id, close_slot.value)
            cached, celebrities, version = cached_slot.value
            fresh = (
                cached is not None
                and now < int(cached["valid_until"])
                and cached.get("close_of", []) == sorted(close_of)
            )
            if cached is not None and fresh and not self._celebrity_posted_since(celebrities, cached["computed_at"]):
                return [TrayEntry.model_validate(e) for e in cached["entries"]]
            hidden = hidden_slot.value if hidden_slot.value is not None else self.ports.graph.hidden_from(viewer_id)
            muted = muted_slot.value if muted_slot.value is not None else self.ports.graph.muted_by(viewer_id)
            return self._build_tray(viewer_id, hidden | muted, now, close_of, version)
        except RedisError as error:
            logger.warning("stories tray built without Redis", extra={"error": repr(error)})
            return self._tray_without_redis(viewer_id, now)

    def _celebrity_posted_since(self, celebrities: list[int], computed_at: int) -> bool:
        if not celebrities:
            return False
        batch = PipelineBatch(self.ports.redis)
        changed = self.ports.cache.queue_changed(batch, celebrities)
        batch.execute()
        return any(at >= computed_at for at in changed.value.values())

    def _build_tray(
        self, viewer_id: int, left_out: set[int], now: int, close_of: set[int], version: str
    ) -> list[TrayEntry]:
        """The tray of followees with live stories, but for those `left_out` (blocked either way, or muted); a
        close-friends story counts only if its author lists the viewer (`close_of`). It is kept for the next read
        only if nothing dropped the tray since `version` was read (a story published while it was being built)."""
        followees = [f for f in self.ports.follows.following_ids(viewer_id) if f not in left_out]
        batch = PipelineBatch(self.ports.redis)
        live_slot = self.ports.cache.queue_live(batch, followees, now - self._ttl_ms)
        close_slot = self.ports.cache.queue_close(batch, followees, now - self._ttl_ms)
        seen_slot = self.ports.cache.queue_seen(batch, viewer_id)
        affinity_slot = self.ports.affinity.queue_all(batch, viewer_id)
        intact_slot = self.ports.cache.queue_live_sets_intact(batch)
        batch.execute()
        close = close_slot.value
        shown = {
            author: [(s, at) for s, at in stories if s not in close or author in close_of]
            for author, stories in live_slot.value.items()
        }
        live = {author: stories for author, stories in shown.items() if stories}
        entries = self._order(live, seen_slot.value, affinity_slot.value[0], close)
        # Valid until its first story expires (checked against the platform clock) or the tray's age limit.
        expiries = [created + self._ttl_ms for stories in live.values() for _, created in stories]
        valid_until = min([now + self._tray_seconds * 1000, *expiries])
        tray = {
            "computed_at": now,
            "valid_until": valid_until,
            "entries": [e.model_dump() for e in entries],
            "close_of": sorted(close_of),
        }
        if intact_slot.value:  # (after a loss of Redis's data, trays are not kept until the live sets are restored)
            self.ports.cache.put_tray(viewer_id, tray, (valid_until - now) // 1000 + 1, version)
        return entries

    def _order(
        self,
        live: dict[int, list[tuple[int, int]]],
        seen: set[int],
        affinity: dict[int, float],
        close: set[int] | None = None,
    ) -> list[TrayEntry]:
        authors = self.ports.users.get_many(live)
        rows = []
        for author_id, stories in live.items():
            if author_id not in authors:
                continue
            unseen = any(story_id not in seen for story_id, _ in stories)
            latest = max(created for _, created in stories)
            for_close = any(story_id in (close or set()) for story_id, _ in stories)
            rows.append(
                (not unseen, -affinity.get(author_id, 0.0), -latest, author_id, unseen, latest, len(stories), for_close)
            )
        rows.sort()
        return [
            TrayEntry(
                user=UserRef(user_id=str(author_id), username=authors[author_id].username),
                has_unseen=unseen,
                latest_at=iso(latest),
                story_count=count,
                close_friends=for_close,
            )
            for *_, author_id, unseen, latest, count, for_close in rows
        ]

    def _tray_without_redis(self, viewer_id: int, now: int) -> list[TrayEntry]:
        """Redis is away: each followee's live stories from DynamoDB, and what was seen from the viewer lists."""
        left_out = self.ports.graph.hidden_from(viewer_id) | self.ports.graph.muted_by(viewer_id)
        close_of = self.ports.close_friends().close_of(viewer_id)
        live: dict[int, list[tuple[int, int]]] = {}
        close: set[int] = set()
        for followee in self.ports.follows.following_ids(viewer_id):
            if followee not in left_out:
                stories = [
                    s for s in self._live_records(followee, now) if may_see(s.audience, followee, viewer_id, close_of)
                ]
                if stories:
                    live[followee] = [(s.story_id, s.created_at) for s in stories]
                    close |= {s.story_id for s in stories if s.audience == CLOSE_FRIENDS}
        seen = self.ports.views.seen(viewer_id, [s for stories in live.values() for s, _ in stories])
        return self._order(live, seen, {}, close)

    def _live_records(self, author_id: int, now: int) -> list[StoryRecord]:
        found: list[StoryRecord] = []
        cursor: str | None = None
        while True:
            page, cursor = self.ports.stories.live_by(author_id, now, 50, cursor)
            found.extend(page)
            if cursor is None:
                return found

    # One user's stories

    def of_user(self, viewer_id: int, user_id: int, limit: int, cursor: str | None) -> Page[Story]:
        """A user's live stories, oldest first (a private account's only to its approved followers)."""
        author = self.ports.graph.visible_content_owner(viewer_id, user_id)
        now = self.ports.now_ms()
        live, next_cursor = self.ports.stories.live_by(user_id, now, limit, cursor)
        live = self._for_viewer(viewer_id, user_id, live)
        ids = [r.story_id for r in live]
        counts: list[int | None] = [None] * len(ids)
        try:
            batch = PipelineBatch(self.ports.redis)
            seen_slot = self.ports.cache.queue_seen(batch, viewer_id)
            counts_slot = self.ports.cache.queue_counts(batch, ids) if user_id == viewer_id else None
            batch.execute()
            seen = seen_slot.value
            counts = counts_slot.value if counts_slot else counts
        except RedisError:
            seen = self.ports.views.seen(viewer_id, ids)
        items = []
        for record, count in zip(live, counts, strict=True):
            own = user_id == viewer_id
            view_count = (count if count is not None else self.ports.views.count(record.story_id)) if own else None
            items.append(self._view(record, author, own or record.story_id in seen, view_count))
        return Page[Story](items=items, next_cursor=next_cursor)

    def highlights(self, viewer_id: int, user_id: int, limit: int, cursor: str | None) -> Page[Story]:
        """A user's archived stories, newest first; others see them only while the user keeps highlights on."""
        author = self.ports.graph.visible_content_owner(viewer_id, user_id)
        if user_id != viewer_id and not author.highlights_enabled:
            return Page[Story](items=[], next_cursor=None)
        records, next_cursor = self.ports.highlights.page(user_id, limit, cursor)
        records = self._for_viewer(viewer_id, user_id, records)
        return Page[Story](items=[self._view(r, author, True, None) for r in records], next_cursor=next_cursor)

    def _for_viewer(self, viewer_id: int, author_id: int, records: list[StoryRecord]) -> list[StoryRecord]:
        """The stories the viewer may see: close-friends ones only if the author lists them now (asked only when
        there are such stories, so a page of everyone's stories costs nothing more)."""
        if viewer_id == author_id or all(r.audience != CLOSE_FRIENDS for r in records):
            return records
        close_of = self.ports.close_friends().close_of(viewer_id)
        return [r for r in records if may_see(r.audience, author_id, viewer_id, close_of)]

    def _view(self, record: StoryRecord, author: User, seen: bool, view_count: int | None) -> Story:
        return Story(
            story_id=str(record.story_id),
            author=UserRef(user_id=str(author.user_id), username=author.username),
            created_at=iso(record.created_at),
            expires_at=iso(record.expires_at),
            width=record.width,
            height=record.height,
            blurhash=record.blurhash,
            images={size: ImageFormats(**urls) for size, urls in image_urls(record.images, self._cdn).items()},
            seen=seen,
            view_count=view_count,
            audience=record.audience,
        )

    # Views

    def _story_for(self, viewer_id: int, story_id: int) -> tuple[StoryRecord, bool | None]:
        """The story unless missing, deleted, or its author is in a block relation with the viewer; and whether
        the viewer has seen it (None when Redis cannot say).

        A celebrity's story is read millions of times, more than one DynamoDB item serves: the record is cached in
        Redis and read in the same round trip as the viewer's blocks and whether they saw it.
        """
        seen: bool | None = None
        try:
            batch = PipelineBatch(self.ports.redis)
            cached = self.ports.cache.queue_record(batch, story_id)
            hidden_slot = self.ports.graph.queue_hidden(batch, viewer_id)
            seen_slot = self.ports.cache.queue_has_seen(batch, viewer_id, story_id)
            close_slot = self.ports.close_friends().queue_lookup(batch, viewer_id)
            batch.execute()
            hidden = hidden_slot.value if hidden_slot.value is not None else self.ports.graph.hidden_from(viewer_id)
            story = StoryRecord.model_validate_json(cached.value) if cached.value else None
            seen = seen_slot.value
        except RedisError:
            cached, story, hidden, close_slot = None, None, self.ports.graph.hidden_from(viewer_id), None
        if story is None:
            story = self.ports.stories.get(story_id)
            if story is not None and cached is not None:
                self.ports.cache.put_record(story_id, story.model_dump_json(), self._record_seconds(story))
        if story is None or story.deleted or story.author_id in hidden:
            raise StoryNotFoundError(f"story {story_id} does not exist")
        if story.audience == CLOSE_FRIENDS and story.author_id != viewer_id:
            friends = self.ports.close_friends()
            close_of = friends.resolve(viewer_id, close_slot.value) if close_slot else friends.close_of(viewer_id)
            if story.author_id not in close_of:  # as if it did not exist: nothing tells them there is one
                raise StoryNotFoundError(f"story {story_id} does not exist")
        return story, seen

    def _record_seconds(self, story: StoryRecord) -> int:
        """Cache a record while it can be viewed, and no longer than a day after (its viewer list is read)."""
        return max(60, (story.expires_at - self.ports.now_ms()) // 1000 + 86_400)

    def view(self, viewer_id: int, story_id: int) -> bool:
        """Record that the viewer saw a live story; a viewer counts once. Returns whether this view counted.

        The view is published before it is marked seen: a crash between the two leaves it unmarked, so the
        client's retry publishes again (the viewer list keeps one item per viewer) and counts it then.
        """
        story, seen = self._story_for(viewer_id, story_id)
        now = self.ports.now_ms()
        if story.expires_at <= now:
            raise StoryNotFoundError(f"story {story_id} has expired")
        if story.author_id == viewer_id or seen:
            return False  # authors watching their own story are not viewers; a viewer counts once
        if self.ports.graph.unapproved(viewer_id, [story.author_id]):
            raise PrivateAccountError("this story's author is a private account: follow them to see it")
        event = StoryViewed(
            event_id=f"{story_id}:{viewer_id}",
            occurred_at=now,
            story_id=story_id,
            author_id=story.author_id,
            viewer_id=viewer_id,
            story_expires_at=story.expires_at,
        )
        try:
            self.ports.view_events.publish(event)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ProvisionedThroughputExceededException":
                raise TooManyRequestsError("too many story views right now; try again in a moment") from error
            raise
        measure("StoryViews", 1)  # (a viewer's first view of a story: what its viewer list records)
        try:
            if not self.ports.cache.mark_seen(viewer_id, story_id, now):
                return False  # a concurrent first view counted it
            self.ports.cache.counted(story_id, viewer_id, story.author_id, AFFINITY_WEIGHTS["story_view"])
        except RedisError as error:
            logger.warning("story view not counted live", extra={"error": repr(error)})
        return True

    def delete(self, viewer_id: int, story_id: int) -> None:
        """The author takes a story down: its images, its record, and its place in trays."""
        try:
            story, _ = self._story_for(viewer_id, story_id)
        except StoryNotFoundError:
            kept = self.ports.highlights.get(viewer_id, story_id)  # the record was purged; its highlight remains
            if kept is None:
                raise
            story = kept
        if story.author_id != viewer_id:
            raise ForbiddenError("only the story's author may delete it")
        if not self.remove(story):
            raise StoryNotFoundError(f"story {story_id} does not exist")

    def visible(self, viewer_id: int, story_id: int) -> StoryRecord:
        """A story the viewer may see now (404 otherwise: missing, deleted, blocked, close friends only; 403 for a
        private account the viewer does not follow)."""
        story, _ = self._story_for(viewer_id, story_id)
        if story.author_id != viewer_id and self.ports.graph.unapproved(viewer_id, [story.author_id]):
            raise PrivateAccountError("this story's author is a private account: follow them to see it")
        return story

    def take_down(self, story: StoryRecord) -> None:
        """Take a story (or a highlight whose record was purged) down as its author does, for an account's erasure
        (aperture.erasure). StoryNotFoundError if it was taken down already."""
        if not self.remove(story):
            raise StoryNotFoundError(f"story {story.story_id} does not exist")

    def remove(self, story: StoryRecord) -> bool:
        """Take a story down whoever's it is (its author, a moderator, an erasure): False if it was already gone."""
        # Taken down, with the event that starts its cascade (images, views, trays: aperture.cascade), at once
        event = StoryDeleted(
            event_id=uuid.uuid4().hex,
            occurred_at=self.ports.now_ms(),
            story_id=story.story_id,
            author_id=story.author_id,
            upload_id=story.upload_id,
        )
        if not self.ports.stories.delete(
            story, self.ports.highlights.table, self.ports.uploads.table, event.occurred_at, event
        ):
            return False
        try:  # gone from its author's and viewers' next reads at once (the cascade does it again), and its raw
            # upload now, so no retried processing renders it again
            self.ports.cache.remove_live(story.author_id, [story.story_id], event.occurred_at)
            self.ports.cache.forget_record(story.story_id)
            forget_followers_trays(
                story.author_id, self.ports.cache, self.ports.follows.followers, self.ports.is_celebrity
            )
            self.ports.images.delete(upload_key(story.author_id, story.upload_id))
        except (RedisError, ClientError) as error:
            logger.warning("story deleted; its cached copies wait for the cascade", extra={"error": repr(error)})
        return True

    def viewers(self, viewer_id: int, story_id: int, limit: int, cursor: str | None) -> StoryViewers:
        """Who viewed a story, most recent first, with the count; for the story's author only."""
        story, _ = self._story_for(viewer_id, story_id)
        if story.author_id != viewer_id:
            raise ForbiddenError("only the story's author may see who viewed it")
        views, next_cursor = self.ports.views.page(story_id, limit, cursor)
        people = self.ports.users.get_many(v.viewer_id for v in views)
        hidden = self.ports.graph.hidden_from(viewer_id)
        try:
            batch = PipelineBatch(self.ports.redis)
            count_slot = self.ports.cache.queue_counts(batch, [story_id])
            batch.execute()
            count = count_slot.value[0]
        except RedisError:
            count = None
        if count is None:
            count = story.view_count if story.view_count is not None else self.ports.views.count(story_id)
        return StoryViewers(
            view_count=count,
            items=[
                StoryViewer(
                    user=UserRef(user_id=str(v.viewer_id), username=people[v.viewer_id].username),
                    viewed_at=iso(v.viewed_at),
                )
                for v in views
                if v.viewer_id in people and v.viewer_id not in hidden
            ],
            next_cursor=next_cursor,
        )

    # Ingest, views and expiry (post_ingest, story_views and story_expiry)

    def ingest(self, event: PostReady) -> bool:
        """Write the story and mark its upload ready, then put it live and drop the trays it changes.

        Idempotent: a redelivered event writes nothing new. Returns whether this delivery created the story.
        """
        ports = self.ports
        record = StoryRecord(
            story_id=event.post_id,
            author_id=event.author_id,
            upload_id=event.upload_id,
            width=event.width,
            height=event.height,
            blurhash=event.blurhash,
            images=event.images,
            created_at=event.occurred_at,
            expires_at=event.occurred_at + self._ttl_ms,
            audience=event.audience,
        )
        outcome = ports.stories.publish(record, ports.uploads.table)
        if outcome == "refused":
            return False
        stored = ports.stories.get(record.story_id) if outcome == "exists" else record
        stored = stored or record
        now = ports.now_ms()
        if stored.expires_at > now and not stored.deleted:
            close = stored.audience == CLOSE_FRIENDS
            ports.cache.add_live(stored.author_id, stored.story_id, stored.created_at, now, close)
            forget_followers_trays(stored.author_id, ports.cache, ports.follows.followers, ports.is_celebrity)
        return outcome == "created"

    def restore_live_sets(self) -> int | None:
        """If Redis lost its data, put every live story back into its author's live set (from the expiry index,
        which holds exactly the stories not yet ended or deleted), so trays show them again; the number restored,
        or None when nothing was lost (one EXISTS)."""
        ports = self.ports
        if ports.cache.live_sets_intact():
            return None
        restored = 0
        now = ports.now_ms()
        today = now // DAY_MS
        for day in range(today, today + self._ttl_ms // DAY_MS + 2):
            for shard in range(EXPIRY_SHARDS):
                for story in ports.stories.live_in(day * EXPIRY_SHARDS + shard, now):
                    close = story.audience == CLOSE_FRIENDS
                    ports.cache.add_live(story.author_id, story.story_id, story.created_at, now, close)
                    restored += 1
        ports.cache.mark_live_sets_intact()
        return restored

    def expire(self) -> ExpiryOutcome:
        """End every story whose time is up: archived to highlights if its author keeps them, else its images go.

        Each step is idempotent and the story leaves the expiry index last, so a run that stops midway is finished
        by the next one.
        """
        ports = self.ports
        archived = deleted = 0
        now = ports.now_ms()
        today = now // DAY_MS
        for day in range(today - EXPIRY_LOOKBACK_DAYS, today + 1):
            for shard in range(EXPIRY_SHARDS):
                for story in ports.stories.due(day * EXPIRY_SHARDS + shard, now):
                    author = ports.users.get(story.author_id)
                    count = ports.cache.view_count(story.story_id)
                    if author is not None and author.highlights_enabled:
                        ports.highlights.put(story.model_copy(update={"view_count": count}))
                        outcome = "archived"
                    else:
                        # The raw upload first: a retried processing of it must not render the story again.
                        ports.images.delete(upload_key(story.author_id, story.upload_id))
                        ports.images.delete_under(f"{IMAGE_PREFIX}{story.author_id}/{story.story_id}/")
                        outcome = "deleted"
                    ports.cache.remove_live(story.author_id, [story.story_id], now)
                    if outcome == "deleted":
                        ports.cache.forget_record(story.story_id)
                    if ports.stories.mark_ended(story.story_id, outcome, count):
                        archived += outcome == "archived"
                        deleted += outcome == "deleted"
        return ExpiryOutcome(archived=archived, deleted=deleted)


class StoryViewLog:
    """Who viewed each story, written in batches from the story-views stream (story_views runs outside the VPC,
    with no Redis)."""

    def __init__(self, views: StoryViewRepository, ttl_seconds: int) -> None:
        self._views = views
        self._ttl_ms = ttl_seconds * 1000

    def write(self, events: Iterable[StoryViewed]) -> int:
        """Batch-write viewer-list entries; a redelivered event rewrites the same item."""
        rows = [
            (
                StoryView(story_id=e.story_id, viewer_id=e.viewer_id, viewed_at=e.occurred_at),
                e.story_expires_at or e.occurred_at + self._ttl_ms,  # events from before expires_at was sent: a bound
            )
            for e in events
        ]
        self._views.put_many(rows)
        return len(rows)


def forget_followers_trays(
    author_id: int,
    cache: StoryCache,
    followers: Callable[[int], Iterable[list[int]]],
    is_celebrity: Callable[[int], bool],
) -> None:
    """Drop the trays an author's story change affects; a celebrity's followers notice at read time instead."""
    if not is_celebrity(author_id):
        for page in followers(author_id):
            cache.forget_trays(page)
