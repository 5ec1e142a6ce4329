"""Where the local platform's memory goes, by owner: our code, moto's emulated AWS, or everything else.

A soak's resident memory grows as moto stores every object, item and stream record it is sent; telling that apart
from a leak in our own code needs the allocations by who made them. With APERTURE_TRACE_MEMORY=1 the platform
traces allocations (tracemalloc, a few frames deep, which slows it down) and `GET /_local/memory` answers the bytes
still allocated, grouped by the innermost frame that is ours (aperture, functions, local) or moto's."""

from __future__ import annotations

import os
import tracemalloc
from collections import Counter
from pathlib import Path

FRAMES = 12  # deep enough to reach our frame or moto's from the standard library's and botocore's allocations
_ROOT = Path(__file__).resolve().parents[1]
_OURS = tuple(str(_ROOT / part) + os.sep for part in ("layers/core/python/aperture", "functions", "local"))


def start_if_asked() -> bool:
    if os.environ.get("APERTURE_TRACE_MEMORY") == "1" and not tracemalloc.is_tracing():
        tracemalloc.start(FRAMES)
    return tracemalloc.is_tracing()


def _owner(traceback: tracemalloc.Traceback) -> str:
    for frame in reversed(traceback):  # (frames run from the oldest call to the allocation; look from the inside)
        name = frame.filename
        if name.startswith(_OURS):
            return "aperture"
        if f"{os.sep}moto{os.sep}" in name:
            return "moto"
    return "other"


def by_owner() -> dict[str, int] | None:
    """Bytes allocated now, by owner; None when tracing is off."""
    if not tracemalloc.is_tracing():
        return None
    totals: Counter[str] = Counter()
    for trace in tracemalloc.take_snapshot().traces:
        totals[_owner(trace.traceback)] += trace.size
    return {owner: totals.get(owner, 0) for owner in ("aperture", "moto", "other")}
