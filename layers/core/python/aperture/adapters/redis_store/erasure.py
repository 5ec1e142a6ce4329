"""An erased account's traces in Redis: every key named after it, and its id inside other users' structures.

Every per-user key carries the user's id (in its hash tag, or after it, as `rel:{viewer}:follows:<user>` does), and
ids are Snowflakes of one width, so a key whose name contains the id is the user's: one SCAN of the keyspace with
that MATCH finds them all (on a cluster, every primary is scanned). The id inside others' structures is taken out
member by member: authors' affinity sets (a SCAN of their one key kind), explore's active viewers, its engagers of
the posts the user engaged with, the model's user vectors, and the celebrity set.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aperture.adapters.redis_store.explore import (
    active_key,
    engaged_key,
    engagers_key,
    followed_key,
    user_vectors_key,
)
from aperture.adapters.redis_store.timeline import CELEBRITIES_KEY

SCAN_COUNT = 1_000
DELETE_BATCH = 500


class RedisTraces:
    def __init__(self, client: Any) -> None:
        self._redis = client

    def _scan(self, match: str) -> Iterable[str]:
        return self._redis.scan_iter(match=match, count=SCAN_COUNT)

    def forget_engagement(self, user_id: int, generation: str | None) -> None:
        """The user out of explore's structures of other keys: the engagers of each post they engaged with, the
        active viewers, the model's user vectors, the celebrities. Run before the user's own keys go (their engaged
        set says which posts)."""
        member = str(user_id)
        posts = [int(p) for p in self._redis.zrange(engaged_key(user_id), 0, -1)]
        pipe = self._redis.pipeline(transaction=False)
        for post_id in posts:
            pipe.zrem(engagers_key(post_id), member)
        pipe.zrem(active_key(user_id), member)
        pipe.srem(CELEBRITIES_KEY, member)
        if generation is not None:
            pipe.hdel(user_vectors_key(generation), member)
        pipe.execute()

    def forget_followed(self, follower_id: int, user_id: int) -> None:
        """The user out of a follower's explore "followed since the list was ranked" set."""
        self._redis.srem(followed_key(follower_id), str(user_id))

    def forget_affinities(self, user_id: int) -> int:
        """The user out of every user's affinity to authors; returns how many sets named them."""
        member, removed = str(user_id), 0
        batch: list[str] = []
        for key in self._scan("tl:{*}:aff:a"):
            batch.append(key)
            if len(batch) >= DELETE_BATCH:
                removed += self._zrem_all(batch, member)
                batch = []
        return removed + self._zrem_all(batch, member)

    def _zrem_all(self, keys: list[str], member: str) -> int:
        if not keys:
            return 0
        pipe = self._redis.pipeline(transaction=False)
        for key in keys:
            pipe.zrem(key, member)
        return sum(int(n) for n in pipe.execute())

    def forget_keys(self, user_id: int) -> int:
        """Delete every key whose name carries the user's id; returns how many."""
        deleted = 0
        batch: list[str] = []
        for key in self._scan(f"*{user_id}*"):
            batch.append(key)
            if len(batch) >= DELETE_BATCH:
                deleted += self._delete(batch)
                batch = []
        return deleted + self._delete(batch)

    def _delete(self, keys: list[str]) -> int:
        if not keys:
            return 0
        pipe = self._redis.pipeline(transaction=False)
        for key in keys:  # one DEL each: a cluster refuses a multi-key DEL across slots
            pipe.delete(key)
        return sum(int(n) for n in pipe.execute())
