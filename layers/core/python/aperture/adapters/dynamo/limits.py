"""The rate_limits table: fixed-window counters for the one limit checked outside the VPC (sign-ups per address)."""

from __future__ import annotations

from typing import Any

from aperture.adapters.dynamo.common import write_if


class DynamoWindows:
    """Counters per (subject, action, window), each one conditional UpdateItem: one round trip, and a refused request
    changes nothing. A fixed window lets up to twice `count` through around a window's edge, which sign-ups (the one
    limit kept here) can bear; the item expires a window after its own ends."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def take(self, subject: str, action: str, count: int, period_ms: int, now_ms: int) -> int:
        """Charge one request to the current window; 0 if it may go ahead, else the ms until the next window."""
        window = now_ms // period_ms
        ends_ms = (window + 1) * period_ms
        taken = write_if(
            self._table.update_item,
            Key={"key": f"{action}#{subject}#{window}"},
            UpdateExpression="ADD taken :one SET expires_at = if_not_exists(expires_at, :expires)",
            ConditionExpression="attribute_not_exists(taken) OR taken < :count",
            ExpressionAttributeValues={":one": 1, ":count": count, ":expires": (ends_ms + period_ms) // 1000},
        )
        return 0 if taken is not None else max(1, ends_ms - now_ms)
