"""DynamoDB repositories: users, posts, uploads and the follow graph."""

from __future__ import annotations

import base64
import json
import random
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from aperture.adapters.outbox import Event, Outbox
from aperture.errors import (
    ConflictError,
    InvalidCursorError,
    NotificationMissingError,
    UploadNotFoundError,
    UserNotFoundError,
)
from aperture.models.records import (
    Comment,
    Device,
    Notification,
    PostRecord,
    StoryRecord,
    StoryView,
    Upload,
    UploadState,
    User,
)

BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
# An upload may still publish what it made: it exists, was not refused, and what it made was not deleted since.
PUBLISHABLE = "attribute_exists(upload_id) AND #st <> :rejected AND attribute_not_exists(removed_at)"
FOLLOW_KEY = ("follower_id", "followee_id")


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


# How long an upload's "removed" mark outlives a deleted post or story whose upload record had expired already: longer
# than any stream keeps the 'ready' event it must refuse.
REMOVED_MARK_SECONDS = 7 * 86_400


def upload_removed(uploads_table: Any, upload_id: int, at_ms: int) -> dict[str, Any]:
    """The transaction update marking an upload removed, so no redelivered 'ready' event publishes it again. An
    upload record expired meanwhile comes back as this mark alone, expiring in its turn."""
    return {
        "TableName": uploads_table.name,
        "Key": {"upload_id": upload_id},
        "UpdateExpression": "SET removed_at = :at, expires_at = if_not_exists(expires_at, :expires)",
        "ExpressionAttributeValues": {":at": at_ms, ":expires": at_ms // 1000 + REMOVED_MARK_SECONDS},
    }


def transact_unless_condition(table: Any, items: list[dict[str, Any]]) -> bool:
    """Run a transaction; False if one of its conditions failed (then nothing was written), True if committed."""
    try:
        table.meta.client.transact_write_items(TransactItems=items)
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise
    return True


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


def query_pages(table: Any, **kwargs: Any) -> Iterator[list[dict[str, Any]]]:
    """Every page of a query's items, following LastEvaluatedKey."""
    while True:
        page = table.query(**kwargs)
        yield page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def delete_keys(table: Any, keys: Iterable[dict[str, Any]]) -> int:
    """Delete items by key in batches (BatchWriteItem; unprocessed ones retried); returns how many."""
    deleted = 0
    with table.batch_writer() as batch:
        for key in keys:
            batch.delete_item(Key=key)
            deleted += 1
    return deleted


def count_items(table: Any, key_name: str, value: int, consistent: bool = False) -> int:
    """How many items share a partition key, counted page by page (DynamoDB's COUNT stops at 1 MB a page)."""
    total = 0
    kwargs: dict[str, Any] = {"KeyConditionExpression": Key(key_name).eq(value), "Select": "COUNT"}
    while True:
        page = table.query(ConsistentRead=consistent, **kwargs)
        total += int(page.get("Count", 0))
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def publish_from_upload(
    table: Any,
    item: dict[str, Any],
    key_name: str,
    upload_id: int,
    uploads_table: Any,
    also: Sequence[dict[str, Any]] = (),
) -> str:
    """Write what an upload made together with the upload's `ready` status, in one transaction (plus `also`).

    Returns "created"; "exists" when a redelivery finds it written; "refused" when the upload may no longer
    publish (rejected, or what it made was deleted), and then nothing is written.
    """
    put = {"Put": {"TableName": table.name, "Item": item, "ConditionExpression": f"attribute_not_exists({key_name})"}}
    ready = {
        "Update": {
            "TableName": uploads_table.name,
            "Key": {"upload_id": upload_id},
            "UpdateExpression": "SET #st = :ready, reason = :none",
            "ConditionExpression": PUBLISHABLE,
            "ExpressionAttributeNames": {"#st": "status"},
            "ExpressionAttributeValues": {":ready": "ready", ":rejected": "rejected", ":none": None},
        }
    }
    try:
        table.meta.client.transact_write_items(TransactItems=[put, *also, ready])
    except ClientError as error:
        if error.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
        if reasons and reasons[-1] == "ConditionalCheckFailed":
            return "refused"
        if reasons and reasons[0] == "ConditionalCheckFailed":
            return "exists"
        raise
    return "created"


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
        names = {f"#f{i}": name for i, name in enumerate(changes)}
        values = {f":v{i}": value for i, value in enumerate(changes.values())}
        try:
            response = self._table.update_item(
                Key={"user_id": user_id},
                UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(changes))),
                ConditionExpression="attribute_exists(user_id)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise UserNotFoundError(f"user {user_id} does not exist") from error
            raise
        return User.model_validate(plain(response["Attributes"]))


class UploadRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    @property
    def table(self) -> Any:
        return self._table

    def create(self, upload: Upload) -> bool:
        """Record a new upload; False if its id was recorded before (a retried request: nothing is changed)."""
        item = {k: v for k, v in upload.model_dump().items() if v is not None}
        item["hashtags"] = list(upload.hashtags)
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(upload_id)")
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def get(self, upload_id: int) -> Upload:
        item = self._table.get_item(Key={"upload_id": upload_id}, ConsistentRead=True).get("Item")
        if not item:
            raise UploadNotFoundError(f"upload {upload_id} does not exist")
        return Upload.model_validate(plain(item))

    def mark_removed(self, upload_id: int, at_ms: int) -> None:
        """What this upload made was deleted: a redelivered 'ready' event must not bring it back."""
        try:
            self._table.update_item(
                Key={"upload_id": upload_id},
                UpdateExpression="SET removed_at = :at",
                ConditionExpression="attribute_exists(upload_id)",
                ExpressionAttributeValues={":at": at_ms},
            )
        except ClientError as error:
            if not is_condition_failure(error):  # the record expired already: redeliveries are refused anyway
                raise

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
    def __init__(self, table: Any, users_table: Any, outbox: Outbox) -> None:
        self._table = table
        self._users = users_table
        self._outbox = outbox

    def publish(self, post: PostRecord, uploads_table: Any) -> str:
        """Write a post, count it on its author, and mark its upload ready, all in one transaction.

        Returns "created"; "exists" when a redelivery finds it written; "refused" when the upload was
        rejected meanwhile or the post was deleted since (then nothing is written).
        """
        item = {k: v for k, v in post.model_dump().items() if v is not None}
        item["hashtags"] = list(post.hashtags)
        count = {
            "Update": {
                "TableName": self._users.name,
                "Key": {"user_id": post.author_id},
                "UpdateExpression": "ADD post_count :one",
                "ExpressionAttributeValues": {":one": 1},
            }
        }
        return publish_from_upload(self._table, item, "post_id", post.upload_id, uploads_table, [count])

    def delete(self, post: PostRecord, uploads_table: Any, at_ms: int, event: Event) -> bool:
        """Remove a post, its count on the author, mark its upload removed (a redelivered 'ready' event must not
        bring it back) and record its event (the cascade's start), in one transaction; False if it was gone."""
        remove = {
            "TableName": self._table.name,
            "Key": {"post_id": post.post_id},
            "ConditionExpression": "attribute_exists(post_id)",
        }
        count = {
            "TableName": self._users.name,
            "Key": {"user_id": post.author_id},
            "UpdateExpression": "ADD post_count :less",
            "ExpressionAttributeValues": {":less": -1},
        }
        upload = upload_removed(uploads_table, post.upload_id, at_ms)
        items = [{"Delete": remove}, {"Update": count}, {"Update": upload}, self._outbox.entry(event)]
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
        try:
            self._table.update_item(
                Key={"post_id": post_id},
                UpdateExpression="SET like_count = :n",
                ConditionExpression="attribute_exists(post_id)",
                ExpressionAttributeValues={":n": count},
            )
        except ClientError as error:
            if not is_condition_failure(error):  # a post deleted since: nothing to count
                raise

    def get(self, post_id: int) -> PostRecord | None:
        item = self._table.get_item(Key={"post_id": post_id}).get("Item")
        return PostRecord.model_validate(plain(item)) if item else None

    def get_many(self, post_ids: Iterable[int]) -> dict[int, PostRecord]:
        return {k: PostRecord.model_validate(v) for k, v in batch_get(self._table, "post_id", post_ids).items()}


class FollowRepository:
    """Follow edges keyed both ways: by follower (table) and by followee (index), counts kept in step."""

    def __init__(self, table: Any, users_table: Any, outbox: Outbox) -> None:
        self._table = table
        self._users = users_table
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

    def follow(self, follower_id: int, followee_id: int, at_ms: int, event: Event) -> bool:
        """Add the edge, both counts and the event in one transaction. False if it was already there."""
        put = {
            "TableName": self._table.name,
            "Item": {"follower_id": follower_id, "followee_id": followee_id, "created_at": at_ms},
            "ConditionExpression": "attribute_not_exists(follower_id)",
        }
        return transact_unless_condition(
            self._table,
            [
                {"Put": put},
                self._count_update(follower_id, "following_count", 1),
                self._count_update(followee_id, "follower_count", 1),
                self._outbox.entry(event),
            ],
        )

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
        counts: dict[int, dict[str, int]] = {}
        for follower, followee in unique:
            counts.setdefault(follower, {}).setdefault("following_count", 0)
            counts[follower]["following_count"] += 1
            counts.setdefault(followee, {}).setdefault("follower_count", 0)
            counts[followee]["follower_count"] += 1
        for user_id, fields in counts.items():
            client.update_item(
                TableName=self._users.name,
                Key={"user_id": user_id},
                UpdateExpression="ADD " + ", ".join(f"#f{i} :d{i}" for i in range(len(fields))),
                ExpressionAttributeNames={f"#f{i}": name for i, name in enumerate(fields)},
                ExpressionAttributeValues={f":d{i}": delta for i, delta in enumerate(fields.values())},
            )
        return len(unique)

    def unfollow(self, follower_id: int, followee_id: int, event: Event) -> bool:
        """Remove the edge, both counts, and record the event, in one transaction. False if there was no edge."""
        delete = {
            "TableName": self._table.name,
            "Key": {"follower_id": follower_id, "followee_id": followee_id},
            "ConditionExpression": "attribute_exists(follower_id)",
        }
        return transact_unless_condition(
            self._table,
            [
                {"Delete": delete},
                self._count_update(follower_id, "following_count", -1),
                self._count_update(followee_id, "follower_count", -1),
                self._outbox.entry(event),
            ],
        )

    def is_following(self, follower_id: int, followee_id: int, consistent: bool = False) -> bool:
        key = {"follower_id": follower_id, "followee_id": followee_id}
        return "Item" in self._table.get_item(Key=key, ProjectionExpression="follower_id", ConsistentRead=consistent)

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


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    """An opaque cursor from DynamoDB's LastEvaluatedKey (None when the list is done)."""
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(plain(key), sort_keys=True).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, fields: Iterable[str]) -> dict[str, Any] | None:
    """The ExclusiveStartKey a cursor stands for; InvalidCursorError if it was not one of ours."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidCursorError("the cursor is not valid; start again without one") from error
    if (
        not isinstance(key, dict)
        or set(key) != set(fields)
        # Our keys are ids and times: non-negative 64-bit integers (a forged 40-digit number would not even
        # convert to a DynamoDB number)
        or not all(type(v) is int and 0 <= v < 2**63 for v in key.values())
    ):
        raise InvalidCursorError("the cursor is not valid; start again without one")
    return key


def query_page(
    table: Any, key_fields: Iterable[str], limit: int, cursor: str | None, **query: Any
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a Query and the cursor to the next."""
    start = decode_cursor(cursor, key_fields)
    if start:
        query["ExclusiveStartKey"] = start
    try:
        response = table.query(Limit=limit, **query)
    except ClientError as error:
        # A well-formed cursor of another list (another user's, say): DynamoDB refuses a start key outside the
        # partition queried. The client's to fix, never a 500.
        if start and error.response.get("Error", {}).get("Code") == "ValidationException":
            raise InvalidCursorError("the cursor is not valid for this list; start again without one") from error
        raise
    return [plain(item) for item in response.get("Items", [])], encode_cursor(response.get("LastEvaluatedKey"))


class BlockRepository:
    """Block edges keyed both ways: by blocker (table) and by blocked (index)."""

    def __init__(self, table: Any, follows_table: Any, users_table: Any) -> None:
        self._table = table
        self._follows = follows_table
        self._users = users_table

    def _edge_exists(self, follower_id: int, followee_id: int) -> bool:
        key = {"follower_id": follower_id, "followee_id": followee_id}
        return "Item" in self._follows.get_item(Key=key, ConsistentRead=True, ProjectionExpression="follower_id")

    def _count_changes(self, deltas: dict[int, dict[str, int]]) -> list[dict[str, Any]]:
        """One update per user (a transaction may touch an item once), with every count change of that user."""
        updates = []
        for user_id, fields in deltas.items():
            names = {f"#f{i}": field for i, field in enumerate(fields)}
            values = {f":d{i}": delta for i, delta in enumerate(fields.values())}
            updates.append(
                {
                    "Update": {
                        "TableName": self._users.name,
                        "Key": {"user_id": user_id},
                        "UpdateExpression": "ADD " + ", ".join(f"#f{i} :d{i}" for i in range(len(fields))),
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        return updates

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
            deltas: dict[int, dict[str, int]] = {}
            for follower, followee in ((blocker_id, blocked_id), (blocked_id, blocker_id)):
                if self._edge_exists(follower, followee):
                    items.append(
                        {
                            "Delete": {
                                "TableName": self._follows.name,
                                "Key": {"follower_id": follower, "followee_id": followee},
                                "ConditionExpression": "attribute_exists(follower_id)",
                            }
                        }
                    )
                    deltas.setdefault(follower, {})["following_count"] = -1
                    deltas.setdefault(followee, {})["follower_count"] = -1
            items.extend(self._count_changes(deltas))
            try:
                self._table.meta.client.transact_write_items(TransactItems=items)
            except ClientError as error:
                if not is_condition_failure(error):
                    raise
                if self.is_blocking(blocker_id, blocked_id):
                    return False
                continue  # a follow edge changed under us: look again
            return True
        raise ConflictError("the relationship kept changing; try again")

    def unblock(self, blocker_id: int, blocked_id: int) -> bool:
        try:
            self._table.delete_item(
                Key={"blocker_id": blocker_id, "blocked_id": blocked_id},
                ConditionExpression="attribute_exists(blocker_id)",
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

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
            while True:
                page = self._table.query(**kwargs)
                found.update(int(item[theirs]) for item in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found


class LikeRepository:
    """Every like: post -> user in the table, user -> post in the index. The source of truth for counts. A change
    is written with its event (the outbox), in one transaction."""

    def __init__(self, table: Any, outbox: Outbox, posts_table: Any) -> None:
        self._table = table
        self._outbox = outbox
        self._posts = posts_table

    def add(self, post_id: int, user_id: int, at_ms: int, event: Event) -> bool:
        """Record the like and its event; False (and no event) if it was there already, or the post is gone (a
        like racing the post's deletion must not outlive its cascade)."""
        put = {
            "TableName": self._table.name,
            "Item": {"post_id": post_id, "user_id": user_id, "created_at": at_ms},
            "ConditionExpression": "attribute_not_exists(post_id)",
        }
        post = {
            "TableName": self._posts.name,
            "Key": {"post_id": post_id},
            "ConditionExpression": "attribute_exists(post_id)",
        }
        items = [{"Put": put}, {"ConditionCheck": post}, self._outbox.entry(event)]
        return transact_unless_condition(self._table, items)

    def remove(self, post_id: int, user_id: int, event: Event) -> bool:
        """Take the like back and record its event; False (and no event) if there was none."""
        delete = {
            "TableName": self._table.name,
            "Key": {"post_id": post_id, "user_id": user_id},
            "ConditionExpression": "attribute_exists(post_id)",
        }
        return transact_unless_condition(self._table, [{"Delete": delete}, self._outbox.entry(event)])

    def exists(self, post_id: int, user_id: int) -> bool:
        key = {"post_id": post_id, "user_id": user_id}
        return "Item" in self._table.get_item(Key=key, ConsistentRead=True, ProjectionExpression="post_id")

    def count(self, post_id: int) -> int:
        return count_items(self._table, "post_id", post_id, consistent=True)

    def likers(self, post_id: int) -> Iterator[list[int]]:
        """Every user who liked a post, a page at a time."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("post_id").eq(post_id),
            "ProjectionExpression": "user_id",
        }
        while True:
            page = self._table.query(ConsistentRead=True, **kwargs)
            yield [int(item["user_id"]) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def page(self, post_id: int, limit: int, cursor: str | None) -> tuple[list[int], str | None]:
        items, next_cursor = query_page(
            self._table, ("post_id", "user_id"), limit, cursor, KeyConditionExpression=Key("post_id").eq(post_id)
        )
        return [int(item["user_id"]) for item in items], next_cursor

    def purge(self, post_id: int) -> int:
        """Delete every like of a (deleted) post (its user -> post index entries go with them); returns how many."""
        return sum(
            delete_keys(self._table, ({"post_id": post_id, "user_id": user} for user in likers))
            for likers in self.likers(post_id)
        )


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

    def mentioned(self, post_id: int) -> set[int]:
        """Everyone the post's comments mention."""
        condition = Key("post_id").eq(post_id)
        pages = query_pages(
            self._table, KeyConditionExpression=condition, ProjectionExpression="mentioned_ids", ConsistentRead=True
        )
        return {int(m) for page in pages for item in page for m in item.get("mentioned_ids", [])}

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
        try:
            self._table.meta.client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self._table.name,
                            "Key": {"post_id": post_id, "comment_id": comment_id},
                            "ConditionExpression": "attribute_exists(comment_id)",
                        }
                    },
                    self._count(post_id, -1),
                ]
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

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


class NotificationRepository:
    """Each user's notifications, newest first, with a per-user 'read up to' marker on the users table."""

    def __init__(self, table: Any, keys_table: Any, users_table: Any) -> None:
        self._table = table
        self._keys = keys_table
        self._users = users_table

    def claim_key(self, key: str, value: int, expires_at: int) -> int | None:
        """Record `key` once; None if it was new, else the value stored by whoever recorded it first."""
        try:
            self._keys.put_item(
                Item={"key": key, "value": value, "expires_at": expires_at},
                ConditionExpression="attribute_not_exists(#k)",
                ExpressionAttributeNames={"#k": "key"},
            )
        except ClientError as error:
            if is_condition_failure(error):
                item = self._keys.get_item(Key={"key": key}, ConsistentRead=True).get("Item") or {}
                return int(item.get("value", 0))
            raise
        return None

    def create(self, notification: Notification) -> bool:
        """Write a notification unless it is there already (work redone writes the same id); True if written."""
        item = {k: v for k, v in notification.model_dump().items() if v is not None}
        item["actor_ids"] = list(notification.actor_ids)
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(notification_id)")
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def add_actor(self, user_id: int, notification_id: int, actor_id: int, keep: int, attempts: int = 8) -> bool:
        """Another like joins a grouped notification: one more actor, the newest first among those kept. Redone for
        the same actor, it changes nothing; concurrent joins each count (optimistic, on the count). False if the
        actor was there already; NotificationMissingError if the notification is not written yet."""
        key = {"user_id": user_id, "notification_id": notification_id}
        for _ in range(attempts):
            current = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
            if not current:
                raise NotificationMissingError(f"notification {notification_id} of {user_id} is not written yet")
            kept = [int(a) for a in current.get("actor_ids", [])]
            if actor_id in kept:
                return False
            count = int(current.get("actor_count", 1))
            try:
                self._table.update_item(
                    Key=key,
                    UpdateExpression="SET actor_ids = :a, actor_id = :first, actor_count = :next",
                    ConditionExpression="actor_count = :seen",
                    ExpressionAttributeValues={
                        ":a": [actor_id, *kept][:keep], ":first": actor_id, ":next": count + 1, ":seen": count,
                    },
                )  # fmt: skip
                return True
            except ClientError as error:
                if not is_condition_failure(error):
                    raise
        raise ConflictError("the notification kept changing; the like is retried")

    def page(self, user_id: int, limit: int, cursor: str | None) -> tuple[list[Notification], str | None]:
        items, next_cursor = query_page(
            self._table,
            ("user_id", "notification_id"),
            limit,
            cursor,
            KeyConditionExpression=Key("user_id").eq(user_id),
            ScanIndexForward=False,
        )
        return [Notification.model_validate(item) for item in items], next_cursor

    def forget_post(self, user_id: int, post_id: int) -> int:
        """Delete a user's notifications about a (deleted) post; returns how many."""
        pages = query_pages(
            self._table,
            KeyConditionExpression=Key("user_id").eq(user_id),
            FilterExpression=Attr("post_id").eq(post_id),
            ProjectionExpression="notification_id",
        )
        return sum(
            delete_keys(self._table, ({"user_id": user_id, "notification_id": i["notification_id"]} for i in page))
            for page in pages
        )

    def read_marker(self, user_id: int) -> int:
        item = self._users.get_item(Key={"user_id": user_id}, ProjectionExpression="notifications_read_up_to")
        return int((item.get("Item") or {}).get("notifications_read_up_to", 0))

    def mark_read(self, user_id: int, up_to: int) -> None:
        """Move the marker forward to `up_to`; never back."""
        try:
            self._users.update_item(
                Key={"user_id": user_id},
                UpdateExpression="SET notifications_read_up_to = :m",
                ConditionExpression="attribute_exists(user_id) AND "
                "(attribute_not_exists(notifications_read_up_to) OR notifications_read_up_to < :m)",
                ExpressionAttributeValues={":m": up_to},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise

    def unread_count(self, user_id: int, limit: int = 100) -> int:
        """Notifications newer than the marker, counted up to `limit` (clients show "99+")."""
        response = self._table.query(
            KeyConditionExpression=Key("user_id").eq(user_id) & Key("notification_id").gt(self.read_marker(user_id)),
            Select="COUNT",
            Limit=limit,
        )
        return int(response.get("Count", 0))


class DeviceRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def put(self, device: Device) -> None:
        self._table.put_item(Item=device.model_dump())

    def get(self, user_id: int, device_id: str) -> Device | None:
        item = self._table.get_item(Key={"user_id": user_id, "device_id": device_id}).get("Item")
        return Device.model_validate(plain(item)) if item else None

    def delete(self, user_id: int, device_id: str) -> None:
        self._table.delete_item(Key={"user_id": user_id, "device_id": device_id})

    def of_user(self, user_id: int) -> list[Device]:
        response = self._table.query(KeyConditionExpression=Key("user_id").eq(user_id))
        return [Device.model_validate(plain(item)) for item in response.get("Items", [])]


EXPIRY_SHARDS = 16  # a day's expiring stories spread over this many index partitions
DAY_MS = 86_400_000


def expiry_shard(story_id: int, expires_at_ms: int) -> int:
    """The by_expiry partition of a story: its expiry day, and a shard so no single partition takes every write."""
    # Hashed: a Snowflake id's low bits are its sequence, nearly always the same for a story's id.
    return (expires_at_ms // DAY_MS) * EXPIRY_SHARDS + zlib.crc32(str(story_id).encode()) % EXPIRY_SHARDS


class StoryRepository:
    """Stories by id, by author (by_author), and those awaiting the expiry job (the sparse by_expiry index)."""

    def __init__(self, table: Any, outbox: Outbox, purge_after_seconds: int = 7 * 86_400) -> None:
        self._table = table
        self._outbox = outbox
        self._purge_after = purge_after_seconds

    def delete(self, story: StoryRecord, highlights_table: Any, uploads_table: Any, at_ms: int, event: Event) -> bool:
        """Take a story down with its event (the cascade's start), in one transaction: its record marked deleted
        and out of the expiry index, its highlight if it has one, and its upload marked removed. False if it was
        taken down already."""
        highlight: dict[str, Any] = {
            "TableName": highlights_table.name,
            "Key": {"author_id": story.author_id, "story_id": story.story_id},
        }
        changes: list[dict[str, Any]] = []
        if self.get(story.story_id) is not None:
            update = {
                "TableName": self._table.name,
                "Key": {"story_id": story.story_id},
                "UpdateExpression": "SET deleted = :yes REMOVE expiry_shard",
                "ConditionExpression": "attribute_exists(story_id) AND deleted <> :yes",
                "ExpressionAttributeValues": {":yes": True},
            }
            changes += [{"Update": update}, {"Delete": highlight}]
        else:  # the record was purged; its highlight is all there is
            changes.append({"Delete": {**highlight, "ConditionExpression": "attribute_exists(story_id)"}})
        upload = upload_removed(uploads_table, story.upload_id, at_ms)
        return transact_unless_condition(self._table, [*changes, {"Update": upload}, self._outbox.entry(event)])

    def publish(self, story: StoryRecord, uploads_table: Any) -> str:
        """Write a story and mark its upload ready, together: "created", "exists" (a redelivery) or "refused"."""
        item = {k: v for k, v in story.model_dump().items() if v is not None}
        item["expiry_shard"] = expiry_shard(story.story_id, story.expires_at)
        item["purge_at"] = story.expires_at // 1000 + self._purge_after
        return publish_from_upload(self._table, item, "story_id", story.upload_id, uploads_table)

    def get(self, story_id: int) -> StoryRecord | None:
        """The story, deleted ones included (callers check `deleted`)."""
        item = self._table.get_item(Key={"story_id": story_id}, ConsistentRead=True).get("Item")
        return StoryRecord.model_validate(plain(item)) if item else None

    def live_by(
        self, author_id: int, now_ms: int, limit: int, cursor: str | None
    ) -> tuple[list[StoryRecord], str | None]:
        """An author's stories still live at `now_ms`, oldest first (they all live equally long)."""
        start = decode_cursor(cursor, ("author_id", "expires_at", "story_id"))
        if start is not None and (start["author_id"] != author_id or start["expires_at"] <= now_ms):
            # Another list's cursor, or one whose stories have all expired since: nothing it saw is left.
            if start["author_id"] != author_id:
                raise InvalidCursorError("the cursor is not valid; start again without one")
            cursor = None
        items, next_cursor = query_page(
            self._table,
            ("author_id", "expires_at", "story_id"),
            limit,
            cursor,
            IndexName="by_author",
            KeyConditionExpression=Key("author_id").eq(author_id) & Key("expires_at").gt(now_ms),
        )
        stories = [StoryRecord.model_validate(i) for i in items]
        return [s for s in stories if not s.deleted], next_cursor

    def due(self, shard: int, now_ms: int) -> Iterator[StoryRecord]:
        """Stories of one expiry shard whose time is up and that the expiry job has not ended yet."""
        return self._awaiting_expiry(shard, Key("expires_at").lte(now_ms))

    def live_in(self, shard: int, now_ms: int) -> Iterator[StoryRecord]:
        """Stories of one expiry shard still live at `now_ms` (deleted ones have left the index)."""
        return self._awaiting_expiry(shard, Key("expires_at").gt(now_ms))

    def _awaiting_expiry(self, shard: int, time_condition: Any) -> Iterator[StoryRecord]:
        kwargs: dict[str, Any] = {
            "IndexName": "by_expiry",
            "KeyConditionExpression": Key("expiry_shard").eq(shard) & time_condition,
        }
        while True:
            page = self._table.query(**kwargs)
            for item in page.get("Items", []):
                yield StoryRecord.model_validate(plain(item))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def mark_deleted(self, story_id: int) -> None:
        """Soft delete: the record stays (so a redelivered 'ready' event finds it) until TTL purges it."""
        self._table.update_item(
            Key={"story_id": story_id}, UpdateExpression="SET deleted = :yes REMOVE expiry_shard",
            ExpressionAttributeValues={":yes": True},
        )  # fmt: skip

    def mark_ended(self, story_id: int, outcome: str, view_count: int | None) -> bool:
        """Take a story out of the expiry index, keeping its final view count; False if it was ended already."""
        try:
            self._table.update_item(
                Key={"story_id": story_id},
                UpdateExpression="SET ended = :o, view_count = :n REMOVE expiry_shard",
                ConditionExpression="attribute_exists(expiry_shard)",
                ExpressionAttributeValues={":o": outcome, ":n": view_count},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True


class StoryViewRepository:
    """Who viewed each story: one item per viewer, so a repeated write changes nothing."""

    def __init__(self, table: Any, keep_after_expiry_seconds: int = 7 * 86_400) -> None:
        self._table = table
        self._keep = keep_after_expiry_seconds

    def put_many(self, views: Iterable[tuple[StoryView, int]]) -> None:
        """Write (view, story expires_at ms) pairs with BatchWriteItem, 25 at a time, retrying unprocessed items."""
        unique = {(v.story_id, v.viewer_id): (v, expires) for v, expires in views}
        requests = [
            {
                "PutRequest": {
                    "Item": {**view.model_dump(), "purge_at": expires // 1000 + self._keep},
                }
            }
            for view, expires in unique.values()
        ]
        client = self._table.meta.client
        for start in range(0, len(requests), BATCH_WRITE_LIMIT):
            pending: dict[str, Any] = {self._table.name: requests[start : start + BATCH_WRITE_LIMIT]}
            for attempt in range(8):
                response = client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
                # Unprocessed items mean throttling: back off (exponentially, jittered) before asking again.
                time.sleep(random.uniform(0, 0.05 * 2**attempt))
            if pending:
                raise RuntimeError(f"DynamoDB left {len(pending[self._table.name])} story views unwritten")

    def seen(self, viewer_id: int, story_ids: Iterable[int]) -> set[int]:
        """Which of the stories the viewer has viewed (the DynamoDB answer, for when Redis is away)."""
        wanted = list(dict.fromkeys(story_ids))
        found: set[int] = set()
        client = self._table.meta.client
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            keys = [{"story_id": s, "viewer_id": viewer_id} for s in wanted[start : start + BATCH_GET_LIMIT]]
            request: dict[str, Any] = {self._table.name: {"Keys": keys, "ProjectionExpression": "story_id"}}
            while request:
                response = client.batch_get_item(RequestItems=request)
                found.update(int(i["story_id"]) for i in response.get("Responses", {}).get(self._table.name, []))
                request = response.get("UnprocessedKeys") or {}
        return found

    def count(self, story_id: int) -> int:
        return count_items(self._table, "story_id", story_id)

    def purge(self, story_id: int) -> int:
        """Delete every view of a (deleted) story; returns how many."""
        condition = Key("story_id").eq(story_id)
        pages = query_pages(self._table, KeyConditionExpression=condition, ProjectionExpression="viewer_id")
        return sum(
            delete_keys(self._table, ({"story_id": story_id, "viewer_id": i["viewer_id"]} for i in page))
            for page in pages
        )

    def page(self, story_id: int, limit: int, cursor: str | None) -> tuple[list[StoryView], str | None]:
        """A story's viewers, most recent first."""
        items, next_cursor = query_page(
            self._table,
            ("story_id", "viewer_id", "viewed_at"),
            limit,
            cursor,
            IndexName="by_time",
            KeyConditionExpression=Key("story_id").eq(story_id),
            ScanIndexForward=False,
        )
        return [StoryView.model_validate({k: i[k] for k in ("story_id", "viewer_id", "viewed_at")}) for i in items], (
            next_cursor
        )


class HighlightRepository:
    """Expired stories kept for good, by author, newest first."""

    def __init__(self, table: Any) -> None:
        self._table = table

    @property
    def table(self) -> Any:
        return self._table

    def put(self, story: StoryRecord) -> None:
        self._table.put_item(Item={k: v for k, v in story.model_dump().items() if v is not None})

    def get(self, author_id: int, story_id: int) -> StoryRecord | None:
        item = self._table.get_item(Key={"author_id": author_id, "story_id": story_id}).get("Item")
        return StoryRecord.model_validate(plain(item)) if item else None

    def delete(self, author_id: int, story_id: int) -> None:
        self._table.delete_item(Key={"author_id": author_id, "story_id": story_id})

    def page(self, author_id: int, limit: int, cursor: str | None) -> tuple[list[StoryRecord], str | None]:
        items, next_cursor = query_page(
            self._table,
            ("author_id", "story_id"),
            limit,
            cursor,
            KeyConditionExpression=Key("author_id").eq(author_id),
            ScanIndexForward=False,
        )
        return [StoryRecord.model_validate(i) for i in items], next_cursor
