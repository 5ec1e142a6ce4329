"""Redis: the client factory (for REDIS_URL), the key builders, and home timelines."""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any, Generic, NamedTuple, TypeVar

import redis

from aperture.bloom import ScalableBloom
from aperture.ids import id_timestamp_ms
from aperture.settings import MissingSettingError, get_settings, setting_variable

ID_WIDTH = 20  # zero-padded members sort like the numbers they spell


@lru_cache(maxsize=1)
def redis_client() -> Any:
    """The process's Redis client: a cluster client when configured, else a plain one.

    The layer never starts a server: `python -m local` starts one and sets REDIS_URL (local/redis_server.py)."""
    settings = get_settings()
    url = settings.redis_url
    if not url:
        variable = setting_variable("redis_url")
        raise MissingSettingError(f"{variable} is not set, and this needs Redis (python -m local starts one)")
    if settings.redis_cluster:
        return redis.RedisCluster.from_url(url, decode_responses=True)
    return redis.Redis.from_url(url, decode_responses=True, health_check_interval=30)


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


class Position(NamedTuple):
    """Where a post sits in a feed: its publish time in ms, then its id to order posts of the same ms."""

    ms: int
    post_id: int


def _single(command: Callable[[Any], Any]) -> Callable[[Any], int]:
    """A batch step that queues one command."""

    def queue(pipe: Any) -> int:
        command(pipe)
        return 1

    return queue


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

    def __init__(self, client: Any, cap: int, recent_cap: int = 200, active_seconds: int = 14 * 86_400) -> None:
        self._redis = client
        self._cap = cap
        self._recent_cap = recent_cap
        self._active_seconds = active_seconds
        # A timeline (and whom it merges) outlives its owner's activity mark by a day: once it goes, the owner
        # is inactive anyway, and their return rebuilds it.
        self._timeline_seconds = active_seconds + 86_400

    def push(self, user_ids: Iterable[int], post_id: int, ms: int | None = None, batch_size: int = 500) -> int:
        """Add a post to many timelines with pipelined ZADDs, in batches; a repeated push changes nothing."""
        score = ms if ms is not None else id_timestamp_ms(post_id)
        member = _member(post_id)
        pushed = 0
        pipe = self._redis.pipeline(transaction=False)
        for user_id in user_ids:
            key = timeline_key(user_id)
            pipe.zadd(key, {member: score})
            pipe.zremrangebyrank(key, 0, -(self._cap + 1))
            pipe.expire(key, self._timeline_seconds)
            pushed += 1
            if pushed % batch_size == 0:
                pipe.execute()
        pipe.execute()
        return pushed

    def record_post(self, author_id: int, post_id: int, ms: int) -> None:
        """Keep the post among its author's latest (read by followers at request time, and on rebuilds)."""
        key = recent_posts_key(author_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.zadd(key, {_member(post_id): ms})
        pipe.zremrangebyrank(key, 0, -(self._recent_cap + 2))  # (+1: WHOLE, if there)
        pipe.expire(key, RECENT_SECONDS)
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
        removed = 0
        for user_id in user_ids:
            pipe.zrem(timeline_key(user_id), member)
            removed += 1
            if removed % batch_size == 0:
                pipe.execute()
        pipe.execute()
        return removed

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
        key = recent_posts_key(author_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.zadd(key, {WHOLE: float("inf"), **{_member(p.post_id): p.ms for p in latest}})
        pipe.zremrangebyrank(key, 0, -(self._recent_cap + 2))  # (+1: WHOLE)
        pipe.expire(key, RECENT_SECONDS)
        pipe.execute()

    def merge_into(self, user_id: int, entries: Iterable[Position]) -> None:
        """Put posts (a followee's recent ones) into a timeline, keeping its cap."""
        mapping = {_member(p.post_id): p.ms for p in entries}
        if mapping:
            key = timeline_key(user_id)
            pipe = self._redis.pipeline(transaction=False)
            pipe.zadd(key, mapping)
            pipe.zremrangebyrank(key, 0, -(self._cap + 1))
            pipe.expire(key, self._timeline_seconds)
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
            _single(lambda pipe: pipe.smembers(celebrities_followed_key(user_id))),
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


def likes_keys(post_id: int) -> tuple[str, str, str]:
    """(count, set, bloom) of a post; one hash tag, so scripts may use all three in cluster mode."""
    tag = f"likes:{{{post_id}}}"
    return f"{tag}:count", f"{tag}:set", f"{tag}:bloom"


def bloom_inserted_key(post_id: int) -> str:
    """How many likers went into the post's Bloom filter: which of its layers the next one goes into."""
    return f"likes:{{{post_id}}}:bloomn"


def like_applied_key(post_id: int) -> str:
    """The like changes applied to the post's live cache lately: event ids scored by when (same hash tag as the
    cache: one script uses both)."""
    return f"likes:{{{post_id}}}:applied"


def like_lock_key(post_id: int, user_id: int) -> str:
    return f"likes:{{{post_id}}}:lock:{user_id}"


def like_rebuild_key(post_id: int) -> str:
    return f"likes:{{{post_id}}}:rebuild"


DIRTY_LIKES_KEY = "likes:dirty"  # posts whose live count changed since the last flush


def comment_preview_key(post_id: int) -> str:
    return f"comments:{{{post_id}}}:preview"


def relationship_key(follower_id: int, followee_id: int) -> str:
    return f"rel:{{{follower_id}}}:follows:{followee_id}"


def blocked_key(user_id: int) -> str:
    return f"rel:{{{user_id}}}:blocked"


# Scripts take (count, set, bloom, applied, bloom inserted) keys, one hash tag. A like change is applied once per
# event: KEYS[4] holds the event ids applied in the last LIKE_APPLIED_SECONDS (at most APPLIED_CAP of them; ARGV[4]
# is now in ms, ARGV[5] the event id). The request that made the change and the relay that publishes its event both
# apply it; whichever comes first counts. The mark is set even when the cache is lost (the count key missing): the
# caller then rebuilds from DynamoDB, which includes the change, so a later replay must not count it again. A count
# moves only when the likers' set does (SADD/SREM answered 1), or in Bloom mode, where DynamoDB's conditional write
# already said the change is real. Every change keeps the cache another LIKE_CACHE_SECONDS (ARGV[3]).
# Replies: false (rebuild), {count, -2} (applied before), else as documented below.
_APPLIED_ONCE = """
local fresh = redis.call('ZADD', KEYS[4], 'NX', ARGV[4], ARGV[5]) == 1
if fresh then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', tonumber(ARGV[4]) - 1000 * tonumber(ARGV[2]))
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -1 - tonumber(ARGV[6]))
  redis.call('EXPIRE', KEYS[4], ARGV[2])
end
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if not fresh then return {tonumber(redis.call('GET', KEYS[1])), -2} end
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[3]) end
"""
# Adding in Bloom mode also sets the liker's bits, in the same script (so a retry cannot find the count applied and
# the bits missing): ARGV[7] layers, then each layer's cumulative capacity, then per layer its hash count and bit
# positions. The liker goes into the layer their insertion number (KEYS[5]) falls in. {count, -1} in Bloom mode,
# else {count, set size}.
_LIKE_ADD = (
    _APPLIED_ONCE
    + """
if redis.call('EXISTS', KEYS[3]) == 1 then
  local n = redis.call('INCR', KEYS[1])
  local inserted = redis.call('INCR', KEYS[5])
  redis.call('EXPIRE', KEYS[5], ARGV[3])
  local layers = tonumber(ARGV[7])
  local chosen = layers
  for i = 1, layers do
    if inserted <= tonumber(ARGV[7 + i]) then chosen = i break end
  end
  local at = 8 + layers
  for i = 1, layers do
    local k = tonumber(ARGV[at])
    if i == chosen then
      for j = 1, k do redis.call('SETBIT', KEYS[3], ARGV[at + j], 1) end
      break
    end
    at = at + 1 + k
  end
  return {n, -1}
end
local added = redis.call('SADD', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
local n = tonumber(redis.call('GET', KEYS[1]))
if added == 1 then n = redis.call('INCR', KEYS[1]) end
return {n, redis.call('SCARD', KEYS[2])}
"""
)
_LIKE_REMOVE = (
    _APPLIED_ONCE
    + """
local n = tonumber(redis.call('GET', KEYS[1]))
if redis.call('EXISTS', KEYS[3]) == 1 or redis.call('SREM', KEYS[2], ARGV[1]) == 1 then
  n = redis.call('DECR', KEYS[1])
end
return {n, 0}
"""
)
# How long, and for how many changes, a like change is remembered as applied. The relay applies an event within
# seconds; one older than half this window (a redrive, a long outage) rebuilds the post's cache from DynamoDB instead.
LIKE_APPLIED_SECONDS = 3_600
APPLIED_CAP = 100_000
# A post's like cache (count, likers, Bloom filter) lives this long after its last change; then it is rebuilt from
# DynamoDB on its next like, and read meanwhile from the count last flushed to DynamoDB.
LIKE_CACHE_SECONDS = 30 * 86_400
ALREADY_APPLIED = -2
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

LIKED, NOT_LIKED, MAYBE, UNKNOWN = 1, 0, 2, -1


class LikeCache:
    """Live like counts (INCR/DECR), a per-post set of likers, and past a threshold a scalable Bloom filter."""

    def __init__(self, client: Any, bloom: ScalableBloom) -> None:
        self._redis = client
        self._bloom = bloom
        self._add = client.register_script(_LIKE_ADD)
        self._remove = client.register_script(_LIKE_REMOVE)
        self._release = client.register_script(_RELEASE)
        self._capacities = list(itertools.accumulate(bloom.capacities))  # what each layer holds, with those before

    @property
    def bloom(self) -> ScalableBloom:
        return self._bloom

    def start(self, post_id: int) -> None:
        """A new post has no likes: say so, so that a missing count can only mean a lost cache."""
        self._redis.set(likes_keys(post_id)[0], 0, nx=True, ex=LIKE_CACHE_SECONDS)

    def _keys(self, post_id: int) -> list[str]:
        return [*likes_keys(post_id), like_applied_key(post_id), bloom_inserted_key(post_id)]

    def _args(self, user_id: int, event_id: str) -> list[Any]:
        return [user_id, LIKE_APPLIED_SECONDS, LIKE_CACHE_SECONDS, int(time.time() * 1000), event_id, APPLIED_CAP]

    def added(self, post_id: int, user_id: int, event_id: str) -> tuple[int, int] | None:
        """Count a new like once per event: (count, set size, -1 in Bloom mode or ALREADY_APPLIED), or None if
        the cache must be rebuilt. In Bloom mode the liker's bits are set in the same script."""
        positions = self._bloom.positions(user_id)
        bloom: list[int] = [len(self._capacities), *self._capacities]
        for start, end in self._bloom.slices:
            bloom += [end - start, *positions[start:end]]
        result = self._add(keys=self._keys(post_id), args=[*self._args(user_id, event_id), *bloom])
        self._redis.sadd(DIRTY_LIKES_KEY, post_id)
        return (int(result[0]), int(result[1])) if result else None

    def removed(self, post_id: int, user_id: int, event_id: str) -> tuple[int, int] | None:
        """Take a like back once per event: (count, 0 or ALREADY_APPLIED), or None if the cache must be rebuilt."""
        result = self._remove(keys=self._keys(post_id), args=self._args(user_id, event_id))
        self._redis.sadd(DIRTY_LIKES_KEY, post_id)
        return (int(result[0]), int(result[1])) if result else None

    def _bloom_bits(self, pipe: Any, bloom_key: str, likers: Iterable[int], first: int) -> int:
        """Queue the bits of likers numbered from `first` on, each in its layer; returns how many."""
        count = 0
        for number, liker in enumerate(likers, start=first):
            start, end = self._bloom.slices[self._bloom.layer_for(number)]
            for position in self._bloom.positions(liker)[start:end]:
                pipe.setbit(bloom_key, position, 1)
            count += 1
        return count

    def states(self, post_ids: list[int], user_id: int) -> list[int]:
        """LIKED, NOT_LIKED, MAYBE or UNKNOWN per post, in one round trip."""
        if not post_ids:
            return []
        batch = PipelineBatch(self._redis)
        slot = self.queue_states(batch, post_ids, user_id)
        batch.execute()
        return slot.value

    def queue_counts(self, batch: PipelineBatch, post_ids: list[int]) -> Slot[list[int | None]]:
        def commands(pipe: Any) -> int:
            for post_id in post_ids:
                pipe.get(likes_keys(post_id)[0])
            return len(post_ids)

        return batch.queue(commands, lambda replies: [int(v) if v is not None else None for v in replies])

    def queue_states(self, batch: PipelineBatch, post_ids: list[int], user_id: int) -> Slot[list[int]]:
        """LIKED, NOT_LIKED, MAYBE or UNKNOWN per post.

        Plain commands rather than a script, because cluster pipelines refuse scripts: per post, whether its
        cache exists, whether it is in Bloom mode, set membership, and the user's bits in every Bloom layer (one
        BITFIELD; bits past the filter's end read 0, so layers a post has not reached cost nothing to store).
        """
        positions = self._bloom.positions(user_id)

        def commands(pipe: Any) -> int:
            for post_id in post_ids:
                count_key, set_key, bloom_key = likes_keys(post_id)
                pipe.exists(count_key)
                pipe.exists(bloom_key)
                pipe.sismember(set_key, user_id)
                bits = pipe.bitfield(bloom_key)
                for position in positions:
                    bits = bits.get("u1", position)
                bits.execute()
            return 4 * len(post_ids)

        def parse(replies: list[Any]) -> list[int]:
            states = []
            for start in range(0, len(replies), 4):
                cached, bloom, member, bits = replies[start : start + 4]
                if not cached:
                    states.append(UNKNOWN)
                elif bloom:
                    states.append(MAYBE if self._bloom.contains(list(bits)) else NOT_LIKED)
                else:
                    states.append(LIKED if member else NOT_LIKED)
            return states

        return batch.queue(commands, parse)

    def counts(self, post_ids: list[int]) -> list[int | None]:
        if not post_ids:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for post_id in post_ids:
            pipe.get(likes_keys(post_id)[0])
        return [int(value) if value is not None else None for value in pipe.execute()]

    def migrate_to_bloom(self, post_id: int) -> None:
        """Move a post's likers from its set into its Bloom filter, losing none to concurrent likes.

        The filter is created first, so every like counted from then on writes its bits there (the add script
        checks for it atomically); the set is copied after, so any like counted before is in the copy.
        """
        _, set_key, bloom_key = likes_keys(post_id)
        self._redis.setbit(bloom_key, 0, 0)  # the filter now exists
        members = [int(m) for m in self._redis.smembers(set_key)]
        pipe = self._redis.pipeline(transaction=False)
        copied = self._bloom_bits(pipe, bloom_key, members, 1)
        pipe.incrby(bloom_inserted_key(post_id), copied)
        pipe.expire(bloom_key, LIKE_CACHE_SECONDS)
        pipe.expire(bloom_inserted_key(post_id), LIKE_CACHE_SECONDS)
        pipe.delete(set_key)
        pipe.execute()

    def rebuild(self, post_id: int, count: int, likers: list[int] | None, bloom_likers: list[int] | None) -> None:
        """Load a post's cache from the durable list: its count, and its likers as a set or into the Bloom filter."""
        count_key, set_key, bloom_key = likes_keys(post_id)
        # Not a transaction (cluster pipelines have none): the count goes last, so until it is there, readers
        # see a lost cache and ask DynamoDB.
        pipe = self._redis.pipeline(transaction=False)
        for key in (count_key, set_key, bloom_key, bloom_inserted_key(post_id)):
            pipe.delete(key)
        if likers:
            pipe.sadd(set_key, *likers)
            pipe.expire(set_key, LIKE_CACHE_SECONDS)
        if bloom_likers:
            pipe.set(bloom_inserted_key(post_id), self._bloom_bits(pipe, bloom_key, bloom_likers, 1))
            pipe.expire(bloom_key, LIKE_CACHE_SECONDS)
            pipe.expire(bloom_inserted_key(post_id), LIKE_CACHE_SECONDS)
        pipe.set(count_key, count, ex=LIKE_CACHE_SECONDS)
        pipe.execute()

    def forget(self, post_id: int) -> None:
        """A deleted post's like cache, whole: count, likers, Bloom filter."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.delete(*likes_keys(post_id), bloom_inserted_key(post_id), like_applied_key(post_id))
        pipe.srem(DIRTY_LIKES_KEY, post_id)
        pipe.execute()

    def lock(self, key: str, ttl_ms: int) -> str | None:
        token = os.urandom(8).hex()
        return token if self._redis.set(key, token, nx=True, px=ttl_ms) else None

    def unlock(self, key: str, token: str) -> None:
        self._release(keys=[key], args=[token])

    def take_dirty(self, batch: int) -> list[int]:
        return [int(p) for p in self._redis.spop(DIRTY_LIKES_KEY, batch) or []]

    def mark_dirty(self, post_ids: list[int]) -> None:
        if post_ids:
            self._redis.sadd(DIRTY_LIKES_KEY, *post_ids)


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
        key = blocked_key(user_id)
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
        return batch.queue(
            _single(lambda pipe: pipe.get(blocked_key(user_id))),
            lambda replies: {int(u) for u in json.loads(replies[0])} if replies[0] is not None else None,
        )

    def forget_blocks(self, *user_ids: int) -> None:
        self._redis.delete(*(blocked_key(u) for u in user_ids))


class CommentPreviewCache:
    """The first comments of each post, as the JSON the post object shows, cached until a change."""

    def __init__(self, client: Any, ttl_seconds: int = 86_400) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    def queue_get(self, batch: PipelineBatch, post_ids: list[int]) -> Slot[dict[int, list[dict[str, Any]]]]:
        def commands(pipe: Any) -> int:
            for post_id in post_ids:
                pipe.get(comment_preview_key(post_id))
            return len(post_ids)

        return batch.queue(
            commands, lambda replies: {p: json.loads(v) for p, v in zip(post_ids, replies, strict=True) if v}
        )

    def get_many(self, post_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        if not post_ids:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for post_id in post_ids:
            pipe.get(comment_preview_key(post_id))
        return {p: json.loads(v) for p, v in zip(post_ids, pipe.execute(), strict=True) if v is not None}

    def put(self, post_id: int, preview: list[dict[str, Any]]) -> None:
        self._redis.set(comment_preview_key(post_id), json.dumps(preview), ex=self._ttl)

    def forget(self, post_id: int) -> None:
        self._redis.delete(comment_preview_key(post_id))


def affinity_keys(user_id: int) -> tuple[str, str]:
    """(authors, topics) a user engages with: sorted sets scored by weight."""
    return f"tl:{{{user_id}}}:aff:a", f"tl:{{{user_id}}}:aff:t"


# A user's affinities keep their strongest AFFINITY_CAP authors and topics, and go AFFINITY_SECONDS after the last
# engagement (a user away that long starts afresh).
AFFINITY_CAP = 500
AFFINITY_SECONDS = 90 * 86_400


def _queue_affinity(pipe: Any, key: str, member: str, weight: float) -> None:
    pipe.zincrby(key, weight, member)
    pipe.zremrangebyrank(key, 0, -AFFINITY_CAP - 1)
    pipe.expire(key, AFFINITY_SECONDS)


class AffinityStore:
    """How much each user engages with each author and topic (weights: aperture.ranking.AFFINITY_WEIGHTS)."""

    def __init__(self, client: Any) -> None:
        self._redis = client

    def record(self, user_id: int, author_id: int, topics: Iterable[str], weight: float) -> None:
        authors_key, topics_key = affinity_keys(user_id)
        pipe = self._redis.pipeline(transaction=False)
        _queue_affinity(pipe, authors_key, str(author_id), weight)
        for topic in topics:
            _queue_affinity(pipe, topics_key, topic.lower(), weight)
        pipe.execute()

    def queue_all(self, batch: PipelineBatch, user_id: int) -> Slot[tuple[dict[int, float], dict[str, float]]]:
        """Every author and topic weight of a user, read as part of a batch."""
        authors_key, topics_key = affinity_keys(user_id)

        def commands(pipe: Any) -> int:
            pipe.zrange(authors_key, 0, -1, withscores=True)
            pipe.zrange(topics_key, 0, -1, withscores=True)
            return 2

        return batch.queue(
            commands,
            lambda replies: (
                {int(a): float(w) for a, w in replies[0]},
                {t: float(w) for t, w in replies[1]},
            ),
        )


T = TypeVar("T")


class Slot(Generic[T]):
    """A value a batch will have read once it runs."""

    def __init__(self) -> None:
        self._value: T | None = None
        self.ready = False

    @property
    def value(self) -> T:
        if not self.ready:
            raise RuntimeError("the batch has not run")
        return self._value  # type: ignore[return-value]

    def fill(self, value: T) -> None:
        self._value, self.ready = value, True


class PipelineBatch:
    """Reads from several stores queued into one pipeline: one round trip for all of them."""

    def __init__(self, client: Any) -> None:
        self.pipe = client.pipeline(transaction=False)
        self._parsers: list[tuple[int, Callable[[list[Any]], Any], Slot[Any]]] = []

    def queue(self, commands: Callable[[Any], int], parse: Callable[[list[Any]], T]) -> Slot[T]:
        slot: Slot[T] = Slot()
        self._parsers.append((commands(self.pipe), parse, slot))
        return slot

    def execute(self) -> None:
        if not self._parsers:
            return
        replies = self.pipe.execute()
        offset = 0
        for count, parse, slot in self._parsers:
            slot.fill(parse(replies[offset : offset + count]))
            offset += count


def post_cache_key(post_id: int) -> str:
    return f"post:{{{post_id}}}"


class PostCache:
    """Post records as Redis hashes, with the author's username beside them (usernames never change)."""

    def __init__(self, client: Any, ttl_seconds: int = 86_400) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    def queue_get(self, batch: PipelineBatch, post_ids: list[int]) -> Slot[dict[int, dict[str, str]]]:
        def commands(pipe: Any) -> int:
            for post_id in post_ids:
                pipe.hgetall(post_cache_key(post_id))
            return len(post_ids)

        return batch.queue(commands, lambda replies: {p: r for p, r in zip(post_ids, replies, strict=True) if r})

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


LIVE_SETS_MARKER = "st:live-sets-intact"


def live_stories_key(author_id: int) -> str:
    return f"stories:{{{author_id}}}"


def stories_changed_key(author_id: int) -> str:
    return f"stories:{{{author_id}}}:changed"


def seen_stories_key(viewer_id: int) -> str:
    return f"seen:{{{viewer_id}}}"


def story_views_key(story_id: int) -> str:
    return f"story:{{{story_id}}}:views"


def tray_key(viewer_id: int) -> str:
    return f"tray:{{{viewer_id}}}"


def story_record_key(story_id: int) -> str:
    return f"storyrec:{{{story_id}}}"


class StoryCache:
    """Live stories per author (a sorted set scored by publish time), what each viewer has seen, live view counts,
    and each viewer's precomputed stories tray."""

    def __init__(self, client: Any, ttl_seconds: int) -> None:
        self._redis = client
        self._ttl = ttl_seconds
        self._keep = 2 * ttl_seconds  # seen sets and counts outlive the stories they are about

    def add_live(self, author_id: int, story_id: int, created_ms: int, now_ms: int) -> None:
        key = live_stories_key(author_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.zadd(key, {str(story_id): created_ms}, nx=True)  # a redelivery never moves a story's time
        pipe.zremrangebyscore(key, "-inf", f"({now_ms - self._ttl * 1000}")
        pipe.expire(key, self._ttl)
        pipe.set(stories_changed_key(author_id), now_ms, ex=self._ttl)
        pipe.execute()

    def live_sets_intact(self) -> bool:
        """False when Redis has lost its data since the live sets were last known whole (a failover without a
        replica, a flush): the marker, set with no TTL, goes with everything else."""
        return bool(self._redis.exists(LIVE_SETS_MARKER))

    def queue_live_sets_intact(self, batch: PipelineBatch) -> Slot[bool]:
        def commands(pipe: Any) -> int:
            pipe.exists(LIVE_SETS_MARKER)
            return 1

        return batch.queue(commands, lambda replies: bool(replies[0]))

    def mark_live_sets_intact(self) -> None:
        self._redis.set(LIVE_SETS_MARKER, "1")

    def remove_live(self, author_id: int, story_ids: Iterable[int], now_ms: int) -> None:
        members = [str(s) for s in story_ids]
        if members:
            pipe = self._redis.pipeline(transaction=False)
            pipe.zrem(live_stories_key(author_id), *members)
            pipe.set(stories_changed_key(author_id), now_ms, ex=self._ttl)
            pipe.execute()

    def queue_live(
        self, batch: PipelineBatch, author_ids: list[int], since_ms: int
    ) -> Slot[dict[int, list[tuple[int, int]]]]:
        """Each author's stories published after `since_ms`, as (story_id, created_ms), oldest first."""

        def commands(pipe: Any) -> int:
            for author_id in author_ids:
                pipe.zrangebyscore(live_stories_key(author_id), f"({since_ms}", "+inf", withscores=True)
            return len(author_ids)

        def parse(replies: list[Any]) -> dict[int, list[tuple[int, int]]]:
            return {
                author: [(int(member), int(score)) for member, score in reply]
                for author, reply in zip(author_ids, replies, strict=True)
                if reply
            }

        return batch.queue(commands, parse)

    def queue_changed(self, batch: PipelineBatch, author_ids: list[int]) -> Slot[dict[int, int]]:
        """When each author's live stories last changed (a story went live or was taken down), platform ms."""

        def commands(pipe: Any) -> int:
            for author_id in author_ids:
                pipe.get(stories_changed_key(author_id))
            return len(author_ids)

        return batch.queue(
            commands,
            lambda replies: {a: int(r) for a, r in zip(author_ids, replies, strict=True) if r is not None},
        )

    def mark_seen(self, viewer_id: int, story_id: int, now_ms: int) -> bool:
        """Record that the viewer saw the story; True only the first time.

        What a viewer saw is a sorted set by view time, trimmed to the last two story lives: no story seen
        earlier can still be live, so it never grows past what one can watch in two days.
        """
        key = seen_stories_key(viewer_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.zadd(key, {str(story_id): now_ms}, nx=True)
        pipe.zremrangebyscore(key, "-inf", f"({now_ms - self._keep * 1000}")
        pipe.expire(key, self._keep)
        added, *_ = pipe.execute()
        return bool(added)

    def queue_seen(self, batch: PipelineBatch, viewer_id: int) -> Slot[set[int]]:
        return batch.queue(
            _single(lambda pipe: pipe.zrange(seen_stories_key(viewer_id), 0, -1)),
            lambda replies: {int(s) for s in replies[0]},
        )

    def queue_has_seen(self, batch: PipelineBatch, viewer_id: int, story_id: int) -> Slot[bool]:
        return batch.queue(
            _single(lambda pipe: pipe.zscore(seen_stories_key(viewer_id), str(story_id))),
            lambda replies: replies[0] is not None,
        )

    def counted(self, story_id: int, viewer_id: int, author_id: int, affinity_weight: float) -> None:
        """After a first view: count it, add to the viewer's affinity to the author, and drop the viewer's tray."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.incr(story_views_key(story_id))
        pipe.expire(story_views_key(story_id), self._keep)
        _queue_affinity(pipe, affinity_keys(viewer_id)[0], str(author_id), affinity_weight)
        pipe.delete(tray_key(viewer_id))
        pipe.execute()

    def view_count(self, story_id: int) -> int | None:
        found = self._redis.get(story_views_key(story_id))
        return None if found is None else int(found)

    def queue_counts(self, batch: PipelineBatch, story_ids: list[int]) -> Slot[list[int | None]]:
        def commands(pipe: Any) -> int:
            for story_id in story_ids:
                pipe.get(story_views_key(story_id))
            return len(story_ids)

        return batch.queue(commands, lambda replies: [None if r is None else int(r) for r in replies])

    def queue_tray(self, batch: PipelineBatch, viewer_id: int) -> Slot[tuple[dict[str, Any] | None, list[int]]]:
        """The viewer's cached tray (None when it must be built) and the celebrities they follow."""

        def commands(pipe: Any) -> int:
            pipe.get(tray_key(viewer_id))
            pipe.smembers(celebrities_followed_key(viewer_id))
            return 2

        return batch.queue(
            commands,
            lambda replies: (json.loads(replies[0]) if replies[0] else None, sorted(int(c) for c in replies[1])),
        )

    def queue_record(self, batch: PipelineBatch, story_id: int) -> Slot[str | None]:
        """A story record's cached JSON (None on a miss), read as part of a batch."""
        return batch.queue(_single(lambda pipe: pipe.get(story_record_key(story_id))), lambda replies: replies[0])

    def put_record(self, story_id: int, record_json: str, seconds: int) -> None:
        self._redis.set(story_record_key(story_id), record_json, ex=max(1, seconds))

    def forget_record(self, story_id: int) -> None:
        self._redis.delete(story_record_key(story_id))

    def forget(self, story_id: int) -> None:
        """A deleted story's keys: its cached record and its view count."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.delete(story_record_key(story_id))
        pipe.delete(story_views_key(story_id))
        pipe.execute()

    def put_tray(self, viewer_id: int, tray: dict[str, Any], seconds: int) -> None:
        self._redis.set(tray_key(viewer_id), json.dumps(tray), ex=max(1, seconds))

    def forget_trays(self, viewer_ids: Iterable[int], batch_size: int = 500) -> int:
        """Drop precomputed trays (a followee posted a story, a follow changed); returns how many were asked."""
        done = 0
        pending = list(viewer_ids)
        for start in range(0, len(pending), batch_size):
            pipe = self._redis.pipeline(transaction=False)
            for viewer_id in pending[start : start + batch_size]:
                pipe.delete(tray_key(viewer_id))
            pipe.execute()
            done += len(pending[start : start + batch_size])
        return done
