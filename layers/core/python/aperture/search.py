"""Search: people by the start of their username or display name, hashtags by prefix, and the index behind both.

The index (adapters/redis_store/search.py) is kept from committed events, never from the request that made a
change: a sign-up or a profile change writes a UserChanged event with the profile, a post's PostPublished,
PostEdited and PostDeleted events are written with the post's own transactions, and the relay applies each once it
is committed.
Every application is replay-safe: a user's entries are set to what the profile says now (a consistent read), a post
joins or leaves a tag in a conditional transaction that moves the tag's count once, and Redis gets the counts as
absolute values. The index is rebuilt from the users and hashtags tables by `rebuild`; the week's engagement per
tag behind hashtag pages' Top lives in Redis alone (explore's signals), so a lost Redis starts it afresh.

Names are compared folded: Unicode NFKD, combining marks dropped, casefolded ("Zoë" and "ZOE" both fold to "zoe").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from aperture.adapters.dynamo.graph import FollowRepository
from aperture.adapters.dynamo.hashtags import HashtagRepository
from aperture.adapters.dynamo.posts import PostRepository
from aperture.adapters.dynamo.users import UserRepository
from aperture.adapters.redis_store.search import HashtagSearchIndex, UserSearchIndex
from aperture.graph import Graph
from aperture.models.api import HashtagResult, UserResult
from aperture.models.events import AnyEvent, PostDeleted, PostEdited, PostPublished, UserChanged
from aperture.models.records import User
from aperture.observability import logger

# Users read from the index per query, then ranked (followed first, then follower count). A query of at least three
# characters reads one bucket, which holds every match in practice; a shorter one ranks the first matches in name
# order (docs/search.md).
USER_CANDIDATES = 200
REBUILD_PAGE = 1_000
_TAG = re.compile(r"^\w+$")


def fold(text: str) -> str:
    """Case- and accent-insensitive form: NFKD, without combining marks, casefolded."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def indexed_names(user: User) -> list[str]:
    return [fold(user.username), fold(user.display_name)]


def tag_query(q: str) -> str | None:
    """A hashtag query as stored tags are written (lowercase, without the #); None if no tag could match it."""
    tag = q.removeprefix("#").lower()
    return tag if _TAG.match(tag) else None


@dataclass(frozen=True, kw_only=True)
class SearchIndexPorts:
    users: UserRepository
    posts: PostRepository
    hashtags: HashtagRepository
    user_index: UserSearchIndex
    hashtag_index: HashtagSearchIndex


class SearchIndexer:
    """Applies committed events to the index; each application may be repeated, in any order, to the same end."""

    def __init__(self, ports: SearchIndexPorts) -> None:
        self._users = ports.users
        self._posts = ports.posts
        self._hashtags = ports.hashtags
        self._user_index = ports.user_index
        self._hashtag_index = ports.hashtag_index

    def apply(self, event: AnyEvent) -> None:
        if isinstance(event, UserChanged):
            self.user_changed(event)
        elif isinstance(event, PostPublished):
            self.post_published(event)
        elif isinstance(event, PostDeleted):
            self.post_deleted(event)
        elif isinstance(event, PostEdited):
            self.post_edited(event)

    def user_changed(self, event: UserChanged) -> None:
        """The user's entries become what the profile says now: an older event applied late, or twice, can only
        take out names the profile no longer has."""
        current = self._users.get_consistent(event.user_id)
        mentioned = [fold(event.username), fold(event.display_name), *(fold(n) for n in event.previous_names)]
        names = indexed_names(current) if current else []
        self._user_index.replace(event.user_id, mentioned, names)

    def post_published(self, event: PostPublished) -> None:
        post = self._posts.get(event.post_id, consistent=True)  # (a stale miss would read as "deleted")
        if post is None:
            return  # deleted before its tags were filed: nothing to file (its deletion uncounted nothing)
        tags = list(dict.fromkeys(t.lower() for t in post.hashtags))
        for tag in tags:
            self._hashtags.join(tag, post.post_id, post.author_id)
        self._hashtag_index.set_counts(self._hashtags.counts(tags))

    def post_deleted(self, event: PostDeleted) -> None:
        tags = list(dict.fromkeys(t.lower() for t in event.hashtags))
        for tag in tags:
            self._hashtags.leave(tag, event.post_id)
        self._hashtag_index.set_counts(self._hashtags.counts(tags))

    def post_edited(self, event: PostEdited) -> None:
        """An edit's tags before and after: each joins or leaves as the post says now (a consistent read), so an
        edit applied late, twice or after a later one leaves the post filed under exactly its current tags."""
        post = self._posts.get(event.post_id, consistent=True)
        now = {t.lower() for t in post.hashtags} if post is not None else set()
        touched = list(dict.fromkeys(t.lower() for t in (*event.previous_hashtags, *event.hashtags)))
        for tag in touched:
            if tag in now and post is not None:
                self._hashtags.join(tag, post.post_id, post.author_id)
            else:
                self._hashtags.leave(tag, event.post_id)
        self._hashtag_index.set_counts(self._hashtags.counts(touched))

    def rebuild(self) -> int:
        """Index every user and every tag's count from DynamoDB (after Redis was lost); returns the users indexed.
        Events applied meanwhile are current, so indexing over them changes nothing."""
        indexed = 0
        for page in self._users.scan_pages(REBUILD_PAGE):
            self._user_index.add_many([(u.user_id, indexed_names(u)) for u in page])
            indexed += len(page)
        for counts in self._hashtags.all_counts():
            self._hashtag_index.set_counts(counts)
        self._user_index.mark_built()
        logger.info("search index rebuilt", extra={"users": indexed})
        return indexed

    def ensure_built(self) -> int:
        """Rebuild only if the index lacks its mark (a new or emptied Redis); returns the users indexed."""
        return 0 if self._user_index.built() else self.rebuild()


@dataclass(frozen=True, kw_only=True)
class SearchPorts:
    users: UserRepository
    follows: FollowRepository
    graph: Graph
    user_index: UserSearchIndex
    hashtag_index: HashtagSearchIndex


class Search:
    def __init__(self, ports: SearchPorts, candidates: int = USER_CANDIDATES) -> None:
        self._users = ports.users
        self._follows = ports.follows
        self._graph = ports.graph
        self._user_index = ports.user_index
        self._hashtag_index = ports.hashtag_index
        self._candidates = candidates

    def users(self, viewer_id: int, q: str, limit: int) -> list[UserResult]:
        """People whose username or display name starts with `q` (folded): those the viewer follows first, then by
        follower count. Nobody in a block relation with the viewer, either way."""
        query = fold(q)
        if not query.strip():
            return []
        ids = self._user_index.prefix(query, self._candidates)
        hidden = self._graph.hidden_from(viewer_id)
        found = self._users.get_many(i for i in ids if i not in hidden)
        # The profile decides, not the index: an entry left by a name changed since, or cut short, matches no more
        matching = [u for u in found.values() if any(n.startswith(query) for n in indexed_names(u))]
        followed = self._follows.following_among(viewer_id, [u.user_id for u in matching])
        matching.sort(key=lambda u: (u.user_id not in followed, -u.follower_count, u.username))
        return [
            UserResult(
                user_id=str(u.user_id),
                username=u.username,
                display_name=u.display_name,
                follower_count=max(0, u.follower_count),
                following=u.user_id in followed,
            )
            for u in matching[:limit]
        ]

    def hashtags(self, q: str, limit: int) -> list[HashtagResult]:
        """Tags starting with `q` (a leading # ignored), most used first."""
        tag = tag_query(q)
        if tag is None:
            return []
        return [HashtagResult(tag=t, post_count=n) for t, n in self._hashtag_index.prefix(tag, limit)]


SearchFactory = Callable[[], Search]
