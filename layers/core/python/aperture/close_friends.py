"""Close friends: each user's list, and whose close-friends stories a viewer may see, decided when they look.

DynamoDB holds the list both ways (adapters/dynamo/close_friends.py) and is the truth. Redis caches, per viewer, the
authors who list them (loaded from a consistent read, guarded by a generation as saved lists are), and every story
read (the tray, a user's stories, highlights, a view) asks it in the same pipelined round trip as the rest: nothing
about audiences is baked into fanned-out or precomputed data (a cached tray records the answer it was built with and
is rebuilt when the answer differs). An add or removal drops the friend's cached answer after its write; if Redis
refuses, the answer is 503 and the client's retry drops it (the write is already there and is not made twice), so a
removed friend never keeps seeing close-friends stories after a successful answer.
"""

from __future__ import annotations

from collections.abc import Callable

from redis.exceptions import RedisError

from aperture.adapters.dynamo.close_friends import CloseFriendOfRepository, CloseFriendRepository
from aperture.adapters.dynamo.users import UserRepository
from aperture.adapters.redis_store.client import PipelineBatch, Slot
from aperture.adapters.redis_store.close_friends import CloseFriendsCache, CloseOfLookup
from aperture.errors import ForbiddenError, InvalidInputError, ServiceUnavailableError, UserNotFoundError
from aperture.graph import Graph
from aperture.models.api import Page, UserRef
from aperture.observability import logger

EVERYONE, CLOSE_FRIENDS = "everyone", "close_friends"


class Audiences:
    """Whose close-friends stories each viewer may see, as of now."""

    def __init__(self, *, repo: CloseFriendOfRepository, cache: CloseFriendsCache) -> None:
        self._repo = repo
        self._cache = cache

    def queue_lookup(self, batch: PipelineBatch, viewer_id: int) -> Slot[CloseOfLookup]:
        return self._cache.queue_lookup(batch, viewer_id)

    def resolve(self, viewer_id: int, lookup: CloseOfLookup) -> set[int]:
        """The authors who list the viewer, from a pipelined lookup; DynamoDB when not cached (and then cached)."""
        if lookup.loaded:
            return lookup.authors
        authors = self._repo.close_friend_of(viewer_id)
        try:
            self._cache.load(viewer_id, lookup.generation, authors)
        except RedisError as error:
            logger.warning("close-friend answer not cached", extra={"error": repr(error)})
        return authors

    def close_of(self, viewer_id: int) -> set[int]:
        """The authors who list the viewer as a close friend (one round trip; DynamoDB if Redis is away)."""
        try:
            batch = PipelineBatch(self._cache.client)
            slot = self.queue_lookup(batch, viewer_id)
            batch.execute()
        except RedisError:
            return self._repo.close_friend_of(viewer_id)
        return self.resolve(viewer_id, slot.value)

    def changed(self, viewer_id: int) -> None:
        """Someone added or removed the viewer: their cached answer goes (raises if Redis refuses)."""
        self._cache.invalidate(viewer_id)


def may_see(audience: str, author_id: int, viewer_id: int, close_of: set[int]) -> bool:
    """Whether a story with this audience is shown to the viewer: everyone's always; close friends' only to its
    author and to those the author lists at the time of viewing."""
    return audience != CLOSE_FRIENDS or viewer_id == author_id or author_id in close_of


class CloseFriends:
    """Each user's list: add, remove (idempotent), and page through it."""

    def __init__(
        self,
        *,
        repo: CloseFriendRepository,
        audiences: Audiences,
        graph: Graph,
        users: UserRepository,
        now_ms: Callable[[], int],
    ) -> None:
        self._repo = repo
        self._audiences = audiences
        self._graph = graph
        self._users = users
        self._now_ms = now_ms

    def set_close_friend(self, owner_id: int, friend_id: int, close: bool) -> bool:
        """Add to or remove from the owner's list; repeating either changes nothing. Yourself: 422; a missing user
        or one who blocks you: 404; someone you block: 403 (to add)."""
        if owner_id == friend_id:
            raise InvalidInputError("you cannot add yourself to your close friends")
        if close:
            # 404 for a missing user or one who blocks the owner (as everywhere); 403 for one the owner blocks
            if self._graph.relationship(owner_id, friend_id).blocking:
                raise ForbiddenError("you block this user; unblock them first")
            self._repo.add(owner_id, friend_id, self._now_ms())
        else:
            if self._users.get(friend_id) is None:
                raise UserNotFoundError(f"user {friend_id} does not exist")
            self._repo.remove(owner_id, friend_id)
        try:
            self._audiences.changed(friend_id)  # whether or not this attempt changed anything: it may be a retry
        except RedisError as error:
            logger.warning("close friends changed; the cached answer is not dropped", extra={"error": repr(error)})
            message = "your close friends list is saved but not in force yet; send it again"
            raise ServiceUnavailableError(message) from error
        return close

    def page(self, owner_id: int, limit: int, cursor: str | None) -> Page[UserRef]:
        """A page of the owner's close friends (leaving out anyone now in a block with them)."""
        ids, next_cursor = self._repo.page(owner_id, limit, cursor)
        hidden = self._graph.hidden_from(owner_id)
        found = self._users.get_many(i for i in ids if i not in hidden)
        people = [UserRef(user_id=str(i), username=found[i].username) for i in ids if i in found]
        return Page[UserRef](items=people, next_cursor=next_cursor)
