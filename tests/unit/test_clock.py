"""The platform clock the local runtime moves forward."""

from __future__ import annotations

import time

import pytest

from aperture.clock import ShiftedClock


def test_advancing_moves_now_forward_by_that_much() -> None:
    clock = ShiftedClock()
    before = clock.now()
    clock.advance(86_400)
    assert clock.now() - before >= 86_400
    assert clock.now() - time.time() == pytest.approx(86_400, abs=5)


def test_the_clock_never_moves_back() -> None:
    with pytest.raises(ValueError, match="forward"):
        ShiftedClock().advance(-1)


def test_the_clock_refuses_to_move_by_nothing_sensible() -> None:
    import math

    import pytest

    clock = ShiftedClock()
    for seconds in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="forward"):
            clock.advance(seconds)
    assert clock.advance(0) == 0  # and a refused move left it where it was
