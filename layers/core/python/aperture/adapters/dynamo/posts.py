"""The posts table: posts by id and by author, published from and deleted with their uploads."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aperture.adapters.dynamo.common import Key, batch_get, plain, query_page, transact_unless_condition, update_if
from aperture.adapters.dynamo.uploads import publish_from_upload, upload_removed
from aperture.adapters.dynamo.users import UserCounters
from aperture.adapters.outbox import Event, Outbox
from aperture.models.records import PostRecord


def post_still_exists(posts_table: Any, post_id: int) -> dict[str, Any]:
    """The transaction entry that fails the write unless the post is there (a like or save racing the post's
    deletion must not outlive its cascade)."""
    return {
        "ConditionCheck": {
            "TableName": posts_table.name,
            "Key": {"post_id": post_id},
            "ConditionExpression": "attribute_exists(post_id)",
        }
    }


class PostRepository:
    def __init__(self, table: Any, users_table: Any, outbox: Outbox) -> None:
        self._table = table
        self._counters = UserCounters(users_table)
        self._outbox = outbox

    def publish(self, post: PostRecord, uploads_table: Any, event: Event) -> str:
        """Write a post, count it on its author, record its event and mark its upload ready, in one transaction.

        Returns "created"; "exists" when a redelivery finds it written; "refused" when the upload was
        rejected meanwhile or the post was deleted since (then nothing is written).
        """
        item = {k: v for k, v in post.model_dump().items() if v is not None}
        item["hashtags"] = list(post.hashtags)
        item["media"] = [p.model_dump() for p in post.media]
        count = self._counters.posts(post.author_id, 1)
        also = [count, self._outbox.entry(event)]
        return publish_from_upload(self._table, item, "post_id", post.upload_id, uploads_table, also)

    def delete(self, post: PostRecord, uploads_table: Any, at_ms: int, event: Event) -> bool:
        """Remove a post, its count on the author, mark its upload removed (a redelivered 'ready' event must not
        bring it back) and record its event (the cascade's start), in one transaction; False if it was gone, or
        edited since `post` was read (the event names its hashtags, which an edit may have changed)."""
        remove = {
            "TableName": self._table.name,
            "Key": {"post_id": post.post_id},
            "ConditionExpression": "attribute_exists(post_id) AND (attribute_not_exists(version) OR version = :v)",
            "ExpressionAttributeValues": {":v": post.version},
        }
        count = self._counters.posts(post.author_id, -1)
        upload = upload_removed(uploads_table, post.upload_id, at_ms)
        items = [{"Delete": remove}, count, {"Update": upload}, self._outbox.entry(event)]
        return transact_unless_condition(self._table, items)

    def page_by_author(
        self, author_id: int, limit: int, cursor: str | None, below_id: int | None = None
    ) -> tuple[list[int], str | None]:
        """An author's post ids, newest first (only those below `below_id` when given)."""
        condition = Key("author_id").eq(author_id)
        if below_id is not None:
            condition = condition & Key("post_id").lt(below_id)
        items, next_cursor = query_page(
            self._table,
            ("author_id", "post_id"),
            limit,
            cursor,
            IndexName="by_author",
            KeyConditionExpression=condition,
            ScanIndexForward=False,
            ProjectionExpression="post_id, author_id",
        )
        return [int(i["post_id"]) for i in items], next_cursor

    def latest_by(self, author_id: int, count: int, below_id: int | None = None) -> list[PostRecord]:
        """An author's newest posts (with ids below `below_id` when given), whole."""
        ids, _ = self.page_by_author(author_id, count, None, below_id)
        found = self.get_many(ids)
        return [found[i] for i in ids if i in found]

    def set_like_count(self, post_id: int, count: int) -> None:
        # A post deleted since has nothing to count.
        update_if(self._table, {"post_id": post_id}, "SET like_count = :n", "attribute_exists(post_id)", {":n": count})

    def get(self, post_id: int, consistent: bool = False) -> PostRecord | None:
        item = self._table.get_item(Key={"post_id": post_id}, ConsistentRead=consistent).get("Item")
        return PostRecord.model_validate(plain(item)) if item else None

    def get_many(self, post_ids: Iterable[int]) -> dict[int, PostRecord]:
        return {k: PostRecord.model_validate(v) for k, v in batch_get(self._table, "post_id", post_ids).items()}
