"""Cached relationship answers: whether one user follows another, whom a user blocks or is blocked by, and whom
they mute."""

from __future__ import annotations

import json
from typing import Any

import redis

from aperture.adapters.redis_store.client import PipelineBatch, Slot, single


def relationship_key(follower_id: int, followee_id: int) -> str:
    return f"rel:{{{follower_id}}}:follows:{followee_id}"


def blocked_key(user_id: int) -> str:
    return f"rel:{{{user_id}}}:blocked"


def muted_key(user_id: int) -> str:
    return f"rel:{{{user_id}}}:muted"


class RelationshipCache:
    """Hot relationship answers: "does A follow B" and "whom does A block or is A blocked by", with a TTL."""

    def __init__(self, client: Any, ttl_seconds: int) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    def follows(self, follower_id: int, followee_id: int, load: Any) -> bool:
        key = relationship_key(follower_id, followee_id)
        try:
            cached = self._redis.get(key)
        except redis.RedisError:
            return bool(load())
        if cached is not None:
            return bool(cached == "1")
        answer = bool(load())
        self._redis.set(key, "1" if answer else "0", ex=self._ttl)
        return answer

    def forget_follow(self, follower_id: int, followee_id: int) -> None:
        self._redis.delete(relationship_key(follower_id, followee_id))

    def blocked(self, user_id: int, load: Any) -> set[int]:
        return self._user_set(blocked_key(user_id), load)

    def muted(self, user_id: int, load: Any) -> set[int]:
        return self._user_set(muted_key(user_id), load)

    def _user_set(self, key: str, load: Any) -> set[int]:
        try:
            cached = self._redis.get(key)
        except redis.RedisError:
            return set(load())  # Redis is down: ask DynamoDB
        if cached is not None:
            return {int(u) for u in json.loads(cached)}
        found = set(load())
        self._redis.set(key, json.dumps(sorted(found)), ex=self._ttl)
        return found

    def queue_blocked(self, batch: PipelineBatch, user_id: int) -> Slot[set[int] | None]:
        """The cached answer, or None when it must be loaded."""
        return _queue_user_set(batch, blocked_key(user_id))

    def queue_muted(self, batch: PipelineBatch, user_id: int) -> Slot[set[int] | None]:
        """The cached answer, or None when it must be loaded."""
        return _queue_user_set(batch, muted_key(user_id))

    def forget_blocks(self, *user_ids: int) -> None:
        self._redis.delete(*(blocked_key(u) for u in user_ids))

    def forget_mutes(self, user_id: int) -> None:
        self._redis.delete(muted_key(user_id))


def _queue_user_set(batch: PipelineBatch, key: str) -> Slot[set[int] | None]:
    return batch.queue(
        single(lambda pipe: pipe.get(key)),
        lambda replies: {int(u) for u in json.loads(replies[0])} if replies[0] is not None else None,
    )
