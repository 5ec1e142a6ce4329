"""The local scheduler: runs each scheduled function at its declared rate, or only when asked."""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from aperture.clock import now
from aperture.resources import FUNCTIONS, ScheduleTrigger

Invoke = Callable[[str, dict[str, Any]], Any]


def scheduled_event(name: str, region: str) -> dict[str, Any]:
    """The event an EventBridge schedule rule hands its target, fired now by the platform's clock (moved by
    `/_local/clock`: a job that works by its firing day, as ranking_train does, runs for the simulated day)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now())),
        "region": region,
        "resources": [f"arn:aws:events:{region}:123456789012:rule/aperture-{name}"],
        "detail": {},
    }


class Scheduler:
    def __init__(self, invoke: Invoke, region: str) -> None:
        self._invoke = invoke
        self._region = region
        self.rates = {f.name: f.trigger.rate_minutes for f in FUNCTIONS if isinstance(f.trigger, ScheduleTrigger)}

    @property
    def jobs(self) -> dict[str, Callable[[], Any]]:
        return {name: functools.partial(self.run, name) for name in self.rates}

    def run(self, name: str) -> Any:
        return self._invoke(name, scheduled_event(name, self._region))

    def run_in_background(self, stop: threading.Event) -> list[threading.Thread]:
        """A thread per job, running it every `rate_minutes` until `stop` is set."""

        def loop(name: str, seconds: float) -> None:
            while not stop.wait(seconds):
                try:
                    self.run(name)
                except Exception as error:  # a failed run is retried at the next tick, as EventBridge would
                    print(f"scheduler: {name} failed: {error!r}", flush=True)

        threads = [
            threading.Thread(target=loop, args=(name, minutes * 60), name=f"schedule-{name}", daemon=True)
            for name, minutes in self.rates.items()
        ]
        for thread in threads:
            thread.start()
        return threads
