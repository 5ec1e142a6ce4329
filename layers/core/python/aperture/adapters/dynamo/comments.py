"""The comments table: each post's comments in Snowflake order, with the post's comment count kept in step."""

from __future__ import annotations

from typing import Any

from aperture.adapters.dynamo.common import Key, delete_keys, plain, query_page, query_pages, transact_unless_condition
from aperture.adapters.outbox import Event, Outbox
from aperture.models.records import Comment


class CommentRepository:
    """Comments per post in Snowflake order, with the post's comment count kept in the same transaction."""

    def __init__(self, table: Any, posts_table: Any, outbox: Outbox) -> None:
        self._table = table
        self._posts = posts_table
        self._outbox = outbox

    def _count(self, post_id: int, delta: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._posts.name,
                "Key": {"post_id": post_id},
                "UpdateExpression": "ADD comment_count :d",
                "ConditionExpression": "attribute_exists(post_id)",
                "ExpressionAttributeValues": {":d": delta},
            }
        }

    def add(self, comment: Comment, event: Event) -> bool:
        """The comment, the post's count and the event, in one transaction. False (nothing written) if the post
        is gone or a comment with this id exists (a retried request)."""
        item = {**comment.model_dump(), "mentioned_ids": list(comment.mentioned_ids)}
        put = {"TableName": self._table.name, "Item": item, "ConditionExpression": "attribute_not_exists(comment_id)"}
        return transact_unless_condition(
            self._table, [{"Put": put}, self._count(comment.post_id, 1), self._outbox.entry(event)]
        )

    def purge(self, post_id: int) -> int:
        """Delete every comment of a (deleted) post, a page at a time; returns how many."""
        condition = Key("post_id").eq(post_id)
        pages = query_pages(
            self._table, KeyConditionExpression=condition, ProjectionExpression="comment_id", ConsistentRead=True
        )
        return sum(
            delete_keys(self._table, ({"post_id": post_id, "comment_id": i["comment_id"]} for i in page))
            for page in pages
        )

    def get(self, post_id: int, comment_id: int) -> Comment | None:
        item = self._table.get_item(Key={"post_id": post_id, "comment_id": comment_id}).get("Item")
        return Comment.model_validate(plain(item)) if item else None

    def delete(self, post_id: int, comment_id: int) -> bool:
        remove = {
            "TableName": self._table.name,
            "Key": {"post_id": post_id, "comment_id": comment_id},
            "ConditionExpression": "attribute_exists(comment_id)",
        }
        return transact_unless_condition(self._table, [{"Delete": remove}, self._count(post_id, -1)])

    def page(self, post_id: int, limit: int, cursor: str | None) -> tuple[list[Comment], str | None]:
        items, next_cursor = query_page(
            self._table,
            ("post_id", "comment_id"),
            limit,
            cursor,
            KeyConditionExpression=Key("post_id").eq(post_id),
            ScanIndexForward=True,
        )
        return [Comment.model_validate(item) for item in items], next_cursor
