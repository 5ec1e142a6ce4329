"""The disabled_accounts table: accounts switched off for everyone (suspended by a moderator, or being erased)."""

from __future__ import annotations

from typing import Any

from aperture.adapters.dynamo.common import plain, scan_pages, transact_unless_condition, write_if
from aperture.adapters.outbox import Event, Outbox


class DisabledAccountRepository:
    def __init__(self, table: Any, outbox: Outbox | None = None) -> None:
        self._table = table
        self._outbox = outbox

    def reason(self, user_id: int) -> str | None:
        """Why the account is disabled ("suspended" or "erased"), or None if it is not (a consistent read: a
        suspension takes effect at the next request)."""
        item = self._table.get_item(Key={"user_id": user_id}, ConsistentRead=True).get("Item")
        return str(item["reason"]) if item else None

    def all(self) -> dict[int, str]:
        """Every disabled account and why. The table holds only the accounts switched off now, a small set."""
        found: dict[int, str] = {}
        for page in scan_pages(self._table, ConsistentRead=True, ProjectionExpression="user_id, reason"):
            found.update({int(plain(item["user_id"])): str(item["reason"]) for item in page})
        return found

    def disable(self, user_id: int, reason: str, since_ms: int, event: Event | None = None) -> bool:
        """Record the account as disabled for `reason` (with `event`, in one transaction); False, with nothing
        written, if it is disabled for that reason already. An erasure overrides a suspension, never the reverse."""
        put: dict[str, Any] = {
            "TableName": self._table.name,
            "Item": {"user_id": user_id, "reason": reason, "since": since_ms},
            "ConditionExpression": "attribute_not_exists(user_id) OR (#r <> :r AND #r <> :erased)",
            "ExpressionAttributeNames": {"#r": "reason"},
            "ExpressionAttributeValues": {":r": reason, ":erased": "erased"},
        }
        return self._write([{"Put": put}], event)

    def retire(self, user_id: int, expires_at_s: int) -> bool:
        """Let an erased account's record expire (the table's TTL) at `expires_at_s`, Unix seconds: until then its
        still-valid tokens are refused. False if the account is not being erased."""
        return (
            write_if(
                self._table.update_item,
                Key={"user_id": user_id},
                UpdateExpression="SET expires_at = :t",
                ConditionExpression="#r = :erased",
                ExpressionAttributeNames={"#r": "reason"},
                ExpressionAttributeValues={":t": expires_at_s, ":erased": "erased"},
            )
            is not None
        )

    def restore(self, user_id: int, reason: str, event: Event | None = None) -> bool:
        """Switch the account back on if it is disabled for `reason`; False, with nothing written, otherwise."""
        delete: dict[str, Any] = {
            "TableName": self._table.name,
            "Key": {"user_id": user_id},
            "ConditionExpression": "#r = :r",
            "ExpressionAttributeNames": {"#r": "reason"},
            "ExpressionAttributeValues": {":r": reason},
        }
        return self._write([{"Delete": delete}], event)

    def _write(self, items: list[dict[str, Any]], event: Event | None) -> bool:
        if event is None:
            (kind, request), *_ = items[0].items()
            request = {k: v for k, v in request.items() if k != "TableName"}
            write = self._table.put_item if kind == "Put" else self._table.delete_item
            return write_if(write, **request) is not None
        if self._outbox is None:
            raise RuntimeError("this repository was built without an outbox")
        return transact_unless_condition(self._table, [*items, self._outbox.entry(event)])
