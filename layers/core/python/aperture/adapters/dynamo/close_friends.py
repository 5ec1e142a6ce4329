"""The close_friends and close_friend_of tables: each user's close friends, and whose close friend each user is."""

from __future__ import annotations

from typing import Any

from aperture.adapters.dynamo.common import Key, query_page, query_pages, transact_unless_condition

# Both directions are base tables written in one transaction: the owner's list (read by them alone) and, per friend,
# whose close-friends stories they may see (read consistently at viewing time; a global index would be eventually
# consistent, and a removed friend must lose access at once).


class CloseFriendRepository:
    def __init__(self, table: Any, reverse_table: Any) -> None:
        self._table = table
        self._reverse = reverse_table

    def add(self, owner_id: int, friend_id: int, at_ms: int) -> bool:
        """Add the friend to the owner's list; False (nothing written) if they were on it."""
        items = [
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": {"owner_id": owner_id, "friend_id": friend_id, "added_at": at_ms},
                    "ConditionExpression": "attribute_not_exists(friend_id)",
                }
            },
            {
                "Put": {
                    "TableName": self._reverse.name,
                    "Item": {"friend_id": friend_id, "owner_id": owner_id, "added_at": at_ms},
                }
            },
        ]
        return transact_unless_condition(self._table, items)

    def remove(self, owner_id: int, friend_id: int) -> bool:
        """Take the friend off the owner's list (both directions); False if they were not on it."""
        items = [
            {
                "Delete": {
                    "TableName": self._table.name,
                    "Key": {"owner_id": owner_id, "friend_id": friend_id},
                    "ConditionExpression": "attribute_exists(friend_id)",
                }
            },
            {"Delete": {"TableName": self._reverse.name, "Key": {"friend_id": friend_id, "owner_id": owner_id}}},
        ]
        return transact_unless_condition(self._table, items)

    def page(self, owner_id: int, limit: int, cursor: str | None) -> tuple[list[int], str | None]:
        """A page of the owner's close friends' ids."""
        items, next_cursor = query_page(
            self._table,
            ("owner_id", "friend_id"),
            limit,
            cursor,
            KeyConditionExpression=Key("owner_id").eq(owner_id),
        )
        return [int(i["friend_id"]) for i in items], next_cursor


class CloseFriendOfRepository:
    """The reverse direction alone: what viewing reads (the functions that show stories are given only this table)."""

    def __init__(self, reverse_table: Any) -> None:
        self._reverse = reverse_table

    def close_friend_of(self, friend_id: int) -> set[int]:
        """Everyone who lists this user as a close friend, read consistently."""
        pages = query_pages(
            self._reverse,
            KeyConditionExpression=Key("friend_id").eq(friend_id),
            ProjectionExpression="owner_id",
            ConsistentRead=True,
        )
        return {int(item["owner_id"]) for page in pages for item in page}
