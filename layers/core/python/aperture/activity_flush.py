"""The activity log's flush job: each shard stream's records moved to S3 in batches, exactly once as readers see it.

A batch is read through the stream's consumer group, its records grouped by kind and day, each group written as
one object whose key is fixed by the batch (shard and first entry id), and only then acknowledged and deleted. A run
that dies part way leaves the batch pending; the next run is the same consumer, reads the same entries back first,
and overwrites the same objects: nothing lost, nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from aperture.activity import at, day, from_line, kind
from aperture.adapters.activity_archive import CONTENT_TYPE, ObjectStore, encode, erase_user, object_key
from aperture.adapters.redis_store.activity import SHARDS, ActivityStreams
from aperture.observability import logger, measure


@dataclass(frozen=True)
class FlushOutcome:
    records: int
    objects: int
    backlog: int


class ActivityFlush:
    def __init__(self, streams: ActivityStreams, store: ObjectStore, batch_size: int, rounds: int) -> None:
        self._streams = streams
        self._store = store
        self._batch_size = batch_size
        self._rounds = rounds  # batches per shard per run, so one run stays well inside its timeout

    def run(self) -> FlushOutcome:
        records = objects = 0
        for shard in range(SHARDS):
            for _ in range(self._rounds):
                flushed, written, full = self._flush_batch(shard)
                records, objects = records + flushed, objects + written
                if not full:
                    break
        backlog = self._streams.backlog()
        measure("ActivityRecordsFlushed", records)
        measure("ActivityObjectsWritten", objects)
        measure("ActivityBacklog", backlog)
        return FlushOutcome(records=records, objects=objects, backlog=backlog)

    def _flush_batch(self, shard: int) -> tuple[int, int, bool]:
        entries = self._streams.read(shard, self._batch_size)
        if not entries:
            return 0, 0, False
        groups: dict[tuple[str, str], list[str]] = {}
        for entry in entries:
            if entry.line is None:
                continue  # deleted while pending (an erasure): nothing to write
            try:
                record = from_line(entry.line)
            except (ValueError, KeyError, TypeError):
                # A line no reader could use would otherwise hold the shard back forever
                logger.warning("unreadable activity record dropped", extra={"entry_id": entry.entry_id})
                continue
            groups.setdefault((kind(record), day(at(record))), []).append(entry.line)
        first = entries[0].entry_id
        for (record_kind, record_day), lines in sorted(groups.items()):
            self._store.write(object_key(record_kind, record_day, shard, first), encode(lines), CONTENT_TYPE)
        self._streams.done(shard, [entry.entry_id for entry in entries])
        return sum(map(len, groups.values())), len(groups), len(entries) == self._batch_size


class ActivityErasure:
    """An erased account's records out of the activity log (aperture.erasure): first those still queued in the
    streams, then those in S3. A flush that read an entry just before it was dropped may still write it; the
    erasure's S3 pass comes after the streams', so only a batch in flight at that moment (seconds) can slip by."""

    def __init__(self, streams: ActivityStreams, store: ObjectStore) -> None:
        self._streams = streams
        self._store = store

    def drop_queued(self, user_id: int) -> int:
        return self._streams.drop_user(user_id)

    def rewrite_objects(self, user_id: int) -> int:
        return erase_user(self._store, user_id)
