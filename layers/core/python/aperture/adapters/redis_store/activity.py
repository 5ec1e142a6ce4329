"""The activity log's write side: records appended to bounded Redis streams, one per shard, for the flush job to
move to S3 in batches. Serving already holds a Redis connection, so an append is one pipelined round trip and no
new network path (no VPC endpoint); a Redis failure loses log records, never the page that wrote them."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError, ResponseError

from aperture.activity import Record, to_line
from aperture.observability import logger, measure

SHARDS = 8  # streams, so that in cluster mode the appends spread over the nodes rather than one hot key
STREAM_CAP = 200_000  # entries per stream (trimmed approximately: up to one macro node, 100 entries, past it)


def stream_key(shard: int) -> str:
    return f"activity:{{{shard}}}"


def shard_of(viewer_id: int) -> int:
    return zlib.crc32(str(viewer_id).encode()) % SHARDS


class RedisActivityLog:
    """Appends records to `activity:{shard}` (by viewer), each stream capped near `max_length` entries: if the
    flush job falls behind that far, the oldest records are dropped rather than Redis filling up."""

    def __init__(self, client: Any, max_length: int = STREAM_CAP) -> None:
        self._redis = client
        self._max_length = max_length

    def record(self, records: Sequence[Record]) -> None:
        if not records:
            return
        pipe = self._redis.pipeline(transaction=False)
        for record in records:
            pipe.xadd(
                stream_key(shard_of(record.viewer_id)),
                {"r": to_line(record)},
                maxlen=self._max_length,
                approximate=True,
            )
        try:
            pipe.execute()
        except RedisError as error:  # the log is best effort: the page is served all the same
            logger.warning("activity records not logged", extra={"error": repr(error), "records": len(records)})
            measure("ActivityLogDropped", len(records))


# The flush job's one consumer group and one consumer name: a retried run is the same consumer, so it first gets back
# the entries it read and did not acknowledge (its pending list), in the same order, before any new ones.
GROUP = "flush"
CONSUMER = "activity_flush"


@dataclass(frozen=True)
class StreamEntry:
    entry_id: str
    line: str | None  # None for an entry deleted while pending (nothing to write; acknowledged all the same)


class ActivityStreams:
    """The read side, for the flush job: a shard's entries through the consumer group, then acknowledged and
    deleted once they are in S3; and an erased user's entries dropped."""

    def __init__(self, client: Any) -> None:
        self._redis = client

    def read(self, shard: int, count: int) -> list[StreamEntry]:
        """Up to `count` entries: first this consumer's pending ones (read by a run that died before
        acknowledging them), else new ones. The group is created on first use, from the stream's start."""
        key = stream_key(shard)
        try:
            self._redis.xgroup_create(key, GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        for start in ("0", ">"):
            answer = self._redis.xreadgroup(GROUP, CONSUMER, {key: start}, count=count)
            entries = [
                StreamEntry(_text(entry_id), _line(fields))
                for _, messages in answer or []
                for entry_id, fields in messages
            ]
            if entries:
                return entries
        return []

    def done(self, shard: int, entry_ids: Sequence[str]) -> None:
        """Acknowledge and delete entries that are in S3 (one transaction on the one key)."""
        if not entry_ids:
            return
        key = stream_key(shard)
        pipe = self._redis.pipeline(transaction=True)
        pipe.xack(key, GROUP, *entry_ids)
        pipe.xdel(key, *entry_ids)
        pipe.execute()

    def backlog(self) -> int:
        """Entries in every shard not yet flushed (read or not)."""
        pipe = self._redis.pipeline(transaction=False)
        for shard in range(SHARDS):
            pipe.xlen(stream_key(shard))
        return sum(int(n) for n in pipe.execute())

    def drop_user(self, user_id: int, chunk: int = 1000) -> int:
        """Delete every entry whose record names the user (as viewer or author), in every shard; how many."""
        from aperture.activity import from_line, names

        dropped = 0
        for shard in range(SHARDS):
            key, start = stream_key(shard), "-"
            while True:
                entries = self._redis.xrange(key, min=start, max="+", count=chunk)
                doomed = [
                    entry_id
                    for entry_id, fields in entries
                    if (line := _line(fields)) is not None and names(from_line(line), user_id)
                ]
                if doomed:
                    dropped += int(self._redis.xdel(key, *doomed))
                if len(entries) < chunk:
                    break
                start = "(" + _text(entries[-1][0])
        return dropped


def _line(fields: Any) -> str | None:
    value = (fields or {}).get(b"r", (fields or {}).get("r"))
    return None if value is None else _text(value)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
