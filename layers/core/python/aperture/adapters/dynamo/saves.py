"""The saves table: each user's saved posts (newest first through by_time), and each post's savers (by_post)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from aperture.adapters.dynamo.common import (
    BATCH_GET_LIMIT,
    Key,
    delete_if,
    delete_keys,
    plain,
    query_page,
    query_pages,
    transact_unless_condition,
)
from aperture.adapters.dynamo.posts import post_still_exists
from aperture.adapters.outbox import Event, Outbox


class SaveRepository:
    """Every save: user -> post, with when. The truth for "saved by me" and the saved list; nobody else reads it."""

    def __init__(self, table: Any, posts_table: Any, outbox: Outbox) -> None:
        self._table = table
        self._posts = posts_table
        self._outbox = outbox

    def add(self, user_id: int, post_id: int, at_ms: int, event: Event) -> bool:
        """Save the post, with its event (the outbox); False (nothing written) if it was saved already or the post
        is gone (a save racing the post's deletion must not outlive its cascade)."""
        put = {
            "TableName": self._table.name,
            "Item": {"user_id": user_id, "post_id": post_id, "saved_at": at_ms},
            "ConditionExpression": "attribute_not_exists(post_id)",
        }
        items = [{"Put": put}, post_still_exists(self._posts, post_id), self._outbox.entry(event)]
        return transact_unless_condition(self._table, items)

    def remove(self, user_id: int, post_id: int) -> bool:
        """Unsave; False if it was not saved."""
        return delete_if(self._table, {"user_id": user_id, "post_id": post_id}, "attribute_exists(post_id)")

    def exists(self, user_id: int, post_id: int) -> bool:
        key = {"user_id": user_id, "post_id": post_id}
        return "Item" in self._table.get_item(Key=key, ConsistentRead=True, ProjectionExpression="post_id")

    def saved_among(self, user_id: int, post_ids: Iterable[int]) -> set[int]:
        """Which of these posts the user saved, in as few consistent BatchGetItem calls as the limit allows."""
        wanted = list(dict.fromkeys(post_ids))
        found: set[int] = set()
        client = self._table.meta.client
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            keys = [{"user_id": user_id, "post_id": p} for p in wanted[start : start + BATCH_GET_LIMIT]]
            request: dict[str, Any] = {
                self._table.name: {"Keys": keys, "ConsistentRead": True, "ProjectionExpression": "post_id"}
            }
            while request:
                response = client.batch_get_item(RequestItems=request)
                found.update(int(item["post_id"]) for item in response.get("Responses", {}).get(self._table.name, []))
                request = response.get("UnprocessedKeys") or {}
        return found

    def post_ids(self, user_id: int, at_most: int) -> list[int]:
        """Up to `at_most` of the user's saved post ids (any order), read consistently: what the cache is built from."""
        ids: list[int] = []
        pages = query_pages(
            self._table,
            KeyConditionExpression=Key("user_id").eq(user_id),
            ProjectionExpression="post_id",
            ConsistentRead=True,
        )
        for page in pages:
            ids += [int(item["post_id"]) for item in page]
            if len(ids) >= at_most:
                return ids[:at_most]
        return ids

    def page(self, user_id: int, limit: int, cursor: str | None) -> tuple[list[int], str | None]:
        """A page of the user's saved post ids, most recently saved first."""
        items, next_cursor = query_page(
            self._table,
            ("user_id", "post_id", "saved_at"),
            limit,
            cursor,
            IndexName="by_time",
            KeyConditionExpression=Key("user_id").eq(user_id),
            ScanIndexForward=False,
        )
        return [int(plain(item["post_id"])) for item in items], next_cursor

    def savers(self, post_id: int) -> Iterator[list[int]]:
        """Every user who saved a post, a page at a time."""
        pages = query_pages(self._table, IndexName="by_post", KeyConditionExpression=Key("post_id").eq(post_id))
        return ([int(item["user_id"]) for item in page] for page in pages)

    def purge(self, post_id: int) -> int:
        """Delete every save of a (deleted) post, in every saver's list; returns how many."""
        return sum(
            delete_keys(self._table, ({"user_id": user, "post_id": post_id} for user in savers))
            for savers in self.savers(post_id)
        )
