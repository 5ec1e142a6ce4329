"""The users table: profiles (UserRepository) and the counters kept on them (UserCounters)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from boto3.dynamodb.conditions import Key

from aperture.adapters.dynamo.common import batch_get, plain, write_if
from aperture.errors import UserNotFoundError
from aperture.models.records import User

POST_COUNT = "post_count"
FOLLOWER_COUNT = "follower_count"
FOLLOWING_COUNT = "following_count"


class UserRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def create(self, user: User, email: str) -> None:
        self._table.put_item(
            Item={**user.model_dump(), "email": email},
            ConditionExpression="attribute_not_exists(user_id)",
        )

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
