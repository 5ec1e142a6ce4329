"""Stories in Redis: live stories per author, what each viewer has seen, view counts, cached records and trays."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, NamedTuple

from aperture.adapters.redis_store.affinity import affinity_keys, queue_affinity
from aperture.adapters.redis_store.client import PipelineBatch, Slot, execute_in_batches, per_id, single
from aperture.adapters.redis_store.timeline import celebrities_followed_key

LIVE_SETS_MARKER = "st:live-sets-intact"


def live_stories_key(author_id: int) -> str:
    return f"stories:{{{author_id}}}"


def close_stories_key(author_id: int) -> str:
    """The author's live stories for close friends only (a subset of the live set, scored the same)."""
    return f"stories:{{{author_id}}}:close"


def stories_changed_key(author_id: int) -> str:
    return f"stories:{{{author_id}}}:changed"


def seen_stories_key(viewer_id: int) -> str:
    return f"seen:{{{viewer_id}}}"


def story_views_key(story_id: int) -> str:
    return f"story:{{{story_id}}}:views"


def tray_key(viewer_id: int) -> str:
    return f"tray:{{{viewer_id}}}"


def tray_version_key(viewer_id: int) -> str:
    """Bumped each time the viewer's tray is dropped, so a tray built before the drop is never stored after it."""
    return f"tray:{{{viewer_id}}}:v"


def story_record_key(story_id: int) -> str:
    return f"storyrec:{{{story_id}}}"


# A tray drop's mark needs to outlive only a tray being built meanwhile (a few round trips). When the mark lapses
# under a build, the stored version no longer matches the one read and the build is simply not kept.
TRAY_VERSION_SECONDS = 300
# Store the tray only if it was not dropped since it was read: a build that raced a new story stays unstored.
_PUT_TRAY_UNLESS_DROPPED = """
if (redis.call('GET', KEYS[2]) or '') == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""


def _queue_drop_tray(pipe: Any, viewer_id: int) -> None:
    pipe.delete(tray_key(viewer_id))
    pipe.incr(tray_version_key(viewer_id))
    pipe.expire(tray_version_key(viewer_id), TRAY_VERSION_SECONDS)


def _queue_windowed_add(pipe: Any, key: str, member: str, score: int, now_ms: int, seconds: int) -> None:
    """Add to a sorted set of the last `seconds` (scored in ms): a member already there keeps its score (a
    redelivery never moves it), older members go, and the set itself goes `seconds` after this write."""
    pipe.zadd(key, {member: score}, nx=True)
    pipe.zremrangebyscore(key, "-inf", f"({now_ms - seconds * 1000}")
    pipe.expire(key, seconds)


class TrayRead(NamedTuple):
    cached: dict[str, Any] | None
    celebrities: list[int]
    version: str


class StoryCache:
    """Live stories per author (a sorted set scored by publish time), what each viewer has seen, live view counts,
    and each viewer's precomputed stories tray."""

    def __init__(self, client: Any, ttl_seconds: int) -> None:
        self._redis = client
        self._put_tray = client.register_script(_PUT_TRAY_UNLESS_DROPPED)
        self._ttl = ttl_seconds
        self._keep = 2 * ttl_seconds  # seen sets and counts outlive the stories they are about

    def add_live(self, author_id: int, story_id: int, created_ms: int, now_ms: int, close: bool = False) -> None:
        pipe = self._redis.pipeline(transaction=False)
        _queue_windowed_add(pipe, live_stories_key(author_id), str(story_id), created_ms, now_ms, self._ttl)
        if close:  # (added with it, in the same slot: a reader never sees it live without its audience)
            _queue_windowed_add(pipe, close_stories_key(author_id), str(story_id), created_ms, now_ms, self._ttl)
        pipe.set(stories_changed_key(author_id), now_ms, ex=self._ttl)
        pipe.execute()

    def live_sets_intact(self) -> bool:
        """False when Redis has lost its data since the live sets were last known whole (a failover without a
        replica, a flush): the marker, set with no TTL, goes with everything else."""
        return bool(self._redis.exists(LIVE_SETS_MARKER))

    def queue_live_sets_intact(self, batch: PipelineBatch) -> Slot[bool]:
        return batch.queue(single(lambda pipe: pipe.exists(LIVE_SETS_MARKER)), lambda replies: bool(replies[0]))

    def mark_live_sets_intact(self) -> None:
        self._redis.set(LIVE_SETS_MARKER, "1")

    def remove_live(self, author_id: int, story_ids: Iterable[int], now_ms: int) -> None:
        members = [str(s) for s in story_ids]
        if members:
            pipe = self._redis.pipeline(transaction=False)
            pipe.zrem(live_stories_key(author_id), *members)
            pipe.zrem(close_stories_key(author_id), *members)
            pipe.set(stories_changed_key(author_id), now_ms, ex=self._ttl)
            pipe.execute()

    def queue_live(
        self, batch: PipelineBatch, author_ids: list[int], since_ms: int
    ) -> Slot[dict[int, list[tuple[int, int]]]]:
        """Each author's stories published after `since_ms`, as (story_id, created_ms), oldest first."""

        def live_since(pipe: Any, author_id: int) -> None:
            pipe.zrangebyscore(live_stories_key(author_id), f"({since_ms}", "+inf", withscores=True)

        def parse(replies: list[Any]) -> dict[int, list[tuple[int, int]]]:
            return {
                author: [(int(member), int(score)) for member, score in reply]
                for author, reply in zip(author_ids, replies, strict=True)
                if reply
            }

        return batch.queue(per_id(live_since, author_ids), parse)

    def queue_close(self, batch: PipelineBatch, author_ids: list[int], since_ms: int) -> Slot[set[int]]:
        """The ids of the authors' live close-friends stories published after `since_ms`."""

        def close_since(pipe: Any, author_id: int) -> None:
            pipe.zrangebyscore(close_stories_key(author_id), f"({since_ms}", "+inf")

        return batch.queue(per_id(close_since, author_ids), lambda replies: {int(s) for r in replies for s in r})

    def queue_changed(self, batch: PipelineBatch, author_ids: list[int]) -> Slot[dict[int, int]]:
        """When each author's live stories last changed (a story went live or was taken down), platform ms."""

        return batch.queue(
            per_id(lambda pipe, author_id: pipe.get(stories_changed_key(author_id)), author_ids),
            lambda replies: {a: int(r) for a, r in zip(author_ids, replies, strict=True) if r is not None},
        )

    def mark_seen(self, viewer_id: int, story_id: int, now_ms: int) -> bool:
        """Record that the viewer saw the story; True only the first time.

        What a viewer saw is a sorted set by view time, trimmed to the last two story lives: no story seen
        earlier can still be live, so it never grows past what one can watch in two days.
        """
        pipe = self._redis.pipeline(transaction=False)
        _queue_windowed_add(pipe, seen_stories_key(viewer_id), str(story_id), now_ms, now_ms, self._keep)
        added, *_ = pipe.execute()
        return bool(added)

    def queue_seen(self, batch: PipelineBatch, viewer_id: int) -> Slot[set[int]]:
        return batch.queue(
            single(lambda pipe: pipe.zrange(seen_stories_key(viewer_id), 0, -1)),
            lambda replies: {int(s) for s in replies[0]},
        )

    def queue_has_seen(self, batch: PipelineBatch, viewer_id: int, story_id: int) -> Slot[bool]:
        return batch.queue(
            single(lambda pipe: pipe.zscore(seen_stories_key(viewer_id), str(story_id))),
            lambda replies: replies[0] is not None,
        )

    def counted(self, story_id: int, viewer_id: int, author_id: int, affinity_weight: float) -> None:
        """After a first view: count it, add to the viewer's affinity to the author, and drop the viewer's tray."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.incr(story_views_key(story_id))
        pipe.expire(story_views_key(story_id), self._keep)
        queue_affinity(pipe, affinity_keys(viewer_id)[0], str(author_id), affinity_weight)
        _queue_drop_tray(pipe, viewer_id)
        pipe.execute()

    def view_count(self, story_id: int) -> int | None:
        found = self._redis.get(story_views_key(story_id))
        return None if found is None else int(found)

    def queue_counts(self, batch: PipelineBatch, story_ids: list[int]) -> Slot[list[int | None]]:
        return batch.queue(
            per_id(lambda pipe, story_id: pipe.get(story_views_key(story_id)), story_ids),
            lambda replies: [None if r is None else int(r) for r in replies],
        )

    def queue_tray(self, batch: PipelineBatch, viewer_id: int) -> Slot[TrayRead]:
        """The viewer's cached tray (None when it must be built), the celebrities they follow, and the tray's
        version (what `put_tray` must still find for a tray built now to be stored)."""

        def commands(pipe: Any) -> int:
            pipe.get(tray_key(viewer_id))
            pipe.smembers(celebrities_followed_key(viewer_id))
            pipe.get(tray_version_key(viewer_id))
            return 3

        return batch.queue(
            commands,
            lambda replies: TrayRead(
                json.loads(replies[0]) if replies[0] else None, sorted(int(c) for c in replies[1]), replies[2] or ""
            ),
        )

    def queue_record(self, batch: PipelineBatch, story_id: int) -> Slot[str | None]:
        """A story record's cached JSON (None on a miss), read as part of a batch."""
        return batch.queue(single(lambda pipe: pipe.get(story_record_key(story_id))), lambda replies: replies[0])

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

    def put_tray(self, viewer_id: int, tray: dict[str, Any], seconds: int, version: str) -> bool:
        """Store a built tray unless it was dropped since `version` was read (then the build is already stale)."""
        keys = [tray_key(viewer_id), tray_version_key(viewer_id)]
        return bool(self._put_tray(keys=keys, args=[version, json.dumps(tray), max(1, seconds)]))

    def forget_trays(self, viewer_ids: Iterable[int], batch_size: int = 500) -> int:
        """Drop precomputed trays (a followee posted a story, a follow changed); returns how many were asked."""
        pipe = self._redis.pipeline(transaction=False)
        return execute_in_batches(pipe, viewer_ids, _queue_drop_tray, batch_size)
