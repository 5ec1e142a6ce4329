"""A bounded fuzz run (tests/fuzz/harness.py) is part of every test run: zero failures, in both modes."""

from __future__ import annotations

import pytest

from tests.fuzz.harness import fuzz

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("fuzz")]
BOUNDED_SECONDS = 90


def test_schemathesis_finds_no_server_error_and_no_undocumented_response() -> None:
    # One schemathesis worker: the rest of the suite runs beside it on the other cores.
    code, report = fuzz(BOUNDED_SECONDS, workers=1)
    assert code == 0, report[-12000:]
