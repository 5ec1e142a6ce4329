"""Snowflake ids: layout, ordering and uniqueness within a generator."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aperture.ids import (
    EPOCH_MS,
    MAX_SEQUENCE,
    FixedWorker,
    Snowflake,
    id_timestamp_ms,
    id_worker,
)


class SteppingClock:
    """A millisecond clock the test moves by hand."""

    def __init__(self, start: int) -> None:
        self.ms = start

    def __call__(self) -> int:
        return self.ms


@given(worker=st.integers(0, 1023), offset=st.integers(0, 2**41 - 1))
def test_an_id_carries_its_time_and_worker(worker: int, offset: int) -> None:
    # Given a generator at a known time and worker
    generator = Snowflake(FixedWorker(worker), clock_ms=lambda: EPOCH_MS + offset)
    # When it makes an id
    new = generator.next_id()
    # Then the id decodes back to both, and fits in a signed 64-bit integer
    assert id_timestamp_ms(new) == EPOCH_MS + offset
    assert id_worker(new) == worker
    assert 0 <= new < 2**63


@given(steps=st.lists(st.integers(-5, 3), min_size=1, max_size=300))
def test_ids_strictly_increase_even_when_the_clock_stalls_or_steps_back(steps: list[int]) -> None:
    # Given a clock that moves forward, stands still, and sometimes jumps back
    clock = SteppingClock(EPOCH_MS + 10_000)
    generator = Snowflake(FixedWorker(7), clock_ms=clock)
    previous = generator.next_id()
    for step in steps:
        clock.ms += step
        # When the next id is made
        current = generator.next_id()
        # Then it is larger than the one before
        assert current > previous
        previous = current


def test_a_spent_sequence_moves_to_the_next_millisecond_without_repeating() -> None:
    # Given a frozen clock
    generator = Snowflake(FixedWorker(1), clock_ms=lambda: EPOCH_MS + 5)
    # When more ids are asked for than one millisecond holds
    ids = [generator.next_id() for _ in range(MAX_SEQUENCE + 10)]
    # Then they are all distinct and increasing, the overflow borrowed from the next millisecond
    assert ids == sorted(set(ids))
    assert id_timestamp_ms(ids[-1]) == EPOCH_MS + 6


def test_worker_ids_outside_ten_bits_are_refused() -> None:
    with pytest.raises(ValueError, match="worker id"):
        FixedWorker(1024)
