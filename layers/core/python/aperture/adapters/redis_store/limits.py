"""Rate-limit buckets: one key per (subject, action), checked and charged by one script in one round trip."""

from __future__ import annotations

from typing import Any


def bucket_key(subject: str, action: str) -> str:
    # One key per script call, so any slot will do; the hash tag keeps a subject's buckets on one node all the same.
    return f"limit:{{{subject}}}:{action}"


# GCRA (the generic cell rate algorithm, a token bucket kept as one number): the key holds the "theoretical arrival
# time" (TAT) in ms, when the bucket would be full again. A request is let through if the TAT it would push out lies
# at most `period` ahead of now, which allows a burst of `count` requests and then one every `interval` ms.
# KEYS[1]: the bucket. ARGV: now (ms), interval = period/count (ms), period (ms).
# Returns 0 (taken: the TAT moves on, and the key expires when the bucket is full again) or the ms to wait (refused:
# nothing changes, so a refused request costs nothing).
_TAKE = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local next_tat = tat + interval
local wait = next_tat - period - now
if wait > 0 then return math.ceil(wait) end
redis.call('SET', KEYS[1], tostring(next_tat), 'PX', math.max(1, math.ceil(next_tat - now)))
return 0
"""


class RedisBuckets:
    """Token buckets in Redis (GCRA): cluster-safe (one key per call) and one round trip per check."""

    def __init__(self, client: Any) -> None:
        self._redis = client
        self._take = client.register_script(_TAKE)

    def take(self, subject: str, action: str, count: int, period_ms: int, now_ms: int) -> int:
        """Charge one request to the bucket; 0 if it may go ahead, else the ms until it may (nothing charged)."""
        wait = self._take(keys=[bucket_key(subject, action)], args=[now_ms, period_ms / count, period_ms])
        return int(wait)
