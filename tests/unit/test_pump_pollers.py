"""The local event pump's background pollers: idle ones back off, and a nudge or any delivery wakes them all."""

from __future__ import annotations

import threading
from collections.abc import Callable

from aperture.settings import Settings
from local.pump import EventPump

LONG = 60.0  # an idle wait no test would sit through: only a wake-up can deliver in time


def pump_with(sources: dict[str, Callable[[], int]]) -> EventPump:
    pump = EventPump(lambda name, event: None, Settings(), "", "")
    pump._sources = sources
    pump._locks = {name: threading.Lock() for name in sources}
    return pump


def test_a_nudge_wakes_an_idle_poller_at_once() -> None:
    waiting: list[str] = []
    delivered = threading.Event()

    def source() -> int:
        if not waiting:
            return 0
        waiting.pop()
        delivered.set()
        return 1

    pump = pump_with({"queue": source})
    stop = threading.Event()
    pollers = pump.run_in_background(stop, idle_seconds=LONG)
    try:
        # Given a poller resting for a minute, when an event arrives and the pump is nudged (as an API request does)
        waiting.append("event")
        pump.nudge()
        # Then it is delivered now, not at the next tick
        assert delivered.wait(10)
    finally:
        stop.set()
        pump.nudge()
        for poller in pollers:
            poller.join(10)
    assert not any(poller.is_alive() for poller in pollers)


def test_a_delivery_by_one_poller_wakes_the_others() -> None:
    # Given two resting pollers, where delivering from the first produces an event for the second
    first: list[str] = []
    second: list[str] = []
    done = threading.Event()

    def upstream() -> int:
        if not first:
            return 0
        second.append(first.pop())
        return 1

    def downstream() -> int:
        if not second:
            return 0
        second.pop()
        done.set()
        return 1

    pump = pump_with({"upstream": upstream, "downstream": downstream})
    stop = threading.Event()
    pollers = pump.run_in_background(stop, idle_seconds=LONG)
    try:
        first.append("event")
        pump.nudge()
        # Then the second delivers it without waiting out its minute
        assert done.wait(10)
    finally:
        stop.set()
        pump.nudge()
        for poller in pollers:
            poller.join(10)


def test_drain_waits_for_what_a_poller_delivered_to_a_source_it_had_already_looked_at() -> None:
    # Given a source that drain looks at first ("relayed"), and a second one ("ready") whose event a background
    # poller is handling at that moment; handling it produces an event for the first source
    relayed: list[str] = []
    drain_looked_at_relayed, poller_may_finish = threading.Event(), threading.Event()

    def first() -> int:
        drain_looked_at_relayed.set()
        if not relayed:
            return 0
        relayed.pop()
        return 1

    def second() -> int:
        if threading.current_thread().name != "poller":
            return 0
        assert poller_may_finish.wait(10)
        relayed.append("made by the poller's delivery")
        return 1

    pump = pump_with({"relayed": first, "ready": second})
    poller = threading.Thread(target=pump._pump_source, args=("ready",), name="poller")
    poller.start()
    drained: list[int] = []
    drainer = threading.Thread(target=lambda: drained.append(pump.drain()))
    drainer.start()
    # When the poller finishes only after drain's pass has looked at the first source
    assert drain_looked_at_relayed.wait(10)
    poller_may_finish.set()
    poller.join(10)
    drainer.join(10)
    # Then drain does not stop at that pass: it delivers what the poller's delivery produced
    assert drained == [1]
    assert relayed == []
