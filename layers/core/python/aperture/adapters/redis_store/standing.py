"""The cached set of disabled accounts: read by every API request (is the caller switched off?) and by every read
path (whose content is hidden from everyone)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import redis

from aperture.adapters.redis_store.client import PipelineBatch, Slot, single

DISABLED_KEY = "acct:disabled"


def _parse(raw: Any) -> frozenset[int] | None:
    return None if raw is None else frozenset(int(u) for u in json.loads(raw))


class DisabledCache:
    """One small key holding every disabled account, with a short TTL; dropped whenever the set changes."""

    def __init__(self, client: Any, ttl_seconds: int) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    def disabled(self, load: Callable[[], frozenset[int]]) -> frozenset[int]:
        try:
            cached = _parse(self._redis.get(DISABLED_KEY))
        except redis.RedisError:
            return load()  # Redis is down: ask DynamoDB
        if cached is not None:
            return cached
        found = load()
        self.store(found)
        return found

    def store(self, disabled: frozenset[int]) -> None:
        with contextlib.suppress(redis.RedisError):  # (answered from DynamoDB; the next read caches it)
            self._redis.set(DISABLED_KEY, json.dumps(sorted(disabled)), ex=self._ttl)

    def queue(self, batch: PipelineBatch) -> Slot[frozenset[int] | None]:
        """The cached set read as part of a batch (None when it must be loaded)."""
        return batch.queue(single(lambda pipe: pipe.get(DISABLED_KEY)), lambda replies: _parse(replies[0]))

    def forget(self) -> None:
        self._redis.delete(DISABLED_KEY)
