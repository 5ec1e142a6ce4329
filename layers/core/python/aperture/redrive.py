"""Redriving failed stream batches: each archived invocation goes back to its function, and is forgotten only once
the function has handled all of it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from aperture.adapters.failure_archive import ArchivedFailure


class ArchivePort(Protocol):
    def record_keys(self, since: datetime | None = None) -> Iterator[str]: ...

    def read(self, key: str) -> ArchivedFailure: ...

    def delete(self, key: str) -> None: ...


class RedeliveryFailedError(RuntimeError):
    """The function was given the batch again and did not handle all of it."""


# Gives the archived event to its function; raises unless the function handled every record.
Deliver = Callable[[ArchivedFailure], None]
Wanted = Callable[[ArchivedFailure], bool]


def check_handled(response: Any) -> None:
    """A stream consumer's answer: nothing reported failed, or RedeliveryFailedError naming what was."""
    failures = response.get("batchItemFailures") if isinstance(response, dict) else None
    if failures:
        identifiers = [f.get("itemIdentifier") for f in failures]
        raise RedeliveryFailedError(f"the function reported {len(identifiers)} records failed again: {identifiers}")


@dataclass
class RedriveReport:
    redelivered: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # key -> why; the object stays for another try
    unreadable: dict[str, str] = field(default_factory=dict)  # key -> why; left alone

    @property
    def complete(self) -> bool:
        return not self.failed and not self.unreadable

    def as_dict(self) -> dict[str, Any]:
        return {"redelivered": self.redelivered, "failed": self.failed, "unreadable": self.unreadable}


class Redrive:
    def __init__(self, archive: ArchivePort, deliver: Deliver) -> None:
        self._archive = archive
        self._deliver = deliver

    def run(self, wanted: Wanted = lambda failure: True, since: datetime | None = None) -> RedriveReport:
        """Give every wanted archived batch (written at or after `since`) back to its function, one at a time;
        delete each record once its redelivery succeeded. A redelivery that fails leaves its record in place."""
        report = RedriveReport()
        for key in self._archive.record_keys(since):
            try:
                failure = self._archive.read(key)
            except ValueError as error:
                report.unreadable[key] = str(error)
                continue
            if not wanted(failure):
                continue
            try:
                self._deliver(failure)
            except Exception as error:  # whatever went wrong, the record is kept for another try
                report.failed[key] = repr(error)
                continue
            self._archive.delete(key)
            report.redelivered.append(key)
        return report
