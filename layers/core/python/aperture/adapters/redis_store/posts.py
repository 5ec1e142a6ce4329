"""Cached post records: a Redis hash per post, with its author's username.

A cached post is a hash of `record` (its JSON), `version` (the record's), `author_username`, and `floor`: the highest
version an edit has announced. A record older than the floor is never used (a read that filled the cache from
DynamoDB before an edit committed may land after the edit's own write), and forget_record() keeps the floor for the
same reason: a fill racing a drop must not bring an older caption back.
"""

from __future__ import annotations

from typing import Any

from aperture.adapters.redis_store.client import PipelineBatch, Slot, per_id


def post_cache_key(post_id: int) -> str:
    return f"post:{{{post_id}}}"


RECORD_FIELDS = ("record", "version", "author_username")

# An edit's copy: raises the floor to its version, and replaces the record unless a newer one is there already (two
# edits' writes may arrive in either order). KEYS: the post's hash. ARGV: version, record JSON, username, seconds.
_PUT_EDITED = """
local version = tonumber(ARGV[1])
if version > tonumber(redis.call('HGET', KEYS[1], 'floor') or '0') then
  redis.call('HSET', KEYS[1], 'floor', ARGV[1])
end
local wrote = 0
if tonumber(redis.call('HGET', KEYS[1], 'version') or '-1') <= version then
  redis.call('HSET', KEYS[1], 'version', ARGV[1], 'record', ARGV[2], 'author_username', ARGV[3])
  wrote = 1
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return wrote
"""


def is_current(fields: dict[str, str]) -> bool:
    """Whether a cached hash holds a record no edit has overtaken."""
    return "record" in fields and int(fields.get("version") or 0) >= cached_floor(fields)


def cached_floor(fields: dict[str, str]) -> int:
    """The newest version an edit has announced for the post (0: never edited, or not known here)."""
    return int(fields.get("floor") or 0)


class PostCache:
    """Post records as Redis hashes, with the author's username beside them (usernames never change)."""

    def __init__(self, client: Any, ttl_seconds: int = 86_400) -> None:
        self._redis = client
        self._ttl = ttl_seconds
        self._put_edited = client.register_script(_PUT_EDITED)

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

    def put_edited(self, post_id: int, version: int, record_json: str, author_username: str) -> bool:
        """An edited post's copy, unless a newer one is cached; either way no older one is used from now on."""
        args = [version, record_json, author_username, self._ttl]
        return bool(self._put_edited(keys=[post_cache_key(post_id)], args=args))

    def forget_record(self, post_id: int) -> None:
        """Drop the cached record of a post that stays (its counts changed): an edit's floor is kept, so a fill that
        read the post before the edit cannot bring the old caption back (the hash goes if it held no floor)."""
        self._redis.hdel(post_cache_key(post_id), *RECORD_FIELDS)

    def forget(self, post_id: int) -> None:
        """Drop everything cached of a post that went away."""
        self._redis.delete(post_cache_key(post_id))
