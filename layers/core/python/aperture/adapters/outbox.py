"""The outbox: a domain event written in the same DynamoDB transaction as the change it tells of.

The event exists if and only if its change was committed: no write-then-publish, where a failed publish loses the
event or a retried request writes nothing new and so never sends it. The table's stream hands each event to the
relay (functions/relay), which publishes it to the events stream; consumers know it by its event_id.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

# Long enough for the relay to have published it (the table's stream keeps a change 24 hours), then TTL removes it.
OUTBOX_RETENTION_SECONDS = 2 * 86_400


class Event(Protocol):
    @property
    def event_id(self) -> str: ...

    def model_dump_json(self) -> str: ...


class Outbox:
    def __init__(self, table_name: str, now_s: Callable[[], float] = time.time) -> None:
        self._table_name = table_name
        self._now_s = now_s

    def entry(self, event: Event) -> dict[str, Any]:
        """The TransactWriteItems entry that records `event` with the change (for a resource client)."""
        return {
            "Put": {
                "TableName": self._table_name,
                "Item": {
                    "event_id": event.event_id,
                    "event": event.model_dump_json(),
                    "expires_at": int(self._now_s()) + OUTBOX_RETENTION_SECONDS,
                },
                "ConditionExpression": "attribute_not_exists(event_id)",
            }
        }
