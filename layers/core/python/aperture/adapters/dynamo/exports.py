"""The exports table (each user's data exports and the marker of the one pending), and the reads an export makes:
everything one user made, a page at a time, through their own keys and indexes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.conditions import Key

from aperture.adapters.dynamo.common import batch_get, plain, query_pages, transact_unless_condition, update_if
from aperture.adapters.outbox import Event, Outbox
from aperture.models.records import ExportRecord, ExportStage

# The per-user marker item's sort key: Snowflake export ids are never 0.
MARKER_ID = 0
PENDING_ONLY = "#s = :pending"


class ExportRepository:
    """Export records under their owner's partition, and one marker per owner naming the export still pending."""

    def __init__(self, table: Any, outbox: Outbox) -> None:
        self._table = table
        self._outbox = outbox

    def start(self, record: ExportRecord, event: Event, stale_before_ms: int) -> bool:
        """The record, the marker naming it and its event, in one transaction. False (nothing written) if another
        export of the user is pending and began after `stale_before_ms`."""
        marker = {
            "Update": {
                "TableName": self._table.name,
                "Key": {"user_id": record.user_id, "export_id": MARKER_ID},
                "UpdateExpression": "SET pending_export_id = :id, pending_since = :at",
                "ConditionExpression": "attribute_not_exists(pending_export_id) OR pending_since < :stale",
                "ExpressionAttributeValues": {
                    ":id": record.export_id,
                    ":at": record.requested_at,
                    ":stale": stale_before_ms,
                },
            }
        }
        put = {
            "TableName": self._table.name,
            "Item": record.model_dump(exclude_none=True),
            "ConditionExpression": "attribute_not_exists(export_id)",
        }
        return transact_unless_condition(self._table, [{"Put": put}, marker, self._outbox.entry(event)])

    def pending(self, user_id: int) -> int | None:
        """The export the marker names as pending, if any."""
        item = self._table.get_item(Key={"user_id": user_id, "export_id": MARKER_ID}, ConsistentRead=True).get("Item")
        pending = (item or {}).get("pending_export_id")
        return int(pending) if pending is not None else None

    def release(self, user_id: int, export_id: int) -> None:
        """The marker no longer names this export (nothing happens if it names another, or none)."""
        update_if(
            self._table,
            {"user_id": user_id, "export_id": MARKER_ID},
            "REMOVE pending_export_id, pending_since",
            "pending_export_id = :id",
            {":id": export_id},
        )

    def get(self, user_id: int, export_id: int) -> ExportRecord | None:
        if export_id == MARKER_ID:
            return None
        key = {"user_id": user_id, "export_id": export_id}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return ExportRecord.model_validate(plain(item)) if item else None

    def _while_pending(self, user_id: int, export_id: int, update: str, values: dict[str, Any]) -> bool:
        return update_if(
            self._table,
            {"user_id": user_id, "export_id": export_id},
            update,
            PENDING_ONLY,
            {":pending": "pending", **values},
            {"#s": "status", "#k": "key"} if "#k" in update else {"#s": "status"},
        )

    def progress(self, user_id: int, export_id: int, stage: ExportStage, done: int, total: int) -> bool:
        """Where the build is; False (nothing changed) once the export is no longer pending."""
        return self._while_pending(
            user_id,
            export_id,
            "SET stage = :stage, photos_done = :done, photos_total = :total",
            {":stage": stage, ":done": done, ":total": total},
        )

    def finish(self, user_id: int, export_id: int, key: str, size_bytes: int, ready_at_ms: int) -> bool:
        """Pending -> ready, once: False if it was ready (or failed) already."""
        return self._while_pending(
            user_id,
            export_id,
            "SET #s = :ready, stage = :done, #k = :key, size_bytes = :size, ready_at = :at, photos_done = photos_total",
            {":ready": "ready", ":done": "done", ":key": key, ":size": size_bytes, ":at": ready_at_ms},
        )

    def fail(self, user_id: int, export_id: int, reason: str) -> bool:
        """Pending -> failed, once."""
        return self._while_pending(
            user_id, export_id, "SET #s = :failed, reason = :reason", {":failed": "failed", ":reason": reason}
        )


class AccountRecords:
    """Everything one user made or holds, read a page at a time through their own partition or index (never a scan),
    as plain JSON-ready dicts: what a data export writes out."""

    def __init__(self, tables: dict[str, Any], page_size: int = 500) -> None:
        self._tables = tables  # by resource key: users, posts, comments, likes, follows, stories, highlights
        self._page = page_size

    def _query(self, table: str, key: str, value: int, index: str | None = None) -> Iterator[list[dict[str, Any]]]:
        request: dict[str, Any] = {"KeyConditionExpression": Key(key).eq(value), "Limit": self._page}
        if index:
            request["IndexName"] = index
        for page in query_pages(self._tables[table], **request):
            yield [plain(item) for item in page]

    def profile(self, user_id: int) -> dict[str, Any] | None:
        item = self._tables["users"].get_item(Key={"user_id": user_id}).get("Item")
        return plain(item) if item else None

    def usernames(self, user_ids: list[int]) -> dict[int, str]:
        found = batch_get(self._tables["users"], "user_id", user_ids)
        return {user_id: str(item.get("username", "")) for user_id, item in found.items()}

    def posts(self, user_id: int) -> Iterator[list[dict[str, Any]]]:
        return self._query("posts", "author_id", user_id, "by_author")

    def comments(self, user_id: int) -> Iterator[list[dict[str, Any]]]:
        return self._query("comments", "author_id", user_id, "by_author")

    def likes(self, user_id: int) -> Iterator[list[dict[str, Any]]]:
        return self._query("likes", "user_id", user_id, "by_user")

    def following(self, user_id: int) -> Iterator[list[dict[str, Any]]]:
        return self._query("follows", "follower_id", user_id)

    def followers(self, user_id: int) -> Iterator[list[dict[str, Any]]]:
        return self._query("follows", "followee_id", user_id, "by_followee")

    def stories(self, user_id: int) -> Iterator[list[dict[str, Any]]]:
        return self._query("stories", "author_id", user_id, "by_author")

    def highlights(self, user_id: int) -> Iterator[list[dict[str, Any]]]:
        return self._query("highlights", "author_id", user_id)
