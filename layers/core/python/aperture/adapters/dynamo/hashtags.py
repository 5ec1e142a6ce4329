"""The hashtags table: each tag's posts (newest first, the hashtag page's `recent` order) and its post count.

An item per (tag, post) and one count item per tag (post_id 0, which no post has). A post joins a tag in one
transaction with the count's increment, on the condition that it was not there yet and that the post still exists;
it leaves with the decrement on the condition that it was there. So a count moves once per post whatever is retried
or redelivered, and a post deleted before its tags were written never joins.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from aperture.adapters.dynamo.common import (
    BATCH_GET_LIMIT,
    Key,
    decode_cursor,
    encode_cursor,
    plain,
    scan_pages,
    transact_unless_condition,
)
from aperture.adapters.dynamo.posts import post_still_exists

COUNT_ITEM = 0


class HashtagRepository:
    def __init__(self, table: Any, posts_table: Any) -> None:
        self._table = table
        self._posts = posts_table

    def join(self, tag: str, post_id: int, author_id: int) -> bool:
        """File the post under the tag and count it; False (nothing written) if it was already, or is gone."""
        put = {
            "TableName": self._table.name,
            "Item": {"tag": tag, "post_id": post_id, "author_id": author_id},
            "ConditionExpression": "attribute_not_exists(post_id)",
        }
        return transact_unless_condition(
            self._table, [{"Put": put}, self._count(tag, 1), post_still_exists(self._posts, post_id)]
        )

    def leave(self, tag: str, post_id: int) -> bool:
        """Take the post out of the tag and uncount it; False (nothing written) if it was not there."""
        delete = {
            "TableName": self._table.name,
            "Key": {"tag": tag, "post_id": post_id},
            "ConditionExpression": "attribute_exists(post_id)",
        }
        return transact_unless_condition(self._table, [{"Delete": delete}, self._count(tag, -1)])

    def _count(self, tag: str, delta: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table.name,
                "Key": {"tag": tag, "post_id": COUNT_ITEM},
                "UpdateExpression": "ADD post_count :d",
                "ExpressionAttributeValues": {":d": delta},
            }
        }

    def counts(self, tags: Iterable[str]) -> dict[str, int]:
        """Each tag's post count, read consistently (0 for a tag nobody used)."""
        wanted = list(dict.fromkeys(tags))
        found = dict.fromkeys(wanted, 0)
        client = self._table.meta.client
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            keys = [{"tag": t, "post_id": COUNT_ITEM} for t in wanted[start : start + BATCH_GET_LIMIT]]
            request: dict[str, Any] = {self._table.name: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table.name, []):
                    found[str(item["tag"])] = int(item.get("post_count", 0))
                request = response.get("UnprocessedKeys") or {}
        return found

    def all_counts(self) -> Iterator[dict[str, int]]:
        """Every tag's count, a page at a time (rebuilding the index)."""
        pages = scan_pages(
            self._table,
            FilterExpression="post_id = :zero",
            ExpressionAttributeValues={":zero": COUNT_ITEM},
        )
        return ({str(i["tag"]): int(i.get("post_count", 0)) for i in page} for page in pages)

    def page(self, tag: str, limit: int, cursor: str | None) -> tuple[list[tuple[int, int]], str | None]:
        """(post id, author id) of the tag's posts, newest first (Snowflake ids are time-ordered)."""
        # The cursor holds the post id alone (cursors carry numbers only); the tag is the page's own.
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("tag").eq(tag) & Key("post_id").gt(COUNT_ITEM),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = decode_cursor(cursor, ("post_id",))
        if start:
            query["ExclusiveStartKey"] = {"tag": tag, "post_id": start["post_id"]}
        response = self._table.query(**query)
        last = response.get("LastEvaluatedKey")
        next_cursor = encode_cursor({"post_id": int(last["post_id"])}) if last else None
        items = response.get("Items", [])
        return [(int(plain(i["post_id"])), int(plain(i["author_id"]))) for i in items], next_cursor
