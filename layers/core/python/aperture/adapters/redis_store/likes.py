"""Live like counts: each post's count, likers (a set, then a scalable Bloom filter), applied events and locks."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterable
from typing import Any

from aperture.adapters.redis_store.client import PipelineBatch, Script, Slot, per_id
from aperture.bloom import ScalableBloom


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
_BLOOM_BITS = 3  # the live script's answer in Bloom mode: the viewer's bits follow, for the caller to test

# A post's live count and whether the viewer liked it, in one call (KEYS: count, set, bloom; ARGV: the viewer, then
# their Bloom positions as one space-separated string, read only in Bloom mode). Replies: {UNKNOWN} when the cache is
# lost; {LIKED or NOT_LIKED, count}; or {_BLOOM_BITS, count, bit...} with the viewer's bit at each position.
_LIVE = """
local n = redis.call('GET', KEYS[1])
if not n then return {-1} end
if redis.call('EXISTS', KEYS[3]) == 1 then
  local args = {KEYS[3]}
  for position in string.gmatch(ARGV[2], '%d+') do
    args[#args + 1] = 'GET'
    args[#args + 1] = 'u1'
    args[#args + 1] = position
  end
  return {3, n, unpack(redis.call('BITFIELD', unpack(args)))}
end
return {redis.call('SISMEMBER', KEYS[2], ARGV[1]), n}
"""
LIVE_SCRIPT = Script(_LIVE)


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
        return batch.queue(
            per_id(lambda pipe, post_id: pipe.get(likes_keys(post_id)[0]), post_ids),
            lambda replies: [int(v) if v is not None else None for v in replies],
        )

    def queue_live(self, batch: PipelineBatch, post_ids: list[int], user_id: int) -> Slot[list[tuple[int | None, int]]]:
        """Per post, its live like count (None when its cache is lost) and LIKED, NOT_LIKED, MAYBE or UNKNOWN for
        the viewer: one script call of a few arguments per post, where `queue_counts` and `queue_states` queue five
        commands and about 215 arguments (the viewer's Bloom positions for every post, in Bloom mode or not)."""
        positions = " ".join(map(str, self._bloom.positions(user_id)))

        def commands(pipe: Any) -> int:
            for post_id in post_ids:
                LIVE_SCRIPT.queue(pipe, likes_keys(post_id), (user_id, positions))
            return len(post_ids)

        def parse(replies: list[Any]) -> list[tuple[int | None, int]]:
            live: list[tuple[int | None, int]] = []
            for reply in replies:
                state = int(reply[0])
                if state == UNKNOWN:
                    live.append((None, UNKNOWN))
                elif state == _BLOOM_BITS:
                    bits = [int(bit) for bit in reply[2:]]
                    live.append((int(reply[1]), MAYBE if self._bloom.contains(bits) else NOT_LIKED))
                else:
                    live.append((int(reply[1]), LIKED if state else NOT_LIKED))
            return live

        return batch.queue(commands, parse, scripts=(LIVE_SCRIPT,))

    def queue_states(self, batch: PipelineBatch, post_ids: list[int], user_id: int) -> Slot[list[int]]:
        """LIKED, NOT_LIKED, MAYBE or UNKNOWN per post.

        Plain commands rather than a script, because cluster pipelines refuse scripts: per post, whether its
        cache exists, whether it is in Bloom mode, set membership, and the user's bits in every Bloom layer (one
        BITFIELD; bits past the filter's end read 0, so layers a post has not reached cost nothing to store).
        """
        # The same BITFIELD arguments for every post (the user's positions), built once: a feed page asks for 20
        # posts of about 70 positions each, and building them per post, a call per position, took about 7% of a
        # warm feed's time in a profile.
        gets = [arg for position in self._bloom.positions(user_id) for arg in (b"GET", b"u1", position)]

        def commands(pipe: Any) -> int:
            for post_id in post_ids:
                count_key, set_key, bloom_key = likes_keys(post_id)
                pipe.exists(count_key)
                pipe.exists(bloom_key)
                pipe.sismember(set_key, user_id)
                pipe.execute_command("BITFIELD", bloom_key, *gets)
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
        batch = PipelineBatch(self._redis)
        slot = self.queue_counts(batch, post_ids)
        batch.execute()
        return slot.value

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
