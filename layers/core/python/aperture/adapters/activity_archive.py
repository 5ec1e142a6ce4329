"""The activity log in S3: gzipped JSON-lines objects by kind and day, written by the flush job and read back by the
training job (and rewritten by an account's erasure)."""

from __future__ import annotations

import datetime
import gzip
from collections.abc import Iterable, Iterator
from typing import Protocol

from aperture.activity import Record, from_line, names
from aperture.resources import ACTIVITY_LOG_PREFIX

CONTENT_TYPE = "application/gzip"


class ObjectStore(Protocol):
    """What of the media bucket the log needs (aperture.adapters.s3.MediaStore)."""

    def keys_under(self, prefix: str) -> set[str]: ...

    def read(self, key: str) -> bytes: ...

    def write(self, key: str, body: bytes, content_type: str) -> None: ...

    def delete(self, key: str) -> None: ...


def day_prefix(kind: str, day: str) -> str:
    return f"{ACTIVITY_LOG_PREFIX}{kind}/dt={day}/"


def object_key(kind: str, day: str, shard: int, first_entry_id: str) -> str:
    """Deterministic for a batch: a retried flush overwrites the object the crashed run wrote."""
    return f"{day_prefix(kind, day)}{shard}-{first_entry_id}.jsonl.gz"


def encode(lines: Iterable[str]) -> bytes:
    # mtime=0 and a fixed level: the same records make the same bytes, whichever run wrote them. Level 6 (zlib's
    # default) rather than gzip's 9: about 1.7 times as fast on these lines for 2.5% more bytes, and compressing is
    # most of the flush's time (docs/benchmarks.md, "Ranking loop: cost and capacity").
    return gzip.compress("".join(line + "\n" for line in lines).encode(), compresslevel=6, mtime=0)


def lines_of(body: bytes) -> Iterator[bytes]:
    """One log object's JSON lines (gzipped, a record a line), blank lines skipped."""
    for line in gzip.decompress(body).splitlines():
        if line.strip():
            yield line


def decode(body: bytes) -> Iterator[Record]:
    for line in lines_of(body):
        yield from_line(line)


def days(first_day: str, last_day: str) -> list[str]:
    first, last = datetime.date.fromisoformat(first_day), datetime.date.fromisoformat(last_day)
    return [(first + datetime.timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


class ActivityArchive:
    """The log as its readers see it (the training job's `ActivitySource`): one day's records of one kind."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def lines(self, kind: str, day: str) -> Iterator[bytes]:
        """Every record (a JSON line, aperture.activity) of `kind` logged on `day` (YYYY-MM-DD, UTC), object by
        object in key order (by shard, then by when it was flushed): one object in memory at a time."""
        for key in sorted(self._store.keys_under(day_prefix(kind, day))):
            yield from lines_of(self._store.read(key))


def read_records(store: ObjectStore, kind: str, first_day: str, last_day: str) -> Iterator[Record]:
    """Every record of `kind` ("impression" or "engagement") logged on the days from `first_day` to `last_day`
    (YYYY-MM-DD, UTC, inclusive), in the order `ActivityArchive.lines` reads them."""
    archive = ActivityArchive(store)
    for day in days(first_day, last_day):
        for line in archive.lines(kind, day):
            yield from_line(line)


def erase_user(store: ObjectStore, user_id: int) -> int:
    """Rewrite every log object holding a record that names the user (as viewer or author) without those records,
    deleting an object left empty; how many records went. Every object the bucket still holds is within the
    retention window (the lifecycle deletes older ones), so all of `logs/` is read. A retry finds the rewritten
    objects clean and leaves them be."""
    removed = 0
    for key in sorted(store.keys_under(ACTIVITY_LOG_PREFIX)):
        lines = [line.decode() for line in lines_of(store.read(key))]
        kept = [line for line in lines if not names(from_line(line), user_id)]
        if len(kept) == len(lines):
            continue
        removed += len(lines) - len(kept)
        if kept:
            store.write(key, encode(kept), CONTENT_TYPE)
        else:
            store.delete(key)
    return removed
