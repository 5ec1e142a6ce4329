"""The users table: profiles (UserRepository) and the counters kept on them (UserCounters)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from aperture.adapters.dynamo.common import Key, batch_get, plain, scan_pages, transact_unless_condition, write_if
from aperture.adapters.outbox import Event, Outbox
from aperture.errors import ConflictError, UserNotFoundError
from aperture.models.records import User

POST_COUNT = "post_count"
FOLLOWER_COUNT = "follower_count"
FOLLOWING_COUNT = "following_count"


class UserRepository:
    def __init__(self, table: Any, outbox: Outbox | None = None) -> None:
        self._table = table
        self._outbox = outbox

    def create(self, user: User, email: str, event: Event | None = None) -> None:
        """Write a new profile; with `event`, in one transaction with it (the search index learns of the user if
        and only if the profile exists)."""
        put = {
            "TableName": self._table.name,
            "Item": {**user.model_dump(), "email": email},
            "ConditionExpression": "attribute_not_exists(user_id)",
        }
        if event is None or self._outbox is None:
            self._table.put_item(Item=put["Item"], ConditionExpression=put["ConditionExpression"])
            return
        if not transact_unless_condition(self._table, [{"Put": put}, self._outbox.entry(event)]):
            raise ConflictError(f"user {user.user_id} exists already")

    def get_consistent(self, user_id: int) -> User | None:
        item = self._table.get_item(Key={"user_id": user_id}, ConsistentRead=True).get("Item")
        return User.model_validate(plain(item)) if item else None

    def update_with_event(self, before: User, changes: dict[str, Any], event: Event) -> bool:
        """Set profile fields and record `event`, in one transaction, provided the names and privacy are still those
        of `before` (the event names what it replaces); False, with nothing written, if they changed meanwhile."""
        guarded = {"username": before.username, "display_name": before.display_name, "private": before.private}
        names = {f"#f{i}": name for i, name in enumerate(changes)} | {f"#g{i}": n for i, n in enumerate(guarded)}
        values = {f":v{i}": value for i, value in enumerate(changes.values())}
        values |= {f":g{i}": value for i, value in enumerate(guarded.values())}
        # A field never written (an account from before it existed) holds its default
        condition = " AND ".join(
            f"(#g{i} = :g{i}" + (f" OR attribute_not_exists(#g{i}))" if value in ("", False) else ")")
            for i, value in enumerate(guarded.values())
        )
        update = {
            "TableName": self._table.name,
            "Key": {"user_id": before.user_id},
            "UpdateExpression": "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(changes))),
            "ConditionExpression": f"attribute_exists(user_id) AND {condition}",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if self._outbox is None:
            raise RuntimeError("this repository was built without an outbox")
        return transact_unless_condition(self._table, [{"Update": update}, self._outbox.entry(event)])

    def scan_pages(self, page_size: int = 1_000) -> Iterator[list[User]]:
        """Every profile, a page at a time (rebuilding the search index)."""
        for page in scan_pages(self._table, Limit=page_size):
            yield [User.model_validate(plain({k: v for k, v in item.items() if k != "email"})) for item in page]

    def get(self, user_id: int) -> User | None:
        item = self._table.get_item(Key={"user_id": user_id}).get("Item")
        return User.model_validate(plain(item)) if item else None

    def get_by_username(self, username: str) -> User | None:
        response = self._table.query(
            IndexName="by_username", KeyConditionExpression=Key("username").eq(username), Limit=1
        )
        items = response.get("Items", [])
        return self.get(int(items[0]["user_id"])) if items else None

    def get_many(self, user_ids: Iterable[int]) -> dict[int, User]:
        return {k: User.model_validate(v) for k, v in batch_get(self._table, "user_id", user_ids).items()}

    def update(self, user_id: int, changes: dict[str, Any]) -> User:
        """Set some profile fields; returns the user as stored after the change."""
        response = write_if(
            self._table.update_item,
            Key={"user_id": user_id},
            UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(changes))),
            ConditionExpression="attribute_exists(user_id)",
            ExpressionAttributeNames={f"#f{i}": name for i, name in enumerate(changes)},
            ExpressionAttributeValues={f":v{i}": value for i, value in enumerate(changes.values())},
            ReturnValues="ALL_NEW",
        )
        if response is None:
            raise UserNotFoundError(f"user {user_id} does not exist")
        return User.model_validate(plain(response["Attributes"]))


class UserCounters:
    """The counts kept on each user (posts, followers, following): the only writer of them. Each change is an
    `Update` for the transaction that makes it (the post, the follow edge), so a count moves if and only if that
    change commits."""

    def __init__(self, users_table: Any) -> None:
        self._table = users_table

    def posts(self, author_id: int, delta: int) -> dict[str, Any]:
        """An author's post count moved by `delta` (a post published or deleted)."""
        return self._update(author_id, {POST_COUNT: delta}, must_exist=False)

    def follows(self, edges: Iterable[tuple[int, int]], delta: int, must_exist: bool = False) -> list[dict[str, Any]]:
        """Follow and follower counts moved by `delta` for each (follower, followee) edge: one update per user (a
        transaction may touch an item once), followers' first. With `must_exist`, a user who does not exist fails
        the transaction instead of being created with a count alone."""
        deltas: dict[int, dict[str, int]] = {}
        for follower, followee in edges:
            mine, theirs = deltas.setdefault(follower, {}), deltas.setdefault(followee, {})
            mine[FOLLOWING_COUNT] = mine.get(FOLLOWING_COUNT, 0) + delta
            theirs[FOLLOWER_COUNT] = theirs.get(FOLLOWER_COUNT, 0) + delta
        return [self._update(user_id, fields, must_exist) for user_id, fields in deltas.items()]

    def add_follows_now(self, edges: Iterable[tuple[int, int]]) -> None:
        """Count follow edges loaded in bulk (outside any transaction): one update request per user."""
        client = self._table.meta.client
        for change in self.follows(edges, 1):
            client.update_item(**change["Update"])

    def _update(self, user_id: int, fields: dict[str, int], must_exist: bool) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self._table.name,
            "Key": {"user_id": user_id},
            "UpdateExpression": "ADD " + ", ".join(f"#f{i} :d{i}" for i in range(len(fields))),
            "ExpressionAttributeNames": {f"#f{i}": name for i, name in enumerate(fields)},
            "ExpressionAttributeValues": {f":d{i}": delta for i, delta in enumerate(fields.values())},
        }
        if must_exist:
            update["ConditionExpression"] = "attribute_exists(user_id)"
        return {"Update": update}
