"""Edits of the posts table: a post's editable attributes changed in place, with its event, in one transaction."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from aperture.adapters.dynamo.common import plain, transact_unless_condition
from aperture.adapters.outbox import Event, Outbox
from aperture.models.records import PostRecord


def _stored(value: Any) -> Any:
    """A record attribute as DynamoDB takes it: tuples as lists, models (a carousel's photos) as maps."""
    if isinstance(value, tuple | list):
        return [_stored(item) for item in value]
    return value.model_dump() if isinstance(value, BaseModel) else value


class PostEditRepository:
    def __init__(self, table: Any, outbox: Outbox) -> None:
        self._table = table
        self._outbox = outbox

    def current(self, post_id: int) -> PostRecord | None:
        """The post as last committed (a consistent read: an edit builds on the latest version)."""
        item = self._table.get_item(Key={"post_id": post_id}, ConsistentRead=True).get("Item")
        return PostRecord.model_validate(plain(item)) if item else None

    def apply(self, post: PostRecord, changes: dict[str, Any], event: Event) -> bool:
        """Write `changes` (attribute -> value; None removes it) as the post's next version, with the event, in one
        transaction; only if the post is still there at the version `post` was read at (False otherwise: deleted
        since, or another edit committed first, and nothing was written)."""
        names = {f"#a{i}": name for i, name in enumerate(changes)}
        values: dict[str, Any] = {":next": post.version + 1}
        sets, removes = ["version = :next"], []
        for (alias, _name), value in zip(names.items(), changes.values(), strict=True):
            if value is None:
                removes.append(alias)
            else:
                values[f":{alias[1:]}"] = _stored(value)
                sets.append(f"{alias} = :{alias[1:]}")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        values[":seen"] = post.version
        condition = "version = :seen"
        if not post.version:  # (posts written before edits existed have no version attribute)
            condition = "attribute_exists(post_id) AND (attribute_not_exists(version) OR version = :seen)"
        update = {
            "TableName": self._table.name,
            "Key": {"post_id": post.post_id},
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        return transact_unless_condition(self._table, [{"Update": update}, self._outbox.entry(event)])
