"""The domain's typed boundary to the services outside it: event streams, job queues, push and the media bucket.

The logic depends on these protocols; `aperture.adapters` implements them over Kinesis, SQS, SNS and S3, and the
tests put in-memory fakes behind them (tests/fakes.py) to see what was sent and to make a step fail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Protocol


class Event(Protocol):
    """A domain event as a stream carries it (aperture.models.events)."""

    @property
    def partition_key(self) -> str: ...

    def model_dump_json(self) -> str: ...


class Job(Protocol):
    """A unit of queued work (aperture.models.events)."""

    def model_dump_json(self) -> str: ...


class EventSink(Protocol):
    def publish(self, event: Event) -> None:
        """Append one event to the stream; raises if it was not accepted (the caller's retry sends it again)."""
        ...


class JobSink(Protocol):
    def enqueue(self, jobs: Iterable[Job]) -> int:
        """Queue every job, or raise (the caller's retry queues them again); returns how many were queued."""
        ...


class PushService(Protocol):
    def supports(self, platform: str) -> bool: ...

    def register(self, platform: str, token: str, user_id: int) -> str:
        """The endpoint for a device token, now pointing at this user."""
        ...

    def owner(self, endpoint_arn: str) -> int | None:
        """The user an endpoint was last registered for, or None if it is gone."""
        ...

    def unregister(self, endpoint_arn: str) -> None: ...

    def send(self, endpoint_arn: str, title: str, body: str, data: dict[str, str]) -> bool:
        """Push one message; False if the endpoint is gone or disabled (the caller forgets the device)."""
        ...


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]


class ImageStore(Protocol):
    """The media bucket: raw uploads in, renditions out."""

    def presigned_post(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> PresignedPost: ...

    def size(self, key: str) -> int | None: ...

    def read(self, key: str) -> bytes: ...

    def write_immutable(self, key: str, body: bytes, content_type: str) -> None: ...

    def keys_under(self, prefix: str) -> set[str]: ...

    def mark_processed(self, key: str) -> None: ...

    def delete(self, key: str) -> None: ...

    def delete_under(self, prefix: str, forget_cached: bool = False) -> int:
        """Delete every object under a prefix (and, when asked, their copies at the CDN); returns how many."""
        ...

    def delete_unserved(self, prefix: str) -> int:
        """Delete every object under a prefix that the CDN never served, telling it nothing; returns how many."""
        ...


class ArchiveStore(Protocol):
    """Where data exports are written and downloaded from (the media bucket, under exports/)."""

    def size(self, key: str) -> int | None: ...

    def stream(self, key: str) -> IO[bytes] | None: ...

    def upload(self, key: str, body: IO[bytes], content_type: str, filename: str) -> None: ...

    def presigned_get(self, key: str, expires_in: int) -> str: ...
