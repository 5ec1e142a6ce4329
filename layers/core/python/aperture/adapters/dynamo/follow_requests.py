"""The follow-requests table (pending requests to private accounts) and an account's privacy flag, each change
written in one transaction with its event."""

from __future__ import annotations

from typing import Any

from aperture.adapters.dynamo.common import Key, query_page, transact_unless_condition
from aperture.adapters.dynamo.users import UserCounters
from aperture.adapters.outbox import Event, Outbox

REQUEST_KEY = ("owner_id", "requester_id")


class FollowRequestRepository:
    """Requests keyed by the account asked, then the requester; approving one turns it into a follow edge."""

    def __init__(self, table: Any, follows_table: Any, users_table: Any, outbox: Outbox) -> None:
        self._table = table
        self._follows = follows_table
        self._counters = UserCounters(users_table)
        self._outbox = outbox

    def _key(self, owner_id: int, requester_id: int) -> dict[str, int]:
        return {"owner_id": owner_id, "requester_id": requester_id}

    def request(self, requester_id: int, owner_id: int, at_ms: int, event: Event) -> bool:
        """Add the request with its event, unless it is pending already or the requester follows the owner."""
        put = {
            "TableName": self._table.name,
            "Item": {**self._key(owner_id, requester_id), "created_at": at_ms},
            "ConditionExpression": "attribute_not_exists(owner_id)",
        }
        not_following = {
            "TableName": self._follows.name,
            "Key": {"follower_id": requester_id, "followee_id": owner_id},
            "ConditionExpression": "attribute_not_exists(follower_id)",
        }
        return transact_unless_condition(
            self._table, [{"Put": put}, {"ConditionCheck": not_following}, self._outbox.entry(event)]
        )

    def withdraw(self, requester_id: int, owner_id: int, event: Event) -> bool:
        """Remove a pending request with its event; False if there was none."""
        return transact_unless_condition(self._table, [self._delete(owner_id, requester_id), self._outbox.entry(event)])

    def approve(self, owner_id: int, requester_id: int, at_ms: int, event: Event) -> bool:
        """The request becomes a follow edge: the request gone, the edge and both counts made, the follow's event
        recorded, in one transaction. False if no request was pending (or the edge exists)."""
        put = {
            "TableName": self._follows.name,
            "Item": {"follower_id": requester_id, "followee_id": owner_id, "created_at": at_ms},
            "ConditionExpression": "attribute_not_exists(follower_id)",
        }
        counts = self._counters.follows([(requester_id, owner_id)], 1, must_exist=True)
        items = [self._delete(owner_id, requester_id), {"Put": put}, *counts, self._outbox.entry(event)]
        return transact_unless_condition(self._table, items)

    def decline(self, owner_id: int, requester_id: int) -> bool:
        """Remove a pending request, telling nobody; False if there was none."""
        return transact_unless_condition(self._table, [self._delete(owner_id, requester_id)])

    def _delete(self, owner_id: int, requester_id: int) -> dict[str, Any]:
        return {
            "Delete": {
                "TableName": self._table.name,
                "Key": self._key(owner_id, requester_id),
                "ConditionExpression": "attribute_exists(owner_id)",
            }
        }

    def deletes_both_ways(self, a: int, b: int) -> list[dict[str, Any]]:
        """Transaction entries removing any request between two users, either way (for a block)."""
        return [
            {"Delete": {"TableName": self._table.name, "Key": self._key(owner, requester)}}
            for owner, requester in ((a, b), (b, a))
        ]

    def is_pending(self, requester_id: int, owner_id: int, consistent: bool = False) -> bool:
        found = self._table.get_item(
            Key=self._key(owner_id, requester_id), ProjectionExpression="owner_id", ConsistentRead=consistent
        )
        return "Item" in found

    def page(
        self, owner_id: int, limit: int, cursor: str | None, consistent: bool = False
    ) -> tuple[list[int], str | None]:
        """Requesters of an account, a page at a time."""
        items, next_cursor = query_page(
            self._table,
            REQUEST_KEY,
            limit,
            cursor,
            KeyConditionExpression=Key("owner_id").eq(owner_id),
            ConsistentRead=consistent,
        )
        return [int(i["requester_id"]) for i in items], next_cursor


class PrivacyRepository:
    """An account's `private` flag, changed in one transaction with its event."""

    def __init__(self, users_table: Any, outbox: Outbox) -> None:
        self._users = users_table
        self._outbox = outbox

    def set_private(self, user_id: int, private: bool, event: Event) -> bool:
        """Set the flag and record the event; False (nothing written) if it already had that value."""
        update = {
            "TableName": self._users.name,
            "Key": {"user_id": user_id},
            "UpdateExpression": "SET #p = :p",
            "ConditionExpression": "attribute_exists(user_id) AND (attribute_not_exists(#p) OR #p <> :p)",
            "ExpressionAttributeNames": {"#p": "private"},
            "ExpressionAttributeValues": {":p": private},
        }
        return transact_unless_condition(self._users, [{"Update": update}, self._outbox.entry(event)])

    def record(self, event: Event) -> bool:
        """Write an event alone (the next round of a bounded job); False if it is there already."""
        return transact_unless_condition(self._users, [self._outbox.entry(event)])
