"""Hashtag pages: a tag's posts, newest first (from the hashtags table, with a cursor) or top (by engagement over
the last seven days, from explore's signals), as the viewer may see them.

Left out: posts by anyone in a block relation with the viewer (either way), posts of private accounts the viewer
neither owns nor follows, and posts deleted or removed (the page is hydrated like the feed, which drops them).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from aperture.adapters.dynamo.graph import FollowRepository
from aperture.adapters.dynamo.hashtags import HashtagRepository
from aperture.adapters.dynamo.users import UserRepository
from aperture.adapters.redis_store.search import HashtagTop
from aperture.errors import InvalidInputError
from aperture.graph import Graph
from aperture.models.api import Page, Post
from aperture.posts import PostViews

TAG = re.compile(r"^\w{1,100}$")
Order = Literal["recent", "top"]
TOP_READ_FACTOR = 2  # top posts read per post shown, so that the ones left out rarely shorten the page


@dataclass(frozen=True, kw_only=True)
class HashtagPagePorts:
    hashtags: HashtagRepository
    users: UserRepository
    follows: FollowRepository
    graph: Graph
    views: PostViews
    top: HashtagTop
    now_ms: Callable[[], int]


def parse_tag(tag: str) -> str:
    """A tag as stored (lowercase, no #); 422 for anything no post could be filed under."""
    if not TAG.match(tag):
        raise InvalidInputError("a hashtag is 1 to 100 letters, digits or _")
    return tag.lower()


class HashtagPages:
    def __init__(self, ports: HashtagPagePorts) -> None:
        self._p = ports

    def page(self, viewer_id: int, tag: str, order: Order, limit: int, cursor: str | None) -> Page[Post]:
        tag = parse_tag(tag)
        if order == "top":
            if cursor:
                raise InvalidInputError("the top posts are one page: send no cursor")
            ids = self._p.top.top(tag, self._p.now_ms(), limit * TOP_READ_FACTOR)
            # (the week's engagement was counted under the tags a post had then: an edit may have dropped this one)
            posts = [p for p in self._p.views.many(viewer_id, ids) if tag in {t.lower() for t in p.hashtags}]
            return Page[Post](items=self._shown(viewer_id, posts)[:limit], next_cursor=None)
        entries, next_cursor = self._p.hashtags.page(tag, limit, cursor)
        posts = self._p.views.many(viewer_id, [post_id for post_id, _ in entries])
        return Page[Post](items=self._shown(viewer_id, posts), next_cursor=next_cursor)

    def _shown(self, viewer_id: int, posts: list[Post]) -> list[Post]:
        """Without posts of private accounts the viewer neither is nor follows (blocks and deleted posts are left
        out by the hydration already)."""
        authors = {int(p.author.user_id) for p in posts} - {viewer_id}
        private = {a for a, user in self._p.users.get_many(authors).items() if user.private}
        allowed = self._p.follows.following_among(viewer_id, private) if private else set()
        return [p for p in posts if int(p.author.user_id) not in private - allowed]
