"""DynamoDB repositories: users, posts, uploads and the follow graph."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from aperture.errors import UploadNotFoundError
from aperture.models.records import PostRecord, Upload, UploadState, User

BATCH_GET_LIMIT = 100


def plain(value: Any) -> Any:
    """DynamoDB numbers arrive as Decimal; ours are all integers."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [plain(v) for v in value]
    return value


def is_condition_failure(error: ClientError) -> bool:
    code = error.response["Error"]["Code"]
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = error.response.get("CancellationReasons", [])
        return any(r.get("Code") == "ConditionalCheckFailed" for r in reasons)
    return False


def batch_get(table: Any, key_name: str, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Items by key in as few BatchGetItem calls as the 100-key limit allows, retrying unprocessed keys."""
    wanted = list(dict.fromkeys(ids))
    found: dict[int, dict[str, Any]] = {}
    # A table resource's client converts between Python and DynamoDB types itself.
    client = table.meta.client
    for start in range(0, len(wanted), BATCH_GET_LIMIT):
        request: dict[str, Any] = {
            table.name: {"Keys": [{key_name: i} for i in wanted[start : start + BATCH_GET_LIMIT]]}
        }
        while request:
            response = client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table.name, []):
                found[int(item[key_name])] = plain(item)
            request = response.get("UnprocessedKeys") or {}
    return found


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

    def add_to_count(self, user_id: int, field: str, delta: int) -> None:
        self._table.update_item(
            Key={"user_id": user_id},
            UpdateExpression="ADD #f :d",
            ExpressionAttributeNames={"#f": field},
            ExpressionAttributeValues={":d": delta},
        )


class UploadRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def create(self, upload: Upload) -> None:
        item = {k: v for k, v in upload.model_dump().items() if v is not None}
        item["hashtags"] = list(upload.hashtags)
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(upload_id)")

    def get(self, upload_id: int) -> Upload:
        item = self._table.get_item(Key={"upload_id": upload_id}, ConsistentRead=True).get("Item")
        if not item:
            raise UploadNotFoundError(f"upload {upload_id} does not exist")
        return Upload.model_validate(plain(item))

    def set_status(
        self,
        upload_id: int,
        status: UploadState,
        reason: str | None = None,
        only_from: tuple[UploadState, ...] = (),
    ) -> bool:
        """Move an upload to a status; with `only_from`, only out of those states. False if refused."""
        values: dict[str, Any] = {":s": status, ":r": reason}
        condition = "attribute_exists(upload_id)"
        if only_from:
            names = [f":from{i}" for i in range(len(only_from))]
            values.update(dict(zip(names, only_from, strict=True)))
            condition += f" AND #st IN ({', '.join(names)})"
        try:
            self._table.update_item(
                Key={"upload_id": upload_id},
                UpdateExpression="SET #st = :s, reason = :r",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True


class PostRepository:
    def __init__(self, table: Any, users_table: Any) -> None:
        self._table = table
        self._users = users_table

    def create(self, post: PostRecord) -> bool:
        """Write a post and bump its author's post count together, once: a redelivery changes nothing."""
        item = {k: v for k, v in post.model_dump().items() if v is not None}
        item["hashtags"] = list(post.hashtags)
        try:
            self._table.meta.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": item,
                            "ConditionExpression": "attribute_not_exists(post_id)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._users.name,
                            "Key": {"user_id": post.author_id},
                            "UpdateExpression": "ADD post_count :one",
                            "ExpressionAttributeValues": {":one": 1},
                        }
                    },
                ]
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def get(self, post_id: int) -> PostRecord | None:
        item = self._table.get_item(Key={"post_id": post_id}).get("Item")
        return PostRecord.model_validate(plain(item)) if item else None

    def get_many(self, post_ids: Iterable[int]) -> dict[int, PostRecord]:
        return {k: PostRecord.model_validate(v) for k, v in batch_get(self._table, "post_id", post_ids).items()}


class FollowRepository:
    """Follow edges keyed both ways: by follower (table) and by followee (index), counts kept in step."""

    def __init__(self, table: Any, users_table: Any) -> None:
        self._table = table
        self._users = users_table

    def _count_update(self, user_id: int, field: str, delta: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._users.name,
                "Key": {"user_id": user_id},
                "UpdateExpression": "ADD #f :d",
                "ConditionExpression": "attribute_exists(user_id)",
                "ExpressionAttributeNames": {"#f": field},
                "ExpressionAttributeValues": {":d": delta},
            }
        }

    def follow(self, follower_id: int, followee_id: int, at_ms: int) -> bool:
        """Add the edge and both counts in one transaction. False if it was already there."""
        try:
            self._table.meta.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": {
                                "follower_id": follower_id,
                                "followee_id": followee_id,
                                "created_at": at_ms,
                            },
                            "ConditionExpression": "attribute_not_exists(follower_id)",
                        }
                    },
                    self._count_update(follower_id, "following_count", 1),
                    self._count_update(followee_id, "follower_count", 1),
                ]
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def unfollow(self, follower_id: int, followee_id: int) -> bool:
        """Remove the edge and both counts in one transaction. False if there was no edge."""
        try:
            self._table.meta.client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self._table.name,
                            "Key": {"follower_id": follower_id, "followee_id": followee_id},
                            "ConditionExpression": "attribute_exists(follower_id)",
                        }
                    },
                    self._count_update(follower_id, "following_count", -1),
                    self._count_update(followee_id, "follower_count", -1),
                ]
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def is_following(self, follower_id: int, followee_id: int) -> bool:
        key = {"follower_id": follower_id, "followee_id": followee_id}
        return "Item" in self._table.get_item(Key=key, ProjectionExpression="follower_id")

    def followers(self, user_id: int, page_size: int = 1000) -> Iterator[list[int]]:
        """Every follower of a user, a page at a time, from the by-followee index."""
        kwargs: dict[str, Any] = {
            "IndexName": "by_followee",
            "KeyConditionExpression": Key("followee_id").eq(user_id),
            "ProjectionExpression": "follower_id",
            "Limit": page_size,
        }
        while True:
            response = self._table.query(**kwargs)
            yield [int(item["follower_id"]) for item in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


class BlocklistRepository:
    """Perceptual hashes of removed images, keyed by the hash in hex."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def add(self, image_hash: int, post_id: int, reason: str, added_by: int, at_ms: int) -> bool:
        """Add a hash; False if it was already there."""
        try:
            self._table.put_item(
                Item={
                    "hash": f"{image_hash:016x}",
                    "post_id": post_id,
                    "reason": reason,
                    "added_by": added_by,
                    "added_at": at_ms,
                },
                ConditionExpression="attribute_not_exists(#h)",
                ExpressionAttributeNames={"#h": "hash"},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def hashes(self) -> list[int]:
        found: list[int] = []
        kwargs: dict[str, Any] = {"ProjectionExpression": "#h", "ExpressionAttributeNames": {"#h": "hash"}}
        while True:
            page = self._table.scan(**kwargs)
            found.extend(int(item["hash"], 16) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
