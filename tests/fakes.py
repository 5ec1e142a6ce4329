"""In-memory fakes behind the domain's ports (aperture.ports), for the fault matrix (docs/reliability.md): each
keeps what it was sent, and can be told to fail a method before or after doing its work."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from aperture.ports import Event, EventSink, Job, JobSink, PushService
from tests.faults import InjectedFaultError


@dataclass
class _Planned:
    times: int
    after: bool
    error: Exception


class Fallible:
    """The failures a fake was told to inject: the next `times` calls of a method raise, before doing their work (a
    service that refused) or after it (a process that died right after the call)."""

    def __init__(self) -> None:
        self._planned: dict[str, _Planned] = {}

    def fail(self, method: str, *, times: int = 1, after: bool = False, error: Exception | None = None) -> None:
        what = "after doing its work" if after else "before doing anything"
        self._planned[method] = _Planned(times, after, error or InjectedFaultError(f"{method} failed {what}"))

    def _check(self, method: str, after: bool) -> None:
        planned = self._planned.get(method)
        if planned is None or planned.after != after or planned.times <= 0:
            return
        planned.times -= 1
        raise planned.error


class MemoryEvents(Fallible):
    """An event stream: `events` in the order they were accepted."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Event] = []

    def publish(self, event: Event) -> None:
        self._check("publish", after=False)
        self.events.append(event)
        self._check("publish", after=True)


class MemoryJobs(Fallible):
    """A job queue: `jobs` in the order they were queued."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: list[Job] = []

    def enqueue(self, jobs: Iterable[Job]) -> int:
        self._check("enqueue", after=False)
        queued = list(jobs)
        self.jobs += queued
        self._check("enqueue", after=True)
        return len(queued)


@dataclass
class Sent:
    endpoint_arn: str
    title: str
    body: str
    data: dict[str, str]


@dataclass
class MemoryPush(Fallible):
    """Push for every platform: devices registered here, and the messages `sent` to them."""

    endpoints: dict[str, int] = field(default_factory=dict)  # endpoint -> its user
    sent: list[Sent] = field(default_factory=list)

    def __post_init__(self) -> None:
        Fallible.__init__(self)

    def supports(self, platform: str) -> bool:
        return platform in {"apns", "fcm"}

    def register(self, platform: str, token: str, user_id: int) -> str:
        endpoint_arn = f"memory:{platform}:{token}"
        self.endpoints[endpoint_arn] = user_id
        return endpoint_arn

    def owner(self, endpoint_arn: str) -> int | None:
        return self.endpoints.get(endpoint_arn)

    def unregister(self, endpoint_arn: str) -> None:
        self.endpoints.pop(endpoint_arn, None)

    def send(self, endpoint_arn: str, title: str, body: str, data: dict[str, str]) -> bool:
        self._check("send", after=False)
        if endpoint_arn not in self.endpoints:
            return False
        self.sent.append(Sent(endpoint_arn, title, body, data))
        self._check("send", after=True)
        return True


# Checked by mypy (tests.fakes is in its modules): each fake is what the platform's code asks for.
_events: EventSink = MemoryEvents()
_jobs: JobSink = MemoryJobs()
_push: PushService = MemoryPush()
