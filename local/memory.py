"""Where the local platform's memory goes, by owner: our code, moto's emulated AWS, or everything else.

A soak's resident memory grows as moto stores every object, item and stream record it is sent; telling that apart
from a leak in our own code needs the allocations by who made them. With APERTURE_TRACE_MEMORY=1, the first
`POST /_local/memory` starts tracing allocations (tracemalloc, a dozen frames deep, which slows the platform down,
so a soak starts it after its warm-up), and each call answers the bytes allocated since then and still held,
grouped by the innermost frame that is ours (aperture, functions, local) or moto's: a flat "aperture" figure over a
soak says our code holds no more memory at the end than after the warm-up."""

from __future__ import annotations

import os
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

FRAMES = 12  # deep enough to reach our frame or moto's from the standard library's and botocore's allocations
_ROOT = Path(__file__).resolve().parents[1]
_OURS = tuple(str(_ROOT / part) + os.sep for part in ("layers/core/python/aperture", "functions", "local"))


def allowed() -> bool:
    return os.environ.get("APERTURE_TRACE_MEMORY") == "1"


def _owner(traceback: tracemalloc.Traceback) -> str:
    for frame in reversed(traceback):  # (frames run from the oldest call to the allocation; look from the inside)
        name = frame.filename
        if name.startswith(_OURS):
            return "aperture"
        if f"{os.sep}moto{os.sep}" in name:
            return "moto"
    return "other"


def by_owner(start: bool = False) -> dict[str, int] | None:
    """Bytes allocated since tracing started and still held, by owner (tracing started now if `start`); None when
    tracing is off."""
    if start and not tracemalloc.is_tracing():
        tracemalloc.start(FRAMES)
    if not tracemalloc.is_tracing():
        return None
    totals: Counter[str] = Counter()
    for trace in tracemalloc.take_snapshot().traces:
        totals[_owner(trace.traceback)] += trace.size
    return {owner: totals.get(owner, 0) for owner in ("aperture", "moto", "other")}


def moto_storage() -> dict[str, int]:
    """What moto holds for the platform: S3 objects (every version) and their bytes, DynamoDB items and their bytes,
    and the DynamoDB stream records it keeps (the real service drops them after 24 hours; moto never does)."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends

    from local.emulation import dynamodb_lock

    figures = dict.fromkeys(("s3_objects", "s3_bytes", "dynamodb_items", "dynamodb_bytes", "stream_records"), 0)
    for partitions in list(s3_backends.values()):
        for backend in list(partitions.values()):
            for bucket in list(backend.buckets.values()):
                for _, listed in list(bucket.keys.iterlists()):
                    versions = listed or []  # (an object deleted while the walk runs)
                    figures["s3_objects"] += len(versions)
                    figures["s3_bytes"] += sum(key.size for key in versions)
    items: list[Any] = []
    with dynamodb_lock():  # (only long enough to copy the lists: requests wait on this lock)
        for regions in list(dynamodb_backends.values()):
            for tables in list(regions.values()):
                for table in tables.tables.values():
                    items += (item for by_range in list(table.items.values()) for item in _items_of(table, by_range))
                    if table.stream_shard is not None:
                        figures["stream_records"] += len(table.stream_shard.items)
    figures["dynamodb_items"] = len(items)
    figures["dynamodb_bytes"] = sum(item.size() for item in items)
    return figures


def _items_of(table: Any, entry: Any) -> list[Any]:
    """A hash key's entry in a moto table: the item itself, or (with a range key) its items by range key."""
    return list(entry.values()) if table.range_key_attr else [entry]
