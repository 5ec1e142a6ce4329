"""Benchmarks: each module runs with `python -m bench.<name>` and prints its figures."""

import os

from aperture.limits import ACTIONS


def lift_rate_limits() -> None:
    """Benchmarks play many users from one address (and one user at a machine's pace): they measure the platform,
    not its rate limits (aperture.limits), so every limit is set far above what a run reaches, for this process and
    the local runtime it starts."""
    for action in ACTIONS:
        os.environ.setdefault(f"APERTURE_LIMIT_{action.upper()}", "100000000/1")
