"""The search index in Redis: users by folded name prefix, hashtags by prefix with their post counts.

Users: lexicographic sorted sets (every score 0, so ZRANGEBYLEX orders by member) split into buckets by the first
BUCKET_CHARS characters of the folded name. Each bucket is a small sorted set, which Redis keeps in its compact
encoding (a listpack, a ziplist before 7.0) up to zset-max-listpack-entries (128) members of at most 64 bytes:
about 30 bytes a member instead of the ~110 of a skiplist node, dictionary entry and string (bench/search.py
measures both). A member is the folded name (cut to MAX_NAME_BYTES), a NUL, and the user id in base 62: the NUL
sorts before every character, so a user whose name is a prefix of another's comes first, and the id keeps two
people of the same name apart. A directory set lists the buckets, for queries shorter than a bucket's name.

Every command names one key, so nothing crosses slots in cluster mode; a pipeline over many buckets is split per
node by the cluster client. The directory is the one key every short query reads (a range of at most
DIRECTORY_STEP names, O(log n)); it changes only when a new bucket appears.

Hashtags: per first character of the tag, a lexicographic set of the tags and a sorted set of their post counts,
under one hash tag so both are on one node. A one-character query reads the counts in order; a longer one reads the
matching tags by range (at most HASHTAG_CANDIDATES) and their counts with ZMSCORE.

The index holds nothing DynamoDB does not: it is rebuilt from the users and hashtags tables (aperture.search).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

BUCKET_CHARS = 3
MAX_NAME_BYTES = 48  # members stay under the compact encoding's 64 bytes: name + NUL + 11-character id
DIRECTORY_KEY = "usearch:dir"
DIRECTORY_STEP = 4  # buckets read per round trip for a short query (each up to the candidates still wanted)
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


def bucket_of(name: str) -> str:
    return name[:BUCKET_CHARS]


def bucket_key(bucket: str) -> str:
    return f"usearch:{{{bucket}}}"


def member(name: str, user_id: int) -> str:
    return f"{cut(name)}\x00{encode_id(user_id)}"


def hashtag_keys(tag: str) -> tuple[str, str]:
    """(lexicographic set, counts) of the tags starting with this tag's first character: one hash tag."""
    slot = f"htag:{{{tag[:1]}}}"
    return f"{slot}:lex", f"{slot}:count"


class UserSearchIndex:
    def __init__(self, client: Any) -> None:
        self._redis = client

    def replace(self, user_id: int, old_names: Iterable[str], new_names: Iterable[str]) -> None:
        """Take the old names out and put the new ones in (folded names; empty ones skipped). Idempotent: applied
        again, the same members end up there."""
        new = {cut(n) for n in new_names if n}
        old = {cut(n) for n in old_names if n} - new
        pipe = self._redis.pipeline(transaction=False)
        for name in old:
            pipe.zrem(bucket_key(bucket_of(name)), member(name, user_id))
        for name in new:
            pipe.zadd(bucket_key(bucket_of(name)), {member(name, user_id): 0})
            pipe.zadd(DIRECTORY_KEY, {bucket_of(name): 0})
        pipe.execute()

    def add_many(self, entries: Sequence[tuple[int, Sequence[str]]]) -> None:
        """Index many users in one pipeline, one ZADD per bucket (a rebuild, a benchmark's load)."""
        buckets: dict[str, dict[str, int]] = {}
        for user_id, names in entries:
            for name in {cut(n) for n in names if n}:
                buckets.setdefault(bucket_of(name), {})[member(name, user_id)] = 0
        if not buckets:
            return
        pipe = self._redis.pipeline(transaction=False)
        for bucket, members in buckets.items():
            pipe.zadd(bucket_key(bucket), members)
        pipe.zadd(DIRECTORY_KEY, dict.fromkeys(buckets, 0))
        pipe.execute()

    def prefix(self, folded_query: str, limit: int) -> list[int]:
        """Ids of users with a folded name starting with the query, in name order, at most `limit` (distinct)."""
        query = cut(folded_query)
        found: dict[int, None] = {}
        if len(query) >= BUCKET_CHARS:
            self._collect(found, [bucket_of(query)], query, limit)
            return list(found)
        start = f"[{query}"
        while len(found) < limit:
            buckets = self._redis.zrangebylex(DIRECTORY_KEY, start, f"({query}{_TOP}", start=0, num=DIRECTORY_STEP)
            if not buckets:
                break
            self._collect(found, buckets, query, limit)
            start = f"({buckets[-1]}"
        return list(found)

    def _collect(self, found: dict[int, None], buckets: list[str], query: str, limit: int) -> None:
        pipe = self._redis.pipeline(transaction=False)
        wanted = limit - len(found)
        for bucket in buckets:
            pipe.zrangebylex(bucket_key(bucket), f"[{query}", f"({query}{_TOP}", start=0, num=wanted)
        for members in pipe.execute():
            for entry in members:
                found[decode_id(entry.rsplit("\x00", 1)[1])] = None
                if len(found) >= limit:
                    return

    def mark_built(self) -> None:
        self._redis.set(BUILT_KEY, "1")

    def built(self) -> bool:
        return bool(self._redis.exists(BUILT_KEY))


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


class HashtagTop:
    def __init__(self, client: Any) -> None:
        self._redis = client

    def top(self, tag: str, now_ms: int, limit: int) -> list[int]:
        """The tag's posts by engagement over the last TOP_DAYS days, best first (only those with some)."""
        today = now_ms // _DAY_MS
        days = [hashtag_day_key(tag, day) for day in range(today - TOP_DAYS + 1, today + 1)]
        scratch = f"htop:{{{tag}}}:union"
        pipe = self._redis.pipeline(transaction=False)
        pipe.zunionstore(scratch, days)
        pipe.zrevrangebyscore(scratch, "+inf", "(0", start=0, num=limit)
        pipe.delete(scratch)
        return [int(post_id) for post_id in pipe.execute()[1]]
