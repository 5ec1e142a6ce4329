"""The platform's notion of now: real time on AWS, a clock the local runtime can move forward."""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class ShiftedClock:
    """Real time plus an offset that only grows, so expiry and recency can be tested without sleeping."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("the clock only moves forward, by a finite number of seconds")
        with self._lock:
            self._offset += seconds
            return self._offset


_clock: Clock = SystemClock()


def use_clock(clock: Clock) -> None:
    """Install the process-wide clock (the local runtime does this once at start)."""
    global _clock  # noqa: PLW0603 - the clock is a process-wide port by design
    _clock = clock


def now() -> float:
    """Unix seconds from the process-wide clock (looked up at each call: tests install a shifted one)."""
    return _clock.now()


def now_ms() -> int:
    return int(_clock.now() * 1000)


def iso(ms: int) -> str:
    """Unix milliseconds as the API writes times: ISO 8601, UTC, millisecond precision."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
