"""The likes table: every like of a post (and each user's, through the index), written with its event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aperture.adapters.dynamo.common import (
    Key,
    count_items,
    delete_keys,
    query_page,
    query_pages,
    transact_unless_condition,
)
from aperture.adapters.dynamo.posts import post_still_exists
from aperture.adapters.outbox import Event, Outbox


class LikeRepository:
    """Every like: post -> user in the table, user -> post in the index. The source of truth for counts. A change
    is written with its event (the outbox), in one transaction."""

    def __init__(self, table: Any, outbox: Outbox, posts_table: Any) -> None:
        self._table = table
        self._outbox = outbox
        self._posts = posts_table

    def add(self, post_id: int, user_id: int, at_ms: int, event: Event) -> bool:
        """Record the like and its event; False (and no event) if it was there already, or the post is gone (a
        like racing the post's deletion must not outlive its cascade)."""
        put = {
            "TableName": self._table.name,
            "Item": {"post_id": post_id, "user_id": user_id, "created_at": at_ms},
            "ConditionExpression": "attribute_not_exists(post_id)",
        }
        items = [{"Put": put}, post_still_exists(self._posts, post_id), self._outbox.entry(event)]
        return transact_unless_condition(self._table, items)

    def remove(self, post_id: int, user_id: int, event: Event) -> bool:
        """Take the like back and record its event; False (and no event) if there was none."""
        delete = {
            "TableName": self._table.name,
            "Key": {"post_id": post_id, "user_id": user_id},
            "ConditionExpression": "attribute_exists(post_id)",
        }
        return transact_unless_condition(self._table, [{"Delete": delete}, self._outbox.entry(event)])

    def exists(self, post_id: int, user_id: int) -> bool:
        key = {"post_id": post_id, "user_id": user_id}
        return "Item" in self._table.get_item(Key=key, ConsistentRead=True, ProjectionExpression="post_id")

    def count(self, post_id: int) -> int:
        return count_items(self._table, "post_id", post_id, consistent=True)

    def likers(self, post_id: int) -> Iterator[list[int]]:
        """Every user who liked a post, a page at a time."""
        pages = query_pages(
            self._table,
            KeyConditionExpression=Key("post_id").eq(post_id),
            ProjectionExpression="user_id",
            ConsistentRead=True,
        )
        return ([int(item["user_id"]) for item in page] for page in pages)

    def page(self, post_id: int, limit: int, cursor: str | None) -> tuple[list[int], str | None]:
        items, next_cursor = query_page(
            self._table, ("post_id", "user_id"), limit, cursor, KeyConditionExpression=Key("post_id").eq(post_id)
        )
        return [int(item["user_id"]) for item in items], next_cursor

    def purge(self, post_id: int) -> int:
        """Delete every like of a (deleted) post (its user -> post index entries go with them); returns how many."""
        return sum(
            delete_keys(self._table, ({"post_id": post_id, "user_id": user} for user in likers))
            for likers in self.likers(post_id)
        )
