"""Cached account privacy: whether a user is a private account, read for every post a viewer may not follow."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import redis


def privacy_key(user_id: int) -> str:
    return f"rel:{{{user_id}}}:private"


class PrivacyCache:
    """ "Is this account private", per user, with a TTL; dropped when the flag changes (by the request and again by
    the relay, from the change's event)."""

    def __init__(self, client: Any, ttl_seconds: int) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    def private_among(self, user_ids: Iterable[int], load: Callable[[list[int]], dict[int, bool]]) -> set[int]:
        """Which of these users are private: cached answers in one pipelined round trip, the rest loaded (and
        cached). `load` answers for the users that exist; a missing user is not private and is not cached."""
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return set()
        try:
            pipe = self._redis.pipeline(transaction=False)
            for user_id in ids:
                pipe.get(privacy_key(user_id))
            cached = dict(zip(ids, pipe.execute(), strict=True))
        except redis.RedisError:
            return {u for u, private in load(ids).items() if private}  # Redis is down: ask DynamoDB
        missing = [u for u, value in cached.items() if value is None]
        found = {u: value == "1" for u, value in cached.items() if value is not None}
        if missing:
            loaded = load(missing)
            found.update(loaded)
            try:
                pipe = self._redis.pipeline(transaction=False)
                for user_id, private in loaded.items():
                    pipe.set(privacy_key(user_id), "1" if private else "0", ex=self._ttl)
                pipe.execute()
            except redis.RedisError:
                pass  # answered from DynamoDB; the next read caches it
        return {u for u, private in found.items() if private}

    def forget(self, user_id: int) -> None:
        self._redis.delete(privacy_key(user_id))
