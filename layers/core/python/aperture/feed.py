"""The home feed: the viewer's timeline merged with their celebrities' recent posts, hydrated, with a cursor."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError

from aperture.activity import ActivityLog, Impression
from aperture.adapters.redis_store.affinity import AffinityStore
from aperture.adapters.redis_store.client import PipelineBatch, round_trips
from aperture.adapters.redis_store.timeline import Position, Timeline
from aperture.errors import InvalidCursorError
from aperture.fanout import Fanout
from aperture.graph import Graph
from aperture.ids import first_id_at, id_timestamp_ms
from aperture.models.api import Page, Post
from aperture.models.records import PostRecord
from aperture.observability import correlation_id, count, logger, measure, timed
from aperture.posts import PostViews
from aperture.ranking import Candidate, RankingModel, features, rank_by

MAX_REFILLS = 5
CURSOR = re.compile(r"(?:(\d{1,16})-)?(\d{1,20})")


def encode_cursor(position: Position) -> str:
    return f"{position.ms}-{position.post_id}"


def decode_cursor(cursor: str | None) -> Position | None:
    """A cursor we issued ("<ms>-<post_id>"), or a bare post id as the seed describes it."""
    if not cursor:
        return None
    match = CURSOR.fullmatch(cursor)
    if match is None:
        raise InvalidCursorError("the cursor is not valid; start again without one")
    post_id = int(match.group(2))
    return Position(int(match.group(1)) if match.group(1) else id_timestamp_ms(post_id), post_id)


@dataclass(frozen=True, kw_only=True)
class FeedPorts:
    timeline: Timeline
    views: PostViews
    fanout: Fanout
    graph: Graph
    affinity: AffinityStore
    redis_client: Any
    # DynamoDB's answers, for when Redis is down
    following_ids: Callable[[int], list[int]]
    latest_by: Callable[[int, int, int | None], list[PostRecord]]
    model: Callable[[], RankingModel]
    now_ms: Callable[[], int]
    # Where each ranked page's impressions go, with the features the model saw (aperture.activity)
    activity: ActivityLog


class Feed:
    """The home feed: a page from the pushed timeline and followed celebrities, or from DynamoDB without Redis."""

    def __init__(self, ports: FeedPorts) -> None:
        self.ports = ports

    def page(self, viewer_id: int, cursor: str | None, limit: int, order: str = "ranked") -> Page[Post]:
        """The page after `cursor` (one we issued, or a bare post id); never a 500 for a cache outage. Its build
        time and Redis round trips are metrics (FeedLatency, FeedRoundTrips)."""
        position = decode_cursor(cursor)
        trips = round_trips()
        with timed("FeedLatency"):
            try:
                page = self.from_cache(viewer_id, position, limit, ranked=order == "ranked")
            except RedisError as error:
                logger.warning("feed built without Redis", extra={"error": repr(error)})
                count("FeedDegraded", function="feed")
                page = self.from_tables(viewer_id, position, limit)
        measure("FeedRoundTrips", round_trips() - trips)
        return page

    def from_cache(self, viewer_id: int, cursor: Position | None, limit: int, ranked: bool = False) -> Page[Post]:
        """Posts older than `cursor`, newest first: the pushed timeline merged with followed celebrities' posts.

        Three Redis round trips on a warm cache: the timeline page with the viewer's activity, celebrities,
        blocks and mutes (and affinities when ranked); the celebrities' recent posts; and everything hydration
        needs. A viewer back after the inactivity window gets their timeline rebuilt first, so the feed is never
        empty for having been away. Posts that are gone or hidden are skipped and the page refilled from further
        down, so a page comes back short only when nothing older exists. Muted celebrities are left out before the
        merge; a muted account's pushed posts stay in the timeline (so unmuting brings them straight back) and are
        skipped like hidden ones. When `ranked`, the page is then ordered by the model.
        """
        ports = self.ports
        batch = PipelineBatch(ports.redis_client)
        was_active, celebrities_slot, first_page = ports.timeline.queue_open(batch, viewer_id, cursor, limit)
        hidden_slot = ports.graph.queue_hidden(batch, viewer_id)
        muted_slot = ports.graph.queue_muted(batch, viewer_id)
        affinity_slot = ports.affinity.queue_all(batch, viewer_id) if ranked else None
        batch.execute()
        pushed: list[Position] | None = first_page.value
        celebrities = celebrities_slot.value
        if not was_active.value:
            ports.fanout.rebuild(viewer_id)  # (which also settles, from DynamoDB, which followees are celebrities)
            pushed, celebrities = None, ports.timeline.celebrities_followed(viewer_id)
        hidden = hidden_slot.value if hidden_slot.value is not None else ports.graph.hidden_from(viewer_id)
        muted = muted_slot.value if muted_slot.value is not None else ports.graph.muted_by(viewer_id)
        celebrities = [c for c in celebrities if c not in muted]  # (left out before the merge: nothing to refill)
        items: list[Post] = []
        before = cursor
        exhausted = False
        for _ in range(MAX_REFILLS):
            wanted = limit - len(items)
            if pushed is None:
                pushed = ports.timeline.positions(viewer_id, before, wanted)
            merged = sorted(set(pushed) | set(ports.fanout.recent(celebrities, before, wanted)), reverse=True)
            merged = merged[:wanted]
            # Muted authors are dropped here rather than through `hidden`, which also hides comments: a mute does not.
            shown = ports.views.many(viewer_id, [p.post_id for p in merged], hidden=hidden)
            items.extend(p for p in shown if int(p.author.user_id) not in muted)
            before = merged[-1] if merged else before
            exhausted = len(merged) < wanted
            pushed = None
            if exhausted or len(items) >= limit:
                break
        # The cursor is the last position read, shown or skipped, so a skipped post is never read twice.
        next_cursor = None if exhausted or before is None else encode_cursor(before)
        page = Page[Post](items=items, next_cursor=next_cursor)
        if affinity_slot is not None:
            model, now = ports.model(), ports.now_ms()
            page, impressions = rank_page(viewer_id, page, model, *affinity_slot.value, now)
            ports.activity.record(impressions)  # (best effort: a Redis failure loses the records, not the page)
        return page

    def from_tables(self, viewer_id: int, cursor: Position | None, limit: int) -> Page[Post]:
        """The feed built from DynamoDB alone, for when Redis is down: each followee's posts older than the cursor,
        merged. Slower (a query per followee) but exact at any depth; the same cursor works in both modes."""
        muted = self.ports.graph.muted_by(viewer_id)  # (from DynamoDB, Redis being down)
        authors = [viewer_id, *(f for f in self.ports.following_ids(viewer_id) if f not in muted)]
        # Every post older than the cursor has a smaller id than the first id of the cursor's next millisecond
        # (ids are issued at upload, before publication), so each author's query starts there and the exact order
        # is checked below. A few extra per author cover posts published after the cursor but uploaded before it.
        below = max(first_id_at(cursor.ms + 1), cursor.post_id) if cursor else None
        depth = limit + 5
        entries = sorted(
            (
                Position(record.created_at, record.post_id)
                for author in authors
                for record in self.ports.latest_by(author, depth, below)
            ),
            reverse=True,
        )
        older = [p for p in entries if cursor is None or p < cursor][:limit]
        items = self.ports.views.many(viewer_id, [p.post_id for p in older])
        next_cursor = encode_cursor(older[-1]) if len(older) == limit else None
        return Page[Post](items=items, next_cursor=next_cursor)


def rank_page(
    viewer_id: int,
    page: Page[Post],
    model: RankingModel,
    author_weights: dict[int, float],
    topic_weights: dict[str, float],
    now_ms: int,
) -> tuple[Page[Post], list[Impression]]:
    """The same page, best first by the model, and an impression of each post as shown: its position and the
    features the model ranked it by (computed once, for both). The cursor stays the page's time boundary, so paging
    stays exact."""
    candidates = [
        Candidate(
            post_id=int(p.post_id),
            author_id=int(p.author.user_id),
            created_at=int(datetime.fromisoformat(p.created_at).timestamp() * 1000),
            like_count=p.like_count,
            comment_count=p.comment_count,
            hashtags=tuple(t.lower() for t in p.hashtags),
        )
        for p in page.items
    ]
    topics = {t.lower(): w for t, w in topic_weights.items()}
    inputs = {c.post_id: features(c, now_ms, author_weights, topics) for c in candidates}
    order = rank_by(candidates, [inputs[c.post_id] for c in candidates], model)
    by_id = {int(p.post_id): p for p in page.items}
    request_id = correlation_id()
    impressions = [
        Impression(
            surface="feed",
            viewer_id=viewer_id,
            post_id=post_id,
            author_id=int(by_id[post_id].author.user_id),
            position=position,
            served_at=now_ms,
            model=model.version,
            features=inputs[post_id],
            request_id=request_id,
        )
        for position, post_id in enumerate(order)
    ]
    return Page[Post](items=[by_id[i] for i in order], next_cursor=page.next_cursor), impressions
