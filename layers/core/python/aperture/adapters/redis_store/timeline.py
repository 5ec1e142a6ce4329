"""Home timelines, authors' recent posts, activity marks and the celebrities merged at read time."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, NamedTuple

import redis

from aperture.adapters.redis_store.client import (
    PipelineBatch,
    Slot,
    execute_in_batches,
    queue_capped_add,
    single,
)
from aperture.ids import id_timestamp_ms

ID_WIDTH = 20  # zero-padded members sort like the numbers they spell


def timeline_key(user_id: int) -> str:
    # The hash tag keeps every per-user key of one user on one cluster slot.
    return f"tl:{{{user_id}}}"


def recent_posts_key(author_id: int) -> str:
    return f"recent:{{{author_id}}}"


def active_key(user_id: int) -> str:
    return f"tl:{{{user_id}}}:active"


def celebrities_followed_key(user_id: int) -> str:
    return f"tl:{{{user_id}}}:celebs"


CELEBRITIES_KEY = "celebrities"  # authors whose posts are merged at read time instead of fanned out


def _member(post_id: int) -> str:
    return str(post_id).zfill(ID_WIDTH)


# One post into many timelines (KEYS; in cluster mode, keys of one slot): ZADD, then trim only a timeline past
# its cap plus slack (ZCARD is O(1), so most inserts trim nothing). The owner's every read keeps the timeline for its
# time (`queue_open`), so a push sets an expiry only on a timeline it has just created (one member): a push costs
# the server two calls, not three, and a timeline nobody reads goes its time after its owner's last read however
# many posts it is sent. Adding the same member with the same score again changes nothing, so a replayed call is
# harmless.
_PUSH = """
local member, score, cap, limit, seconds = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, score, member)
  local size = redis.call('ZCARD', key)
  if size > limit then
    redis.call('ZREMRANGEBYRANK', key, 0, -cap - 1)
  elseif size == 1 then
    redis.call('EXPIRE', key, seconds)
  end
end
return #KEYS
"""


class Position(NamedTuple):
    """Where a post sits in a feed: its publish time in ms, then its id to order posts of the same ms."""

    ms: int
    post_id: int


# An author's recent-posts set holds this member (scored +inf, so never trimmed and never in a page) once it holds
# the author's latest posts as DynamoDB has them. Without it (Redis lost or evicted the key, or it was started by a
# post since), the set is only part of the truth, and the author's latest posts are loaded from DynamoDB again.
WHOLE = "whole"
RECENT_SECONDS = 30 * 86_400  # an author's recent posts after their last post (then loaded again when asked for)


def _page_commands(pipe: Any, key: str, before: Position | None, limit: int) -> int:
    """Queue the reads for up to `limit` entries older than `before`; returns how many replies they give."""
    if before is None:
        pipe.zrevrangebyscore(key, "+inf", "-inf", start=0, num=limit + 1, withscores=True)  # (+1: WHOLE)
        return 1
    pipe.zrangebyscore(key, before.ms, before.ms, withscores=True)  # entries in the cursor's own millisecond
    pipe.zrevrangebyscore(key, f"({before.ms}", "-inf", start=0, num=limit, withscores=True)
    return 2


def _page_result(replies: list[Any], before: Position | None, limit: int) -> list[Position]:
    if before is None:
        return [Position(int(score), int(member)) for member, score in replies[0] if member != WHOLE][:limit]
    same_ms, older = replies
    ties = sorted(
        (Position(int(s), int(m)) for m, s in same_ms if int(m) < before.post_id), key=lambda p: p.post_id, reverse=True
    )
    return (ties + [Position(int(s), int(m)) for m, s in older])[:limit]


class Timeline:
    """Home timelines and authors' recent posts: sorted sets scored by publish time, members are padded ids."""

    def __init__(
        self, client: Any, cap: int, recent_cap: int = 200, active_seconds: int = 14 * 86_400, slack: int = 0
    ) -> None:
        self._redis = client
        self._cap = cap
        self._slack = slack  # a pushed-to timeline is trimmed back to `cap` once it holds more than cap + slack
        self._push_sha = hashlib.sha1(_PUSH.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1
        self._cluster = isinstance(client, redis.RedisCluster)
        self._recent_cap = recent_cap
        self._active_seconds = active_seconds
        # A timeline (and whom it merges) outlives its owner's activity mark by a day: once it goes, the owner
        # is inactive anyway, and their return rebuilds it.
        self._timeline_seconds = active_seconds + 86_400

    def push(self, user_ids: Iterable[int], post_id: int, ms: int | None = None, batch_size: int = 1000) -> int:
        """Add a post to many timelines, a script call per `batch_size` timelines (in cluster mode, per slot among
        them), pipelined; a repeated push changes nothing. Returns how many timelines."""
        score = ms if ms is not None else id_timestamp_ms(post_id)
        args = (_member(post_id), score, self._cap, self._cap + self._slack, self._timeline_seconds)
        keys = [f"tl:{{{user_id}}}" for user_id in user_ids]  # timeline_key, inlined: this is the hot path
        groups = [keys[i : i + batch_size] for i in range(0, len(keys), batch_size)]
        if self._cluster:  # a script's keys share one slot
            slot_of = self._redis.keyslot
            by_slot: dict[int, list[str]] = {}
            for key in keys:
                by_slot.setdefault(slot_of(key), []).append(key)
            groups = list(by_slot.values())
        try:
            self._run_push(groups, args)
        except redis.exceptions.NoScriptError:
            # A server that restarted or failed over has forgotten the script: load it everywhere and run again
            # (every call is idempotent, so the calls that did run change nothing the second time).
            self._redis.script_load(_PUSH)
            self._run_push(groups, args)
        return len(keys)

    def _run_push(self, groups: list[list[str]], args: tuple[Any, ...]) -> None:
        sha = self._push_sha
        pipe = self._redis.pipeline(transaction=False)
        for index, group in enumerate(groups, 1):
            pipe.execute_command("EVALSHA", sha, len(group), *group, *args)
            if index % 50 == 0:
                pipe.execute()
        pipe.execute()

    def record_post(self, author_id: int, post_id: int, ms: int) -> None:
        """Keep the post among its author's latest (read by followers at request time, and on rebuilds)."""
        self._keep_recent(author_id, {_member(post_id): ms})

    def _keep_recent(self, author_id: int, entries: dict[str, float]) -> None:
        key, cap = recent_posts_key(author_id), self._recent_cap + 1  # (+1: WHOLE, if there)
        pipe = self._redis.pipeline(transaction=False)
        queue_capped_add(pipe, key, entries, cap, RECENT_SECONDS)
        pipe.execute()

    def page(self, user_id: int, before: Position | int | None, limit: int) -> list[int]:
        """Up to `limit` post ids older than `before` (newest first), in one round trip."""
        return [p.post_id for p in self.positions(user_id, _position(before), limit)]

    def positions(self, user_id: int, before: Position | None, limit: int) -> list[Position]:
        pipe = self._redis.pipeline(transaction=False)
        _page_commands(pipe, timeline_key(user_id), before, limit)
        return _page_result(pipe.execute(), before, limit)

    def remove_everywhere(self, author_id: int, post_id: int, user_ids: Iterable[int], batch_size: int = 500) -> int:
        """A deleted post out of its author's recent posts and these timelines, pipelined in batches."""
        member = _member(post_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrem(recent_posts_key(author_id), member)
        pipe.zrem(timeline_key(author_id), member)
        return execute_in_batches(pipe, user_ids, lambda p, user_id: p.zrem(timeline_key(user_id), member), batch_size)

    def remove(self, user_id: int, post_ids: Iterable[int]) -> None:
        members = [_member(p) for p in post_ids]
        if members:
            self._redis.zrem(timeline_key(user_id), *members)

    def recent(self, author_ids: list[int], before: Position | None, limit: int) -> tuple[list[Position], list[int]]:
        """Up to `limit` posts of each author older than `before`, merged newest first, and the authors whose
        recent posts Redis does not hold whole (to be loaded: `restore_recent`), in one round trip."""
        if not author_ids:
            return [], []
        pipe = self._redis.pipeline(transaction=False)
        counts = []
        for author_id in author_ids:
            pipe.zscore(recent_posts_key(author_id), WHOLE)
            counts.append(_page_commands(pipe, recent_posts_key(author_id), before, limit))
        replies = pipe.execute()
        merged: list[Position] = []
        unknown: list[int] = []
        offset = 0
        for author_id, count in zip(author_ids, counts, strict=True):
            if replies[offset] is None:
                unknown.append(author_id)
            else:
                merged += _page_result(replies[offset + 1 : offset + 1 + count], before, limit)
            offset += 1 + count
        return sorted(merged, reverse=True), unknown

    @property
    def recent_cap(self) -> int:
        """How many of an author's latest posts their recent-posts set keeps."""
        return self._recent_cap

    def restore_recent(self, author_id: int, latest: Iterable[Position]) -> None:
        """An author's latest posts, as DynamoDB holds them, made whole again in Redis."""
        self._keep_recent(author_id, {WHOLE: float("inf"), **{_member(p.post_id): p.ms for p in latest}})

    def merge_into(self, user_id: int, entries: Iterable[Position]) -> None:
        """Put posts (a followee's recent ones) into a timeline, keeping its cap."""
        mapping = {_member(p.post_id): p.ms for p in entries}
        if mapping:
            pipe = self._redis.pipeline(transaction=False)
            queue_capped_add(pipe, timeline_key(user_id), mapping, self._cap, self._timeline_seconds)
            pipe.execute()

    def queue_open(
        self, batch: PipelineBatch, user_id: int, before: Position | None, limit: int
    ) -> tuple[Slot[bool], Slot[list[int]], Slot[list[Position]]]:
        """Queue what opening a feed page needs: was the user active (and mark them now), the celebrities they
        follow, and the page of their timeline."""

        def activity(pipe: Any) -> int:
            pipe.exists(active_key(user_id))
            pipe.set(active_key(user_id), 1, ex=self._active_seconds)
            pipe.expire(timeline_key(user_id), self._timeline_seconds)
            pipe.expire(celebrities_followed_key(user_id), self._timeline_seconds)
            return 4

        def page(pipe: Any) -> int:
            return _page_commands(pipe, timeline_key(user_id), before, limit)

        was_active = batch.queue(activity, lambda replies: bool(replies[0]))
        celebrities = batch.queue(
            single(lambda pipe: pipe.smembers(celebrities_followed_key(user_id))),
            lambda replies: sorted(int(a) for a in replies[0]),
        )
        positions = batch.queue(page, lambda replies: _page_result(replies, before, limit))
        return was_active, celebrities, positions

    def active(self, user_ids: list[int]) -> list[int]:
        """Those of the users active within the window, in one round trip."""
        if not user_ids:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.exists(active_key(user_id))
        return [u for u, alive in zip(user_ids, pipe.execute(), strict=True) if alive]

    def is_celebrity(self, author_id: int) -> bool:
        """Whether the author was last recorded above the threshold (and announced so)."""
        return bool(self._redis.sismember(CELEBRITIES_KEY, author_id))

    def set_celebrity(self, author_id: int, celebrity: bool) -> bool:
        """Record whether an author is above the threshold; returns whether that changed."""
        if celebrity:
            return bool(self._redis.sadd(CELEBRITIES_KEY, author_id))
        return bool(self._redis.srem(CELEBRITIES_KEY, author_id))

    def follow_celebrity(self, user_ids: Iterable[int], author_id: int, following: bool) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for user_id in user_ids:
            if following:
                pipe.sadd(celebrities_followed_key(user_id), author_id)
                pipe.expire(celebrities_followed_key(user_id), self._timeline_seconds)
            else:
                pipe.srem(celebrities_followed_key(user_id), author_id)
        pipe.execute()

    def set_celebrities_followed(self, user_id: int, author_ids: Iterable[int]) -> None:
        """Exactly these authors are the celebrities a user follows (one key: one MULTI, cluster-safe)."""
        key = celebrities_followed_key(user_id)
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(key)
        if ids := list(author_ids):
            pipe.sadd(key, *ids)
            pipe.expire(key, self._timeline_seconds)
        pipe.execute()

    def celebrities_followed(self, user_id: int) -> list[int]:
        return sorted(int(a) for a in self._redis.smembers(celebrities_followed_key(user_id)))


def _position(before: Position | int | None) -> Position | None:
    if before is None or isinstance(before, Position):
        return before
    return Position(id_timestamp_ms(before), before)
