"""Cached post records: a Redis hash per post, with its author's username."""

from __future__ import annotations

from typing import Any

from aperture.adapters.redis_store.client import PipelineBatch, Slot, per_id


def post_cache_key(post_id: int) -> str:
    return f"post:{{{post_id}}}"


class PostCache:
    """Post records as Redis hashes, with the author's username beside them (usernames never change)."""

    def __init__(self, client: Any, ttl_seconds: int = 86_400) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    def queue_get(self, batch: PipelineBatch, post_ids: list[int]) -> Slot[dict[int, dict[str, str]]]:
        return batch.queue(
            per_id(lambda pipe, post_id: pipe.hgetall(post_cache_key(post_id)), post_ids),
            lambda replies: {p: r for p, r in zip(post_ids, replies, strict=True) if r},
        )

    def put_many(self, entries: dict[int, dict[str, str]]) -> None:
        if not entries:
            return
        pipe = self._redis.pipeline(transaction=False)
        for post_id, fields in entries.items():
            pipe.hset(post_cache_key(post_id), mapping=fields)
            pipe.expire(post_cache_key(post_id), self._ttl)
        pipe.execute()

    def forget(self, post_id: int) -> None:
        self._redis.delete(post_cache_key(post_id))
