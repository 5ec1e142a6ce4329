"""The home feed: the viewer's timeline merged with their celebrities' recent posts, hydrated, with a cursor."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from aperture.adapters.redis_store import AffinityStore, Position, Timeline
from aperture.errors import InvalidCursorError
from aperture.ids import id_timestamp_ms
from aperture.models.api import Page, Post
from aperture.models.records import PostRecord
from aperture.posts import PostViews
from aperture.ranking import Candidate, RankingModel, rank

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


def read_feed(
    viewer_id: int,
    cursor: Position | None,
    limit: int,
    timeline: Timeline,
    views: PostViews,
    rebuild: Callable[[int], object],
) -> Page[Post]:
    """Posts older than `cursor`, newest first: the pushed timeline merged with followed celebrities' posts.

    A viewer back after the inactivity window gets their timeline rebuilt first, so the feed is never empty
    for having been away. Posts that are gone or hidden are skipped and the page refilled from further down,
    so a page comes back short only when nothing older exists.
    """
    if not timeline.touch(viewer_id):
        rebuild(viewer_id)
    celebrities = timeline.celebrities_followed(viewer_id)
    items: list[Post] = []
    before = cursor
    exhausted = False
    for _ in range(MAX_REFILLS):
        wanted = limit - len(items)
        pushed = timeline.positions(viewer_id, before, wanted)
        merged = sorted(set(pushed) | set(timeline.recent(celebrities, before, wanted)), reverse=True)[:wanted]
        items.extend(views.many(viewer_id, [p.post_id for p in merged]))
        before = merged[-1] if merged else before
        exhausted = len(merged) < wanted
        if exhausted or len(items) >= limit:
            break
    # The cursor is the last position read, shown or skipped, so a skipped post is never read twice.
    next_cursor = None if exhausted or before is None else encode_cursor(before)
    return Page[Post](items=items, next_cursor=next_cursor)


def read_feed_without_redis(
    viewer_id: int,
    cursor: Position | None,
    limit: int,
    followees: Callable[[int], list[int]],
    recent_posts: Callable[[int, int], list[PostRecord]],
    views: PostViews,
) -> Page[Post]:
    """The feed built from DynamoDB alone, for when Redis is down: each followee's latest posts, merged.

    Slower (a query per followee) but complete for recent posts; the same cursor works in both modes.
    """
    authors = [viewer_id, *followees(viewer_id)]
    depth = limit * 3  # per author: enough for this page even when the cursor sits deep
    entries = sorted(
        (Position(record.created_at, record.post_id) for author in authors for record in recent_posts(author, depth)),
        reverse=True,
    )
    older = [p for p in entries if cursor is None or p < cursor][:limit]
    items = views.many(viewer_id, [p.post_id for p in older])
    next_cursor = encode_cursor(older[-1]) if len(older) == limit else None
    return Page[Post](items=items, next_cursor=next_cursor)


def rank_page(
    viewer_id: int, page: Page[Post], model: RankingModel, affinity: AffinityStore, now_ms: int
) -> Page[Post]:
    """The same page, best first by the model; the cursor stays the page's time boundary, so paging stays exact."""
    if len(page.items) < 2:
        return page
    authors = sorted({int(p.author.user_id) for p in page.items})
    topics = sorted({tag for p in page.items for tag in p.hashtags})
    author_weights, topic_weights = affinity.read(viewer_id, authors, topics)
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
    order = rank(candidates, model, now_ms, author_weights, {t.lower(): w for t, w in topic_weights.items()})
    by_id = {int(p.post_id): p for p in page.items}
    return Page[Post](items=[by_id[i] for i in order], next_cursor=page.next_cursor)
