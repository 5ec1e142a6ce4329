"""Likes: idempotent like and unlike, live counts, and "did I like it" for posts of any size.

DynamoDB holds every like and is the truth; Redis holds the live count and the answer to "did I like it":
a set of likers, or past a threshold a Bloom filter whose "yes" is confirmed against DynamoDB. Losing Redis
loses nothing: the first use of a post whose cache is gone rebuilds it from DynamoDB.

A like or unlike is written with its event in one transaction (the outbox). Its effect on the live cache is
applied once per event, by whichever comes first of the request that made it and the relay that publishes the
event: so a request that fails after the write (Redis down a moment) still gets its count right, from the relay.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterable

from redis.exceptions import RedisError

from aperture.adapters.dynamo.likes import LikeRepository
from aperture.adapters.redis_store.affinity import AffinityStore
from aperture.adapters.redis_store.likes import (
    LIKE_APPLIED_SECONDS,
    LIKED,
    MAYBE,
    UNKNOWN,
    LikeCache,
    like_lock_key,
    like_rebuild_key,
)
from aperture.bloom import ScalableBloom
from aperture.errors import ConflictError
from aperture.models.events import LikeChanged
from aperture.models.records import PostRecord
from aperture.observability import logger
from aperture.ranking import AFFINITY_WEIGHTS

LOCK_MS = 5_000
LOCK_WAIT_SECONDS = 5.0
BLOOM_FALSE_POSITIVE_RATE = 0.01


class Likes:
    def __init__(
        self,
        *,
        repo: LikeRepository,
        cache: LikeCache,
        threshold: int,
        now_ms: Callable[[], int],
        pause: Callable[[float], None] = time.sleep,
        affinity: AffinityStore | None = None,
    ) -> None:
        self._affinity = affinity
        self._repo = repo
        self._cache = cache
        self._threshold = threshold
        self._now_ms = now_ms
        self._pause = pause

    @property
    def cache(self) -> LikeCache:
        return self._cache

    def confirm(self, user_id: int, post_id: int, state: int) -> bool:
        """Turn a cached state into an answer, asking DynamoDB only for a Bloom "maybe" or a lost cache."""
        if state in (MAYBE, UNKNOWN):
            return self._repo.exists(post_id, user_id)
        return state == LIKED

    def _locked(self, key: str) -> str:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            token = self._cache.lock(key, LOCK_MS)
            if token:
                return token
            if time.monotonic() > deadline:
                raise ConflictError("another change to this like is in progress; try again")
            self._pause(0.005)  # back off while the holder finishes a few Redis and DynamoDB calls

    def set_liked(self, post: PostRecord, user_id: int, liked: bool) -> tuple[bool, int]:
        """Like or unlike; repeating either changes nothing. Returns (liked, live count)."""
        lock = like_lock_key(post.post_id, user_id)
        try:
            token: str | None = self._locked(lock)
        except RedisError:
            token = None  # Redis is down: DynamoDB's transaction decides alone, and the relay applies it later
        try:
            event = LikeChanged(
                event_id=uuid.uuid4().hex,
                occurred_at=self._now_ms(),
                post_id=post.post_id,
                post_author_id=post.author_id,
                user_id=user_id,
                liked=liked,
            )
            changed = (
                self._repo.add(post.post_id, user_id, event.occurred_at, event)
                if liked
                else self._repo.remove(post.post_id, user_id, event)
            )
            if changed:
                try:
                    self.apply(event)
                except RedisError as error:
                    # Committed with its event: the relay applies it to the live cache when Redis is back.
                    logger.warning("like committed; its live count waits for the relay", extra={"error": repr(error)})
                if self._affinity is not None:
                    weight = AFFINITY_WEIGHTS["like"]
                    with contextlib.suppress(RedisError):
                        self._affinity.record(user_id, post.author_id, post.hashtags, weight if liked else -weight)
        finally:
            if token is not None:
                with contextlib.suppress(RedisError):
                    self._cache.unlock(lock, token)
        return liked, self.counts([post])[post.post_id]

    def apply(self, event: LikeChanged) -> None:
        """The live cache's side of a committed like change, once per event (a replay changes nothing)."""
        if not event.liked:
            if self._cache.removed(event.post_id, event.user_id, event.event_id) is None:
                self.rebuild(event.post_id)
            return
        result = self._cache.added(event.post_id, event.user_id, event.event_id)
        if result is None:
            self.rebuild(event.post_id)
            return
        _, set_size = result
        if set_size > self._threshold:  # (-1: in Bloom mode already, its bits set by the same script)
            self._cache.migrate_to_bloom(event.post_id)

    def reconcile(self, event: LikeChanged) -> None:
        """The relay's apply, under the pair's lock (so no request changes the like between the check and the
        apply): only if the like is still as the event says (a later change has its own event). An event older
        than half the window its applied mark is kept (a redrive, a long outage) rebuilds the cache instead."""
        if self._now_ms() - event.occurred_at > LIKE_APPLIED_SECONDS * 1000 // 2:
            self.rebuild(event.post_id)
            return
        lock = like_lock_key(event.post_id, event.user_id)
        token = self._locked(lock)
        try:
            if self._repo.exists(event.post_id, event.user_id) == event.liked:
                self.apply(event)
        finally:
            self._cache.unlock(lock, token)

    def rebuild(self, post_id: int) -> None:
        """Reload a post's count and likers from DynamoDB (after Redis lost them)."""
        lock = like_rebuild_key(post_id)
        token = self._cache.lock(lock, 60_000)
        if token is None:
            return  # someone else is rebuilding; until done, readers fall back to DynamoDB
        try:
            likers = [user for page in self._repo.likers(post_id) for user in page]
            if len(likers) > self._threshold:
                self._cache.rebuild(post_id, len(likers), None, likers)
            else:
                self._cache.rebuild(post_id, len(likers), likers, None)
        finally:
            self._cache.unlock(lock, token)

    def counts(self, posts: Iterable[PostRecord]) -> dict[int, int]:
        """Live counts, in one round trip; a post whose cache is gone shows its last flushed count."""
        records = list(posts)
        try:
            live = self._cache.counts([p.post_id for p in records])
        except RedisError:
            live = [None] * len(records)  # Redis is down: the counts flushed to DynamoDB will do
        return {p.post_id: max(0, n if n is not None else p.like_count) for p, n in zip(records, live, strict=True)}

    def liked_by(self, user_id: int, post_ids: list[int]) -> dict[int, bool]:
        """Whether the user liked each post: one Redis round trip, DynamoDB only to confirm a Bloom "maybe"."""
        try:
            states = self._cache.states(post_ids, user_id)
        except RedisError:
            states = [UNKNOWN] * len(post_ids)  # Redis is down: DynamoDB answers
        answers = {}
        for post_id, state in zip(post_ids, states, strict=True):
            if state in (MAYBE, UNKNOWN):
                answers[post_id] = self._repo.exists(post_id, user_id)
            else:
                answers[post_id] = state == LIKED
        return answers


def scalable_bloom(threshold: int, max_capacity: int) -> ScalableBloom:
    """A post's filter: its first layer holds twice the set threshold (a post just past it takes a few tens of KB),
    and layers four times larger each are added as likes come, up to `max_capacity` at 1% false positives."""
    first = max(1, 2 * threshold)
    return ScalableBloom(first_capacity=first, rate=BLOOM_FALSE_POSITIVE_RATE, max_capacity=max(first, max_capacity))


def flush_counts(cache: LikeCache, write: Callable[[int, int], None], batch: int = 500) -> int:
    """Write every changed live count to DynamoDB; a failed write goes back on the list. Returns posts flushed."""
    flushed = 0
    while True:
        post_ids = cache.take_dirty(batch)
        if not post_ids:
            return flushed
        counts = cache.counts(post_ids)
        for index, (post_id, count) in enumerate(zip(post_ids, counts, strict=True)):
            if count is None:
                continue  # the cache was lost; the next like rebuilds it from DynamoDB
            try:
                write(post_id, max(0, count))
            except Exception:
                cache.mark_dirty(post_ids[index:])
                raise
            flushed += 1
