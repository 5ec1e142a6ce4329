"""Snowflake ids: 41 bits of milliseconds since the project epoch, 10 bits of worker id, 12 of sequence.

Worker ids are leased from DynamoDB so no two live Lambda instances share one: an instance claims a free id
at cold start with a conditional write, renews the lease while it runs, and claims again if it ever lapsed.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Protocol

from aperture.clock import now_ms

EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
WORKER_BITS = 10
SEQUENCE_BITS = 12
MAX_WORKER = (1 << WORKER_BITS) - 1
MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1
TIMESTAMP_SHIFT = WORKER_BITS + SEQUENCE_BITS


class WorkerIdExhaustedError(RuntimeError):
    """Every worker id is leased; more than 1,024 instances are generating ids at once."""


class WorkerLease(Protocol):
    def worker_id(self) -> int:
        """A worker id this process holds right now (claiming or renewing as needed)."""
        ...


class FixedWorker:
    """A worker id given from outside, for tools and tests that own their id space."""

    def __init__(self, worker_id: int) -> None:
        if not 0 <= worker_id <= MAX_WORKER:
            raise ValueError(f"worker id must be within 0..{MAX_WORKER}")
        self._worker_id = worker_id

    def worker_id(self) -> int:
        return self._worker_id


class DynamoWorkerLease:
    """Leases a worker id from a DynamoDB table keyed by worker_id, with a TTL attribute for cleanup."""

    def __init__(
        self,
        table: object,
        lease_seconds: int,
        wall: Callable[[], float] = time.time,
        max_attempts: int = 64,
    ) -> None:
        self._table = table
        self._lease_seconds = lease_seconds
        self._wall = wall  # leases follow real time, whatever the platform clock says
        self._max_attempts = max_attempts
        self._owner = uuid.uuid4().hex
        self._worker: int | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def worker_id(self) -> int:
        with self._lock:
            now = self._wall()
            worker = self._worker
            if worker is None or now >= self._expires_at:
                return self._claim(now)
            if now >= self._expires_at - self._lease_seconds / 2:
                return self._renew(now, worker)
            return worker

    def _claim(self, now: float) -> int:
        from botocore.exceptions import ClientError

        # Prefer the id held before (a lapsed lease nobody took), then random ones.
        candidates = [self._worker] if self._worker is not None else []
        candidates += [secrets.randbelow(MAX_WORKER + 1) for _ in range(self._max_attempts)]
        for candidate in candidates:
            expires = now + self._lease_seconds
            try:
                self._table.put_item(  # type: ignore[attr-defined]
                    Item={"worker_id": candidate, "owner": self._owner, "lease_expires_at": int(expires)},
                    ConditionExpression="attribute_not_exists(worker_id) OR lease_expires_at < :now OR #o = :me",
                    ExpressionAttributeNames={"#o": "owner"},
                    ExpressionAttributeValues={":now": int(now), ":me": self._owner},
                )
            except ClientError as error:
                if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    continue
                raise
            self._worker, self._expires_at = candidate, float(int(expires))
            return candidate
        raise WorkerIdExhaustedError(f"no free worker id after {len(candidates)} attempts")

    def _renew(self, now: float, worker: int) -> int:
        from botocore.exceptions import ClientError

        expires = int(now + self._lease_seconds)
        try:
            self._table.update_item(  # type: ignore[attr-defined]
                Key={"worker_id": worker},
                UpdateExpression="SET lease_expires_at = :exp",
                ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":exp": expires, ":me": self._owner},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            self._worker = None
            return self._claim(now)
        self._expires_at = float(expires)
        return worker


class Snowflake:
    """Generates ids that are unique across workers and strictly increasing within one generator."""

    def __init__(self, lease: WorkerLease, clock_ms: Callable[[], int] = now_ms) -> None:
        self._lease = lease
        self._clock_ms = clock_ms
        self._last_ms = -1
        self._sequence = 0
        self._lock = threading.Lock()

    def next_id(self) -> int:
        worker = self._lease.worker_id()
        with self._lock:
            ms = max(self._clock_ms() - EPOCH_MS, self._last_ms)
            if ms == self._last_ms:
                self._sequence = (self._sequence + 1) & MAX_SEQUENCE
                if self._sequence == 0:
                    # Sequence spent for this millisecond: borrow the next one rather than sleep.
                    ms += 1
            else:
                self._sequence = 0
            self._last_ms = ms
            return (ms << TIMESTAMP_SHIFT) | (worker << SEQUENCE_BITS) | self._sequence


def id_timestamp_ms(snowflake_id: int) -> int:
    """Unix milliseconds at which an id was made."""
    return (snowflake_id >> TIMESTAMP_SHIFT) + EPOCH_MS


def first_id_at(ms: int) -> int:
    """The smallest id any generator can issue at unix time `ms` (every id issued before it is smaller)."""
    return max(0, ms - EPOCH_MS) << TIMESTAMP_SHIFT


def derived_id(at_ms: int, key: str) -> int:
    """An id in Snowflake order for a thing made at `at_ms` and named by `key`: the same key gives the same id, so
    work that is redone writes the same item again. The low 22 bits come from the key (two keys share an id only if
    they name the same millisecond and collide in 4 million; callers keep such ids within one partition)."""
    bits = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") & ((1 << TIMESTAMP_SHIFT) - 1)
    return ((at_ms - EPOCH_MS) << TIMESTAMP_SHIFT) | bits


def id_worker(snowflake_id: int) -> int:
    return (snowflake_id >> SEQUENCE_BITS) & MAX_WORKER


@lru_cache(maxsize=1)
def default_generator() -> Snowflake:
    """The process's generator, leasing its worker id from the workers table."""
    from aperture.adapters.aws import dynamo_table
    from aperture.settings import get_settings

    settings = get_settings()
    return Snowflake(DynamoWorkerLease(dynamo_table(settings.table_workers), settings.worker_lease_seconds))


def new_id() -> int:
    return default_generator().next_id()
