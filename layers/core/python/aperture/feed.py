"""The home feed: a page of the viewer's timeline, hydrated, with a cursor to the next one."""

from __future__ import annotations

from aperture.adapters.redis_store import Timeline
from aperture.models.api import Page, Post
from aperture.posts import PostViews

MAX_REFILLS = 5


def read_feed(viewer_id: int, cursor: int | None, limit: int, timeline: Timeline, views: PostViews) -> Page[Post]:
    """Posts older than `cursor`, newest first.

    Ids whose post is gone are skipped and the page is refilled from further down the timeline,
    so a page comes back short only when the timeline has nothing older.
    """
    items: list[Post] = []
    before = cursor
    exhausted = False
    for _ in range(MAX_REFILLS):
        wanted = limit - len(items)
        ids = timeline.page(viewer_id, before, wanted)
        items.extend(views.many(viewer_id, ids))
        before = ids[-1] if ids else before
        exhausted = len(ids) < wanted
        if exhausted or len(items) >= limit:
            break
    # The cursor is the last id read, shown or skipped, so a skipped id is never read twice.
    next_cursor = None if exhausted or before is None else str(before)
    return Page[Post](items=items, next_cursor=next_cursor)
