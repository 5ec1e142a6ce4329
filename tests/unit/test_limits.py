"""Rate limits' configuration and what a refused person is told (the buckets themselves run against a real Redis:
tests/integration/test_rate_limits.py and test_redis_cluster.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from aperture.errors import RateLimitedError
from aperture.limits import ACTIONS, Rate, RateLimiter, configured_rates
from aperture.settings import Settings


class Refusing:
    """A bucket store that always answers with this wait (ms)."""

    def __init__(self, wait_ms: int) -> None:
        self.wait_ms = wait_ms

    def take(self, subject: str, action: str, count: int, period_ms: int, now_ms: int) -> int:
        return self.wait_ms


def test_every_action_has_a_default_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    for action in ACTIONS:  # (the tests' emulated AWS lifts the sign-up limit)
        monkeypatch.delenv(f"APERTURE_LIMIT_{action.upper()}", raising=False)
    rates = configured_rates(Settings())
    assert set(rates) == set(ACTIONS)
    assert rates["comments"] == Rate(60, 600)
    assert rates["signups"] == Rate(10, 3600)


@pytest.mark.parametrize("text", ["0/60", "5/0", "5", "five/60", "-1/60", "5/60/2", ""])
def test_a_malformed_limit_is_refused_at_start(text: str) -> None:
    with pytest.raises(ValidationError):
        Settings(limit_posts=text)


@pytest.mark.parametrize(
    ("rate", "said"),
    [
        (Rate(60, 600), "60 comments per 10 minutes"),
        (Rate(30, 3600), "30 comments per hour"),
        (Rate(5, 86_400), "5 comments per day"),
        (Rate(3, 90), "3 comments per 90 seconds"),
    ],
)
def test_a_rate_reads_as_a_person_would_say_it(rate: Rate, said: str) -> None:
    assert rate.describe("comments") == said


@pytest.mark.parametrize(("wait_ms", "seconds"), [(1, 1), (999, 1), (1000, 1), (1001, 2), (600_000, 600)])
def test_retry_after_is_the_wait_rounded_up_to_whole_seconds(wait_ms: int, seconds: int) -> None:
    limiter = RateLimiter(Refusing(wait_ms), {"likes": Rate(1, 60)}, lambda: 0, "test")
    with pytest.raises(RateLimitedError) as refused:
        limiter.take("1", "likes")
    assert refused.value.retry_after == seconds
    assert (refused.value.status, refused.value.code) == (429, "rate_limited")
    assert refused.value.message.endswith(f"try again in {seconds} s")
