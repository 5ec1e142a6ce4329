"""Saved posts: idempotent save and unsave, the saver's list (newest save first), and "saved by me" for any page.

DynamoDB holds every save and is the truth; Redis holds each user's whole list of saved ids (loaded on first use, see
adapters/redis_store/saves.py), so "saved by me" rides in the same pipelined round trip as the rest of a page's
hydration. A save or unsave drops the cached list after its write; a retry of a request that died anywhere drops it
again, so the retry leaves the list right. Saves are private: nothing here answers for anyone but the saver.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from redis.exceptions import RedisError

from aperture.adapters.dynamo.saves import SaveRepository
from aperture.adapters.redis_store.client import PipelineBatch, Slot
from aperture.adapters.redis_store.saves import SAVED_CACHE_CAP, SavedCache, SavedLookup
from aperture.errors import PostNotFoundError
from aperture.models.events import PostSaved
from aperture.models.records import PostRecord
from aperture.observability import logger


class Saves:
    def __init__(self, *, repo: SaveRepository, cache: SavedCache, now_ms: Callable[[], int]) -> None:
        self._repo = repo
        self._cache = cache
        self._now_ms = now_ms

    def set_saved(self, post: PostRecord, user_id: int, saved: bool) -> bool:
        """Save or unsave a post the user may see; repeating either changes nothing. Returns whether it is saved."""
        if saved:
            event = PostSaved(
                event_id=uuid.uuid4().hex,
                occurred_at=self._now_ms(),
                post_id=post.post_id,
                post_author_id=post.author_id,
                user_id=user_id,
            )
            if not self._repo.add(user_id, post.post_id, event.occurred_at, event) and not self._repo.exists(
                user_id, post.post_id
            ):
                raise PostNotFoundError(f"post {post.post_id} does not exist")  # deleted since it was looked up
        else:
            self._repo.remove(user_id, post.post_id)
        try:
            self._cache.invalidate(user_id)  # whether or not this request changed anything: it may be a retry
        except RedisError as error:
            logger.warning("save committed; the cached list stays until it expires", extra={"error": repr(error)})
        return saved

    def page(self, user_id: int, limit: int, cursor: str | None) -> tuple[list[int], str | None]:
        """A page of the user's saved post ids, most recently saved first."""
        return self._repo.page(user_id, limit, cursor)

    def queue_lookup(self, batch: PipelineBatch, user_id: int, post_ids: list[int]) -> Slot[SavedLookup]:
        return self._cache.queue_lookup(batch, user_id, post_ids)

    def resolve(self, user_id: int, post_ids: list[int], lookup: SavedLookup) -> dict[int, bool]:
        """Answers from a pipelined lookup; DynamoDB only when the list was not cached (and then it is cached)."""
        if lookup.loaded:
            return dict(zip(post_ids, lookup.members, strict=True))
        if lookup.over:
            return self.saved_among(user_id, post_ids)
        saved = self._repo.post_ids(user_id, SAVED_CACHE_CAP + 1)
        try:
            self._cache.load(user_id, lookup.generation, saved if len(saved) <= SAVED_CACHE_CAP else None)
        except RedisError as error:
            logger.warning("saved list not cached", extra={"error": repr(error)})
        if len(saved) > SAVED_CACHE_CAP:
            return self.saved_among(user_id, post_ids)
        chosen = set(saved)
        return {post_id: post_id in chosen for post_id in post_ids}

    def saved_among(self, user_id: int, post_ids: list[int]) -> dict[int, bool]:
        """Straight from DynamoDB (Redis down, or a list too long to cache)."""
        found = self._repo.saved_among(user_id, post_ids)
        return {post_id: post_id in found for post_id in post_ids}
