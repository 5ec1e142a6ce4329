"""The search index in Redis: users by folded name prefix, hashtags by prefix with their post counts.

Users: lexicographic sorted sets (every score 0, so ZRANGEBYLEX orders by member). A member is the folded name (cut
to MAX_NAME_BYTES), a NUL and the user id in base 62: the NUL sorts before every character, so a name that is a
prefix of another comes first, and the id keeps two people of the same name apart.

The members are spread over small buckets so that each stays in Redis's compact encoding (a listpack, a ziplist
before 7.0: about the member's length plus a few bytes, where a skiplist node, dictionary entry and string take
some 110 bytes more; bench/search.py measures both): at most zset-max-listpack-entries (128) members of at most 64
bytes. Names are grouped by their first ROOT_CHARS characters (the root, `usearch:{ann}:...`, one hash tag): a root
starts as one bucket named by the root; a bucket that passes SPLIT_AT members is split by the next byte of its
names into child buckets (a name that ends there goes to the bucket `<prefix>\0`), down to MAX_DEPTH bytes. Which
prefixes are split is a set per root, and the buckets in use a lexicographic set per root. Every step (choosing a
name's bucket, adding, removing, splitting, and a query's walk through the buckets) is a Lua script over the keys of
one root, so it is atomic and cluster-safe (one hash tag); a list of roots (`usearch:roots`) serves queries shorter
than a root.

Hashtags: per first character of the tag, a lexicographic set of the tags and a sorted set of their post counts,
under one hash tag so both are on one node. A one-character query reads the counts in order; a longer one reads the
matching tags by range (at most HASHTAG_CANDIDATES) and their counts with ZMSCORE.

The index holds nothing DynamoDB does not: it is rebuilt from the users and hashtags tables (aperture.search).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import redis

ROOT_CHARS = 3
SPLIT_AT = 100  # members of a bucket past which it is split (under the compact encoding's 128)
MAX_DEPTH = 64  # bytes of member prefix: every member is shorter, so any bucket can be split
MAX_NAME_BYTES = 48  # members stay under the compact encoding's 64 bytes: name + NUL + 11-character id
ROOTS_KEY = "usearch:roots"
ROOTS_STEP = 4  # roots read per round trip for a query shorter than a root
HASHTAG_CANDIDATES = 500
BUILT_KEY = "usearch:built"  # set once a rebuild from DynamoDB has finished; gone with the rest if Redis is lost
_TOP = "\U0010ffff"  # above every character: the end of a prefix range
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_WIDTH = 11  # 62**11 > 2**64


def encode_id(user_id: int) -> str:
    digits = []
    for _ in range(_ID_WIDTH):
        user_id, digit = divmod(user_id, 62)
        digits.append(_DIGITS[digit])
    return "".join(reversed(digits))


def decode_id(text: str) -> int:
    value = 0
    for char in text:
        value = value * 62 + _DIGITS.index(char)
    return value


def cut(name: str) -> str:
    """The name as indexed: at most MAX_NAME_BYTES of UTF-8, on a character boundary."""
    return name.encode()[:MAX_NAME_BYTES].decode(errors="ignore")


def root_of(name: str) -> str:
    return name[:ROOT_CHARS]


def root_keys(root: str) -> tuple[str, str]:
    """(split prefixes, buckets in use) of a root; its buckets are usearch:{root}:b:<prefix>."""
    return f"usearch:{{{root}}}:split", f"usearch:{{{root}}}:dir"


def member(name: str, user_id: int) -> str:
    return f"{cut(name)}\x00{encode_id(user_id)}"


# Buckets are split at character boundaries only (not before a UTF-8 continuation byte), so every key is valid UTF-8.
_BOUNDARY = """
local function boundary(s, len)
  local b = string.byte(s, len + 1)
  return b == nil or b < 128 or b >= 192
end
"""

# Shared by the scripts: the bucket a member (bytes) belongs in. ARGV[1] is the root's length in bytes (the shortest
# prefix), KEYS[1] the root's split prefixes. The bucket is the member's first prefix that is not split; members are
# unique, so a bucket can always be split further (namesakes by the id after their NUL).
_BUCKET_OF = (
    _BOUNDARY
    + """
local function bucket_of(entry, min_len)
  local top = math.min(#entry, MAX_DEPTH)
  for len = min_len, top do
    local prefix = string.sub(entry, 1, len)
    if boundary(entry, len) and redis.call('SISMEMBER', KEYS[1], prefix) == 0 then return prefix end
  end
  return string.sub(entry, 1, top)
end
local function key_of(bucket) return KEY_PREFIX .. bucket end
"""
)

# KEYS: split, dir. ARGV: root length, key prefix, max depth, split size, then members. Adds each; splits a bucket
# that grows past the split size (unless at MAX_DEPTH) by the next byte of its members.
_ADD = (
    """
local MAX_DEPTH, SPLIT_AT, KEY_PREFIX = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[2]
"""
    + _BUCKET_OF
    + """
local min_len = tonumber(ARGV[1])
for i = 5, #ARGV do
  local bucket = bucket_of(ARGV[i], min_len)
  redis.call('ZADD', key_of(bucket), 0, ARGV[i])
  redis.call('ZADD', KEYS[2], 0, bucket)
  if #bucket < MAX_DEPTH and redis.call('ZCARD', key_of(bucket)) > SPLIT_AT then
    redis.call('SADD', KEYS[1], bucket)
    redis.call('ZREM', KEYS[2], bucket)
    local moved = redis.call('ZRANGE', key_of(bucket), 0, -1)
    redis.call('DEL', key_of(bucket))
    for _, m in ipairs(moved) do
      local child = bucket_of(m, #bucket)
      redis.call('ZADD', key_of(child), 0, m)
      redis.call('ZADD', KEYS[2], 0, child)
    end
  end
end
return 1
"""
)

# KEYS: split, dir. ARGV: root length, key prefix, max depth, split size, then members.
_REMOVE = (
    """
local MAX_DEPTH, KEY_PREFIX = tonumber(ARGV[3]), ARGV[2]
"""
    + _BUCKET_OF
    + """
local min_len = tonumber(ARGV[1])
for i = 5, #ARGV do
  redis.call('ZREM', key_of(bucket_of(ARGV[i], min_len)), ARGV[i])
end
return 1
"""
)

# KEYS: split, dir. ARGV: root length, key prefix, max depth, query (bytes), limit. Members starting with the query,
# in order, at most `limit`: from its one bucket if a prefix of it is not split, else from every bucket in use
# whose name starts with it (in order) until the limit.
_PREFIX = (
    _BOUNDARY
    + """
local MAX_DEPTH, KEY_PREFIX = tonumber(ARGV[3]), ARGV[2]
local function key_of(bucket) return KEY_PREFIX .. bucket end
local q, limit, min_len = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[1])
local top = math.min(#q, MAX_DEPTH)
for len = min_len, top do
  local prefix = string.sub(q, 1, len)
  if boundary(q, len) and redis.call('SISMEMBER', KEYS[1], prefix) == 0 then
    return redis.call('ZRANGEBYLEX', key_of(prefix), '[' .. q, '(' .. q .. '\\255', 'LIMIT', 0, limit)
  end
end
local found = {}
local buckets = redis.call('ZRANGEBYLEX', KEYS[2], '[' .. q, '(' .. q .. '\\255')
for _, bucket in ipairs(buckets) do
  local part = redis.call('ZRANGEBYLEX', key_of(bucket), '[' .. q, '(' .. q .. '\\255', 'LIMIT', 0, limit - #found)
  for _, m in ipairs(part) do found[#found + 1] = m end
  if #found >= limit then break end
end
return found
"""
)


class UserSearchIndex:
    def __init__(self, client: Any) -> None:
        self._redis = client
        self._add = client.register_script(_ADD)
        self._remove = client.register_script(_REMOVE)
        self._prefix = client.register_script(_PREFIX)

    def _args(self, root: str) -> list[Any]:
        return [len(root.encode()), f"usearch:{{{root}}}:b:", MAX_DEPTH, SPLIT_AT]

    def replace(self, user_id: int, old_names: Iterable[str], new_names: Iterable[str]) -> None:
        """Take the old names out and put the new ones in (folded names; empty ones skipped). Idempotent: applied
        again, the same members end up there."""
        new = {cut(n) for n in new_names if n}
        old = {cut(n) for n in old_names if n} - new
        for name in old:
            root = root_of(name)
            self._remove(keys=list(root_keys(root)), args=[*self._args(root), member(name, user_id)])
        for name in new:
            root = root_of(name)
            self._add(keys=list(root_keys(root)), args=[*self._args(root), member(name, user_id)])
            self._redis.zadd(ROOTS_KEY, {root: 0})

    def add_many(self, entries: Sequence[tuple[int, Sequence[str]]]) -> None:
        """Index many users: one script call per root (a rebuild, a benchmark's load)."""
        roots: dict[str, list[str]] = {}
        for user_id, names in entries:
            for name in {cut(n) for n in names if n}:
                roots.setdefault(root_of(name), []).append(member(name, user_id))
        if not roots:
            return
        # Pipelined, except on a cluster, whose pipelines take no scripts (there, one round trip per root)
        pipe = None if isinstance(self._redis, redis.RedisCluster) else self._redis.pipeline(transaction=False)
        for root, pairs in roots.items():
            self._add(keys=list(root_keys(root)), args=[*self._args(root), *pairs], client=pipe)
        if pipe is not None:
            pipe.execute()
        self._redis.zadd(ROOTS_KEY, dict.fromkeys(roots, 0))

    def prefix(self, folded_query: str, limit: int) -> list[int]:
        """Ids of users with a folded name starting with the query, in name order, at most `limit` (distinct)."""
        query = cut(folded_query)
        found: dict[int, None] = {}
        if len(query) >= ROOT_CHARS:
            self._collect(found, root_of(query), query, limit)
            return list(found)
        start = f"[{query}"
        while len(found) < limit:
            roots = self._redis.zrangebylex(ROOTS_KEY, start, f"({query}{_TOP}", start=0, num=ROOTS_STEP)
            if not roots:
                break
            for root in roots:
                self._collect(found, root, query, limit)
                if len(found) >= limit:
                    break
            start = f"({roots[-1]}"
        return list(found)

    def _collect(self, found: dict[int, None], root: str, query: str, limit: int) -> None:
        args = self._args(root)[:3]
        for entry in self._prefix(keys=list(root_keys(root)), args=[*args, query, limit - len(found)]):
            found[decode_id(entry.rsplit("\x00", 1)[1])] = None
            if len(found) >= limit:
                return

    def mark_built(self) -> None:
        self._redis.set(BUILT_KEY, "1")

    def built(self) -> bool:
        return bool(self._redis.exists(BUILT_KEY))


def hashtag_keys(tag: str) -> tuple[str, str]:
    """(lexicographic set, counts) of the tags starting with this tag's first character: one hash tag."""
    slot = f"htag:{{{tag[:1]}}}"
    return f"{slot}:lex", f"{slot}:count"


class HashtagSearchIndex:
    def __init__(self, client: Any) -> None:
        self._redis = client

    def set_counts(self, counts: dict[str, int]) -> None:
        """Each tag's post count as DynamoDB has it (absolute, so applying it again changes nothing); a tag no post
        uses any more leaves the index."""
        pipe = self._redis.pipeline(transaction=False)
        for tag, count in counts.items():
            lex, scores = hashtag_keys(tag)
            if count > 0:
                pipe.zadd(lex, {tag: 0})
                pipe.zadd(scores, {tag: count})
            else:
                pipe.zrem(lex, tag)
                pipe.zrem(scores, tag)
        if counts:
            pipe.execute()

    def prefix(self, query: str, limit: int) -> list[tuple[str, int]]:
        """Tags starting with the query, most used first (then by name)."""
        lex, scores = hashtag_keys(query)
        if len(query) == 1:
            top = self._redis.zrevrangebyscore(scores, "+inf", 1, start=0, num=limit, withscores=True)
            return [(str(tag), int(count)) for tag, count in top]
        tags = self._redis.zrangebylex(lex, f"[{query}", f"({query}{_TOP}", start=0, num=HASHTAG_CANDIDATES)
        if not tags:
            return []
        counts = self._redis.zmscore(scores, tags)
        ranked = sorted(
            ((str(t), int(c)) for t, c in zip(tags, counts, strict=True) if c), key=lambda tc: (-tc[1], tc[0])
        )
        return ranked[:limit]


# -- a hashtag's top posts: engagement per post in day buckets, the last seven summed ------------------------------

TOP_DAYS = 7
TOP_DAY_SECONDS = (TOP_DAYS + 1) * 86_400
_DAY_MS = 86_400_000


def hashtag_day_key(tag: str, day: int) -> str:
    """A tag's engagement per post on one day (unix days); the tag's days share a hash tag, for the union."""
    return f"htop:{{{tag}}}:{day}"


def queue_hashtag_engagement(pipe: Any, tags: Iterable[str], post_id: int, weight: float, at_ms: int) -> None:
    """Count an engagement with a post into each of its tags' day buckets (explore's signals consumer does it, with
    the rest of the engagement)."""
    day = at_ms // _DAY_MS
    for tag in tags:
        key = hashtag_day_key(tag, day)
        pipe.zincrby(key, weight, str(post_id))
        pipe.expire(key, TOP_DAY_SECONDS)


SCRATCH_SECONDS = 10  # a Top page's union of day buckets, if its DEL never ran


class HashtagTop:
    def __init__(self, client: Any) -> None:
        self._redis = client

    def top(self, tag: str, now_ms: int, limit: int) -> list[int]:
        """The tag's posts by engagement over the last TOP_DAYS days, best first (only those with some)."""
        today = now_ms // _DAY_MS
        days = [hashtag_day_key(tag, day) for day in range(today - TOP_DAYS + 1, today + 1)]
        # A scratch key of this request's own, in one MULTI (same slot as the days: the tag is the hash tag), that
        # expires even if the DEL never runs: concurrent pages of one tag cannot disturb each other
        scratch = f"htop:{{{tag}}}:union:{uuid.uuid4().hex}"
        pipe = self._redis.pipeline(transaction=True)
        pipe.zunionstore(scratch, days)
        pipe.expire(scratch, SCRATCH_SECONDS)
        pipe.zrevrangebyscore(scratch, "+inf", "(0", start=0, num=limit)
        pipe.delete(scratch)
        return [int(post_id) for post_id in pipe.execute()[2]]
