"""The stories, story_views and highlights tables: stories live and awaiting expiry, who viewed them, and those kept."""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

from aperture.adapters.dynamo.common import (
    BATCH_GET_LIMIT,
    BATCH_WRITE_LIMIT,
    Key,
    count_items,
    decode_cursor,
    delete_keys,
    plain,
    query_page,
    query_pages,
    transact_unless_condition,
    update_if,
)
from aperture.adapters.dynamo.uploads import publish_from_upload, upload_removed
from aperture.adapters.outbox import Event, Outbox
from aperture.errors import InvalidCursorError
from aperture.models.records import StoryRecord, StoryView

EXPIRY_SHARDS = 16  # a day's expiring stories spread over this many index partitions
DAY_MS = 86_400_000


def expiry_shard(story_id: int, expires_at_ms: int) -> int:
    """The by_expiry partition of a story: its expiry day, and a shard so no single partition takes every write."""
    # Hashed: a Snowflake id's low bits are its sequence, nearly always the same for a story's id.
    return (expires_at_ms // DAY_MS) * EXPIRY_SHARDS + zlib.crc32(str(story_id).encode()) % EXPIRY_SHARDS


class StoryRepository:
    """Stories by id, by author (by_author), and those awaiting the expiry job (the sparse by_expiry index)."""

    def __init__(self, table: Any, outbox: Outbox, purge_after_seconds: int = 7 * 86_400) -> None:
        self._table = table
        self._outbox = outbox
        self._purge_after = purge_after_seconds

    def delete(self, story: StoryRecord, highlights_table: Any, uploads_table: Any, at_ms: int, event: Event) -> bool:
        """Take a story down with its event (the cascade's start), in one transaction: its record marked deleted
        and out of the expiry index, its highlight if it has one, and its upload marked removed. False if it was
        taken down already."""
        highlight: dict[str, Any] = {
            "TableName": highlights_table.name,
            "Key": {"author_id": story.author_id, "story_id": story.story_id},
        }
        changes: list[dict[str, Any]] = []
        if self.get(story.story_id) is not None:
            update = {
                "TableName": self._table.name,
                "Key": {"story_id": story.story_id},
                "UpdateExpression": "SET deleted = :yes REMOVE expiry_shard",
                "ConditionExpression": "attribute_exists(story_id) AND deleted <> :yes",
                "ExpressionAttributeValues": {":yes": True},
            }
            changes += [{"Update": update}, {"Delete": highlight}]
        else:  # the record was purged; its highlight is all there is
            changes.append({"Delete": {**highlight, "ConditionExpression": "attribute_exists(story_id)"}})
        upload = upload_removed(uploads_table, story.upload_id, at_ms)
        return transact_unless_condition(self._table, [*changes, {"Update": upload}, self._outbox.entry(event)])

    def publish(self, story: StoryRecord, uploads_table: Any) -> str:
        """Write a story and mark its upload ready, together: "created", "exists" (a redelivery) or "refused"."""
        item = {k: v for k, v in story.model_dump().items() if v is not None}
        item["expiry_shard"] = expiry_shard(story.story_id, story.expires_at)
        item["purge_at"] = story.expires_at // 1000 + self._purge_after
        return publish_from_upload(self._table, item, "story_id", story.upload_id, uploads_table)

    def get(self, story_id: int) -> StoryRecord | None:
        """The story, deleted ones included (callers check `deleted`)."""
        item = self._table.get_item(Key={"story_id": story_id}, ConsistentRead=True).get("Item")
        return StoryRecord.model_validate(plain(item)) if item else None

    def live_by(
        self, author_id: int, now_ms: int, limit: int, cursor: str | None
    ) -> tuple[list[StoryRecord], str | None]:
        """An author's stories still live at `now_ms`, oldest first (they all live equally long)."""
        start = decode_cursor(cursor, ("author_id", "expires_at", "story_id"))
        if start is not None and (start["author_id"] != author_id or start["expires_at"] <= now_ms):
            # Another list's cursor, or one whose stories have all expired since: nothing it saw is left.
            if start["author_id"] != author_id:
                raise InvalidCursorError("the cursor is not valid; start again without one")
            cursor = None
        items, next_cursor = query_page(
            self._table,
            ("author_id", "expires_at", "story_id"),
            limit,
            cursor,
            IndexName="by_author",
            KeyConditionExpression=Key("author_id").eq(author_id) & Key("expires_at").gt(now_ms),
        )
        stories = [StoryRecord.model_validate(i) for i in items]
        return [s for s in stories if not s.deleted], next_cursor

    def due(self, shard: int, now_ms: int) -> Iterator[StoryRecord]:
        """Stories of one expiry shard whose time is up and that the expiry job has not ended yet."""
        return self._awaiting_expiry(shard, Key("expires_at").lte(now_ms))

    def live_in(self, shard: int, now_ms: int) -> Iterator[StoryRecord]:
        """Stories of one expiry shard still live at `now_ms` (deleted ones have left the index)."""
        return self._awaiting_expiry(shard, Key("expires_at").gt(now_ms))

    def _awaiting_expiry(self, shard: int, time_condition: Any) -> Iterator[StoryRecord]:
        condition = Key("expiry_shard").eq(shard) & time_condition
        pages = query_pages(self._table, IndexName="by_expiry", KeyConditionExpression=condition)
        return (StoryRecord.model_validate(plain(item)) for page in pages for item in page)

    def mark_ended(self, story_id: int, outcome: str, view_count: int | None) -> bool:
        """Take a story out of the expiry index, keeping its final view count; False if it was ended already."""
        return update_if(
            self._table,
            {"story_id": story_id},
            "SET ended = :o, view_count = :n REMOVE expiry_shard",
            "attribute_exists(expiry_shard)",
            {":o": outcome, ":n": view_count},
        )


class StoryViewRepository:
    """Who viewed each story: one item per viewer, so a repeated write changes nothing."""

    def __init__(self, table: Any, keep_after_expiry_seconds: int = 7 * 86_400) -> None:
        self._table = table
        self._keep = keep_after_expiry_seconds

    def put_many(self, views: Iterable[tuple[StoryView, int]]) -> None:
        """Write (view, story expires_at ms) pairs with BatchWriteItem, 25 at a time, retrying unprocessed items."""
        unique = {(v.story_id, v.viewer_id): (v, expires) for v, expires in views}
        requests = [
            {
                "PutRequest": {
                    "Item": {**view.model_dump(), "purge_at": expires // 1000 + self._keep},
                }
            }
            for view, expires in unique.values()
        ]
        client = self._table.meta.client
        for start in range(0, len(requests), BATCH_WRITE_LIMIT):
            pending: dict[str, Any] = {self._table.name: requests[start : start + BATCH_WRITE_LIMIT]}
            for attempt in range(8):
                response = client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
                # Unprocessed items mean throttling: back off (exponentially, jittered) before asking again.
                time.sleep(random.uniform(0, 0.05 * 2**attempt))
            if pending:
                raise RuntimeError(f"DynamoDB left {len(pending[self._table.name])} story views unwritten")

    def seen(self, viewer_id: int, story_ids: Iterable[int]) -> set[int]:
        """Which of the stories the viewer has viewed (the DynamoDB answer, for when Redis is away)."""
        wanted = list(dict.fromkeys(story_ids))
        found: set[int] = set()
        client = self._table.meta.client
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            keys = [{"story_id": s, "viewer_id": viewer_id} for s in wanted[start : start + BATCH_GET_LIMIT]]
            request: dict[str, Any] = {self._table.name: {"Keys": keys, "ProjectionExpression": "story_id"}}
            while request:
                response = client.batch_get_item(RequestItems=request)
                found.update(int(i["story_id"]) for i in response.get("Responses", {}).get(self._table.name, []))
                request = response.get("UnprocessedKeys") or {}
        return found

    def count(self, story_id: int) -> int:
        return count_items(self._table, "story_id", story_id)

    def purge(self, story_id: int) -> int:
        """Delete every view of a (deleted) story; returns how many."""
        condition = Key("story_id").eq(story_id)
        pages = query_pages(self._table, KeyConditionExpression=condition, ProjectionExpression="viewer_id")
        return sum(
            delete_keys(self._table, ({"story_id": story_id, "viewer_id": i["viewer_id"]} for i in page))
            for page in pages
        )

    def page(self, story_id: int, limit: int, cursor: str | None) -> tuple[list[StoryView], str | None]:
        """A story's viewers, most recent first."""
        items, next_cursor = query_page(
            self._table,
            ("story_id", "viewer_id", "viewed_at"),
            limit,
            cursor,
            IndexName="by_time",
            KeyConditionExpression=Key("story_id").eq(story_id),
            ScanIndexForward=False,
        )
        return [StoryView.model_validate({k: i[k] for k in ("story_id", "viewer_id", "viewed_at")}) for i in items], (
            next_cursor
        )


class HighlightRepository:
    """Expired stories kept for good, by author, newest first."""

    def __init__(self, table: Any) -> None:
        self._table = table

    @property
    def table(self) -> Any:
        return self._table

    def put(self, story: StoryRecord) -> None:
        self._table.put_item(Item={k: v for k, v in story.model_dump().items() if v is not None})

    def get(self, author_id: int, story_id: int) -> StoryRecord | None:
        item = self._table.get_item(Key={"author_id": author_id, "story_id": story_id}).get("Item")
        return StoryRecord.model_validate(plain(item)) if item else None

    def delete(self, author_id: int, story_id: int) -> None:
        self._table.delete_item(Key={"author_id": author_id, "story_id": story_id})

    def page(self, author_id: int, limit: int, cursor: str | None) -> tuple[list[StoryRecord], str | None]:
        items, next_cursor = query_page(
            self._table,
            ("author_id", "story_id"),
            limit,
            cursor,
            KeyConditionExpression=Key("author_id").eq(author_id),
            ScanIndexForward=False,
        )
        return [StoryRecord.model_validate(i) for i in items], next_cursor
