"""Rate limits: how many posts, stories, comments, follows, likes and reports one user, and how many sign-ups one
source address, may make in a window; checked where each write begins, before anything of it is written.

Each (subject, action) is a token bucket: a burst of `count`, then one more every `period / count`. A refused
request is charged nothing and answered 429 `rate_limited` with `Retry-After` (aperture.api). If the buckets cannot
be reached (Redis down), the request goes ahead: a warning is logged and `RateLimiterUnavailable` counted, because
refusing every write while the cache is away would turn a cache outage into an outage of the whole product, and
API Gateway's per-route throttles still bound what one client can send meanwhile (docs/security.md, "Limits").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

from redis.exceptions import ClusterDownError, OutOfMemoryError, ReadOnlyError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from aperture.errors import RateLimitedError
from aperture.observability import count, logger
from aperture.settings import Settings

Action = Literal["posts", "stories", "comments", "follows", "likes", "reports", "signups"]
ACTIONS: tuple[Action, ...] = get_args(Action)

# What a user is told they did too often
NOUNS: dict[Action, str] = {
    "posts": "posts",
    "stories": "stories",
    "comments": "comments",
    "follows": "follows",
    "likes": "likes",
    "reports": "reports",
    "signups": "sign-ups from your network",
}

# The buckets' store is out of reach or cannot write (a failover's read-only replica, memory full): the check is
# skipped (fail open), never the request refused
UNAVAILABLE = (
    RedisConnectionError,
    RedisTimeoutError,
    ClusterDownError,
    TryAgainError,
    ReadOnlyError,
    OutOfMemoryError,
)


@dataclass(frozen=True)
class Rate:
    """At most `count` in any `period_seconds` (a burst of `count`, then one every period/count)."""

    count: int
    period_seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """From the settings' "<count>/<seconds>" (validated there)."""
        count, _, seconds = text.partition("/")
        return cls(int(count), int(seconds))

    def describe(self, noun: str) -> str:
        """E.g. "60 comments per 10 minutes"."""
        for unit, seconds in (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1)):
            if self.period_seconds % seconds == 0:
                amount = self.period_seconds // seconds
                return f"{self.count} {noun} per {unit if amount == 1 else f'{amount} {unit}s'}"
        raise AssertionError("every whole number of seconds is a whole number of seconds")


def configured_rates(settings: Settings) -> dict[Action, Rate]:
    """Each action's rate, from APERTURE_LIMIT_<ACTION>."""
    return {action: Rate.parse(getattr(settings, f"limit_{action}")) for action in ACTIONS}


class Buckets(Protocol):
    def take(self, subject: str, action: str, count: int, period_ms: int, now_ms: int) -> int:
        """Charge one request; 0 if it may go ahead, else the ms until one may (and nothing was charged)."""
        ...


class RateLimiter:
    """`take(subject, action)` before a write: returns if it may go ahead, raises RateLimitedError if not."""

    def __init__(
        self, buckets: Buckets, rates: Mapping[Action, Rate], now_ms: Callable[[], int], function: str
    ) -> None:
        self._buckets = buckets
        self._rates = rates
        self._now_ms = now_ms
        self._function = function  # the metric's dimension

    def take(self, subject: str, action: Action) -> None:
        rate = self._rates[action]
        try:
            wait_ms = self._buckets.take(subject, action, rate.count, rate.period_seconds * 1000, self._now_ms())
        except UNAVAILABLE as error:
            logger.warning(
                "rate limit not checked: its store is unreachable", extra={"action": action, "error": repr(error)}
            )
            count("RateLimiterUnavailable", function=self._function)
            return
        if wait_ms > 0:
            count("RateLimited", function=self._function, action=action)
            seconds = max(1, math.ceil(wait_ms / 1000))
            raise RateLimitedError(
                f"You're doing that too often (at most {rate.describe(NOUNS[action])}); try again in {seconds} s",
                retry_after=seconds,
            )
