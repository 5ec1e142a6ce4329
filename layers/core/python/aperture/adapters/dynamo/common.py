"""What every repository shares: number conversion, conditional writes, batched reads and deletes, paging, cursors."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from aperture.errors import InvalidCursorError

if TYPE_CHECKING:
    from boto3.dynamodb import conditions

BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25


def Key(name: str) -> conditions.Key:  # noqa: N802 - stands in for boto3's class, which the repositories import
    """boto3's key condition on `name`. Importing boto3.dynamodb loads the whole of boto3, which the first client
    loads anyway: from here it waits for that first use instead of weighing on every handler's import."""
    from boto3.dynamodb.conditions import Key as BotoKey

    return BotoKey(name)


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


def write_if(write: Callable[..., dict[str, Any]], **request: Any) -> dict[str, Any] | None:
    """Make one conditional write (put, update, delete or transaction); its response, or None if a condition failed
    (then nothing was written). Any other error is raised."""
    try:
        return write(**request)
    except ClientError as error:
        if is_condition_failure(error):
            return None
        raise


def put_new(table: Any, item: dict[str, Any], key_name: str) -> bool:
    """Put an item unless one with its key exists; False (nothing changed) if it did."""
    request = {
        "Item": item,
        "ConditionExpression": "attribute_not_exists(#k)",
        "ExpressionAttributeNames": {"#k": key_name},
    }
    return write_if(table.put_item, **request) is not None


def update_if(
    table: Any,
    key: dict[str, Any],
    update: str,
    condition: str,
    values: dict[str, Any] | None = None,
    names: dict[str, str] | None = None,
) -> bool:
    """Update an item if `condition` holds; False (nothing changed) if it did not."""
    request: dict[str, Any] = {"Key": key, "UpdateExpression": update, "ConditionExpression": condition}
    if values:
        request["ExpressionAttributeValues"] = values
    if names:
        request["ExpressionAttributeNames"] = names
    return write_if(table.update_item, **request) is not None


def delete_if(table: Any, key: dict[str, Any], condition: str) -> bool:
    """Delete an item if `condition` holds; False (nothing changed) if it did not."""
    return write_if(table.delete_item, Key=key, ConditionExpression=condition) is not None


def transact_unless_condition(table: Any, items: list[dict[str, Any]]) -> bool:
    """Run a transaction; False if one of its conditions failed (then nothing was written), True if committed."""
    return write_if(table.meta.client.transact_write_items, TransactItems=items) is not None


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


def _responses(read: Callable[..., dict[str, Any]], request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every response of a query or scan, following LastEvaluatedKey."""
    while True:
        response = read(**request)
        yield response
        if "LastEvaluatedKey" not in response:
            return
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def query_pages(table: Any, **kwargs: Any) -> Iterator[list[dict[str, Any]]]:
    """Every page of a query's items, following LastEvaluatedKey."""
    return (response.get("Items", []) for response in _responses(table.query, kwargs))


def scan_pages(table: Any, **kwargs: Any) -> Iterator[list[dict[str, Any]]]:
    """Every page of a scan's items, following LastEvaluatedKey."""
    return (response.get("Items", []) for response in _responses(table.scan, kwargs))


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
    request = {"KeyConditionExpression": Key(key_name).eq(value), "Select": "COUNT", "ConsistentRead": consistent}
    return sum(int(response.get("Count", 0)) for response in _responses(table.query, request))


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
