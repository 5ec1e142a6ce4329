"""The local scheduler's events carry the platform's clock: a job that works by its firing day (ranking_train) runs
for the simulated day once `/_local/clock` has moved it."""

from __future__ import annotations

import datetime

from aperture.clock import ShiftedClock, SystemClock, use_clock
from functions.ranking_train.handler import run_day
from local.scheduler import scheduled_event


def test_a_scheduled_run_after_the_clock_moved_three_days_is_the_run_of_that_day() -> None:
    # Given the local clock moved three days ahead
    clock = ShiftedClock()
    use_clock(clock)
    try:
        today = datetime.datetime.now(tz=datetime.UTC).date()
        clock.advance(3 * 86_400)
        # When the scheduler fires ranking_train
        event = scheduled_event("ranking_train", "us-east-1")
    finally:
        use_clock(SystemClock())
    # Then the job runs for the day three days on (give or take a midnight passing while the test ran)
    assert run_day(event) - today in (datetime.timedelta(days=3), datetime.timedelta(days=4))
