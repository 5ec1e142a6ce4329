"""The follows, blocks and mutes tables: the social graph's edges, with the users' counts kept in step."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from aperture.adapters.dynamo.common import (
    BATCH_GET_LIMIT,
    BATCH_WRITE_LIMIT,
    Key,
    delete_if,
    put_new,
    query_page,
    query_pages,
    transact_unless_condition,
)
from aperture.adapters.dynamo.follow_requests import FollowRequestRepository
from aperture.adapters.dynamo.users import UserCounters
from aperture.adapters.outbox import Event, Outbox
from aperture.errors import ConflictError

FOLLOW_KEY = ("follower_id", "followee_id")


class FollowRepository:
    """Follow edges keyed both ways: by follower (table) and by followee (index), counts kept in step."""

    def __init__(self, table: Any, users_table: Any, outbox: Outbox) -> None:
        self._table = table
        self._counters = UserCounters(users_table)
        self._outbox = outbox

    def page_following(self, user_id: int, limit: int, cursor: str | None) -> tuple[list[int], str | None]:
        items, next_cursor = query_page(
            self._table, FOLLOW_KEY, limit, cursor, KeyConditionExpression=Key("follower_id").eq(user_id)
        )
        return [int(i["followee_id"]) for i in items], next_cursor

    def following_ids(self, user_id: int) -> list[int]:
        """Everyone a user follows."""
        found: list[int] = []
        cursor = None
        while True:
            ids, cursor = self.page_following(user_id, 500, cursor)
            found += ids
            if cursor is None:
                return found

    def page_followers(self, user_id: int, limit: int, cursor: str | None) -> tuple[list[int], str | None]:
        items, next_cursor = query_page(
            self._table,
            FOLLOW_KEY,
            limit,
            cursor,
            IndexName="by_followee",
            KeyConditionExpression=Key("followee_id").eq(user_id),
        )
        return [int(i["follower_id"]) for i in items], next_cursor

    def follow(self, follower_id: int, followee_id: int, at_ms: int, event: Event) -> bool:
        """Add the edge, both counts and the event in one transaction. False if it was already there."""
        put = {
            "TableName": self._table.name,
            "Item": {"follower_id": follower_id, "followee_id": followee_id, "created_at": at_ms},
            "ConditionExpression": "attribute_not_exists(follower_id)",
        }
        counts = self._counters.follows([(follower_id, followee_id)], 1, must_exist=True)
        return transact_unless_condition(self._table, [{"Put": put}, *counts, self._outbox.entry(event)])

    def import_new(self, edges: Iterable[tuple[int, int]], at_ms: int) -> int:
        """Bulk-load follow edges that do not exist yet (a new world: the demo), with their counts.

        Edges go in with BatchWriteItem, 25 at a time, then each user's counts in one update: two orders of
        magnitude fewer requests than a transaction per edge. Not for edges that may exist (counts would double).
        """
        unique = list(dict.fromkeys(edges))
        client = self._table.meta.client
        for start in range(0, len(unique), BATCH_WRITE_LIMIT):
            puts = [
                {"PutRequest": {"Item": {"follower_id": f, "followee_id": e, "created_at": at_ms}}}
                for f, e in unique[start : start + BATCH_WRITE_LIMIT]
            ]
            pending: dict[str, Any] = {self._table.name: puts}
            while pending:
                pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        self._counters.add_follows_now(unique)
        return len(unique)

    def unfollow(self, follower_id: int, followee_id: int, event: Event) -> bool:
        """Remove the edge, both counts, and record the event, in one transaction. False if there was no edge."""
        delete = {
            "TableName": self._table.name,
            "Key": {"follower_id": follower_id, "followee_id": followee_id},
            "ConditionExpression": "attribute_exists(follower_id)",
        }
        counts = self._counters.follows([(follower_id, followee_id)], -1, must_exist=True)
        return transact_unless_condition(self._table, [{"Delete": delete}, *counts, self._outbox.entry(event)])

    def is_following(self, follower_id: int, followee_id: int, consistent: bool = False) -> bool:
        key = {"follower_id": follower_id, "followee_id": followee_id}
        return "Item" in self._table.get_item(Key=key, ProjectionExpression="follower_id", ConsistentRead=consistent)

    def following_among(self, follower_id: int, followee_ids: Iterable[int]) -> set[int]:
        """Which of these users the follower follows, in as few BatchGetItem calls as the limit allows."""
        wanted = list(dict.fromkeys(followee_ids))
        found: set[int] = set()
        client = self._table.meta.client
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            keys = [{"follower_id": follower_id, "followee_id": f} for f in wanted[start : start + BATCH_GET_LIMIT]]
            request: dict[str, Any] = {self._table.name: {"Keys": keys, "ProjectionExpression": "followee_id"}}
            while request:
                response = client.batch_get_item(RequestItems=request)
                found.update(int(i["followee_id"]) for i in response.get("Responses", {}).get(self._table.name, []))
                request = response.get("UnprocessedKeys") or {}
        return found

    def followers(self, user_id: int, page_size: int = 1000) -> Iterator[list[int]]:
        """Every follower of a user, a page at a time, from the by-followee index."""
        pages = query_pages(
            self._table,
            IndexName="by_followee",
            KeyConditionExpression=Key("followee_id").eq(user_id),
            ProjectionExpression="follower_id",
            Limit=page_size,
        )
        return ([int(item["follower_id"]) for item in page] for page in pages)


class BlockRepository:
    """Block edges keyed both ways: by blocker (table) and by blocked (index)."""

    def __init__(
        self, table: Any, follows_table: Any, users_table: Any, requests: FollowRequestRepository | None = None
    ) -> None:
        self._table = table
        self._follows = follows_table
        self._counters = UserCounters(users_table)
        self._requests = requests  # pending follow requests, removed both ways with the block

    def _edge_exists(self, follower_id: int, followee_id: int) -> bool:
        key = {"follower_id": follower_id, "followee_id": followee_id}
        return "Item" in self._follows.get_item(Key=key, ConsistentRead=True, ProjectionExpression="follower_id")

    def block(self, blocker_id: int, blocked_id: int, at_ms: int, attempts: int = 5) -> bool:
        """Add the block and remove follows both ways, with their counts, in one transaction.

        False if the block was already there. A follow appearing or vanishing meanwhile retries the whole.
        """
        for _ in range(attempts):
            items: list[dict[str, Any]] = [
                {
                    "Put": {
                        "TableName": self._table.name,
                        "Item": {"blocker_id": blocker_id, "blocked_id": blocked_id, "created_at": at_ms},
                        "ConditionExpression": "attribute_not_exists(blocker_id)",
                    }
                }
            ]
            edges = [e for e in ((blocker_id, blocked_id), (blocked_id, blocker_id)) if self._edge_exists(*e)]
            for follower, followee in edges:
                items.append(
                    {
                        "Delete": {
                            "TableName": self._follows.name,
                            "Key": {"follower_id": follower, "followee_id": followee},
                            "ConditionExpression": "attribute_exists(follower_id)",
                        }
                    }
                )
            items.extend(self._counters.follows(edges, -1))
            if self._requests is not None:
                items.extend(self._requests.deletes_both_ways(blocker_id, blocked_id))
            if transact_unless_condition(self._table, items):
                return True
            if self.is_blocking(blocker_id, blocked_id):
                return False
            # a follow edge changed under us: look again
        raise ConflictError("the relationship kept changing; try again")

    def unblock(self, blocker_id: int, blocked_id: int) -> bool:
        key = {"blocker_id": blocker_id, "blocked_id": blocked_id}
        return delete_if(self._table, key, "attribute_exists(blocker_id)")

    def is_blocking(self, blocker_id: int, blocked_id: int) -> bool:
        key = {"blocker_id": blocker_id, "blocked_id": blocked_id}
        return "Item" in self._table.get_item(Key=key, ProjectionExpression="blocker_id")

    def blocked_either_way(self, user_id: int) -> set[int]:
        """Everyone this user blocks or is blocked by."""
        found: set[int] = set()
        for index, mine, theirs in ((None, "blocker_id", "blocked_id"), ("by_blocked", "blocked_id", "blocker_id")):
            kwargs: dict[str, Any] = {"KeyConditionExpression": Key(mine).eq(user_id), "ProjectionExpression": theirs}
            if index:
                kwargs["IndexName"] = index
            found.update(int(item[theirs]) for page in query_pages(self._table, **kwargs) for item in page)
        return found


class MuteRepository:
    """Mute edges, keyed by the muter alone: only the muter's own reads ever look at them."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def mute(self, muter_id: int, muted_id: int, at_ms: int) -> bool:
        """Add the mute; False (nothing changed) if it was already there."""
        return put_new(self._table, {"muter_id": muter_id, "muted_id": muted_id, "created_at": at_ms}, "muter_id")

    def unmute(self, muter_id: int, muted_id: int) -> bool:
        """Remove the mute; False (nothing changed) if there was none."""
        return delete_if(self._table, {"muter_id": muter_id, "muted_id": muted_id}, "attribute_exists(muter_id)")

    def is_muting(self, muter_id: int, muted_id: int) -> bool:
        key = {"muter_id": muter_id, "muted_id": muted_id}
        return "Item" in self._table.get_item(Key=key, ProjectionExpression="muter_id")

    def muted_by(self, muter_id: int) -> set[int]:
        """Everyone this user mutes."""
        pages = query_pages(
            self._table, KeyConditionExpression=Key("muter_id").eq(muter_id), ProjectionExpression="muted_id"
        )
        return {int(item["muted_id"]) for page in pages for item in page}
