"""The reports and moderation_queue tables: each reporter's report of a target, and one queue entry per target."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from aperture.adapters.dynamo.common import (
    is_condition_failure,
    plain,
    query_pages,
    transact_unless_condition,
    update_if,
)
from aperture.errors import InvalidCursorError

STATUSES = ("open", "resolved")
_TARGET = re.compile(r"^(post|story|user):[0-9]{1,20}$|^comment:[0-9]{1,20}:[0-9]{1,20}$")


@dataclass(frozen=True)
class Filed:
    """A reporter's report as stored, and whether this call filed it (False: they had reported it before)."""

    report_id: int
    created: bool


class ReportRepository:
    """Reports (target -> reporter) and the moderation queue (target -> aggregate), written in one transaction."""

    def __init__(self, reports_table: Any, queue_table: Any) -> None:
        self._reports = reports_table
        self._queue = queue_table

    def file(
        self,
        target: str,
        ids: dict[str, str],
        account_id: int,
        reporter_id: int,
        report_id: int,
        reason: str,
        note: str | None,
        at_ms: int,
    ) -> Filed:
        """File a report: the reporter's item (only if they had not reported this target) and the target's queue
        entry (count, reasons, times; reopened if it was resolved) in one transaction."""
        report: dict[str, Any] = {
            "target": target,
            "reporter_id": reporter_id,
            "report_id": report_id,
            "reason": reason,
            "created_at": at_ms,
        }
        if note:
            report["note"] = note
        update = (
            "SET report_id = if_not_exists(report_id, :id), kind = :kind, ids = :ids, account_id = :account, "
            "first_reported_at = if_not_exists(first_reported_at, :now), last_reported_at = :now, #s = :open "
            "ADD report_count :one, reasons :reason"
        )
        items = [
            {
                "Put": {
                    "TableName": self._reports.name,
                    "Item": report,
                    "ConditionExpression": "attribute_not_exists(reporter_id)",
                }
            },
            {
                "Update": {
                    "TableName": self._queue.name,
                    "Key": {"target": target},
                    "UpdateExpression": update,
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {
                        ":id": report_id,
                        ":kind": target.split(":", 1)[0],
                        ":ids": ids,
                        ":account": account_id,
                        ":now": at_ms,
                        ":open": "open",
                        ":one": 1,
                        ":reason": {reason},
                    },
                }
            },
        ]
        try:
            self._reports.meta.client.transact_write_items(TransactItems=items)
            return Filed(report_id, True)
        except ClientError as error:
            if not is_condition_failure(error):
                raise
        earlier = self._reports.get_item(
            Key={"target": target, "reporter_id": reporter_id}, ConsistentRead=True, ProjectionExpression="report_id"
        ).get("Item")
        if earlier is None:  # (withdrawn between the two calls: nothing withdraws reports, so only by a test)
            raise RuntimeError(f"report of {target} by {reporter_id} refused, then not found")
        return Filed(int(earlier["report_id"]), False)

    def filed_by(self, reporter_id: int) -> Iterator[list[str]]:
        """The targets a user reported, a page at a time (for the erasure of their account)."""
        pages = query_pages(
            self._reports, IndexName="by_reporter", KeyConditionExpression=Key("reporter_id").eq(reporter_id)
        )
        return ([str(item["target"]) for item in page] for page in pages)

    def about_account(self, account_id: int, limit: int) -> list[str]:
        """Targets reported of one account (the account itself, or its posts, comments and stories), up to
        `limit` (for the erasure of that account)."""
        response = self._queue.query(
            IndexName="by_account", KeyConditionExpression=Key("account_id").eq(account_id), Limit=limit
        )
        return [str(item["target"]) for item in response.get("Items", [])]

    def forget_target(self, target: str) -> None:
        """Every report of a target, then its queue entry (an erased account's content: nothing is left to act
        on). The entry goes last, so a retry still finds it through by_account."""
        for page in query_pages(
            self._reports, KeyConditionExpression=Key("target").eq(target), ProjectionExpression="reporter_id"
        ):
            with self._reports.batch_writer() as batch:
                for item in page:
                    batch.delete_item(Key={"target": target, "reporter_id": item["reporter_id"]})
        self._queue.delete_item(Key={"target": target})

    def delete_report(self, target: str, reporter_id: int) -> None:
        """A report whose target's entry is gone already (a withdrawal cannot count it out of anything)."""
        self._reports.delete_item(Key={"target": target, "reporter_id": reporter_id})

    def withdraw(self, target: str, reporter_id: int) -> bool:
        """Delete a user's report of a target and take it out of the entry's count, together; False if it was
        withdrawn already (a retry). The entry's reasons stay: they are a set, not a count per reporter."""
        items = [
            {
                "Delete": {
                    "TableName": self._reports.name,
                    "Key": {"target": target, "reporter_id": reporter_id},
                    "ConditionExpression": "attribute_exists(reporter_id)",
                }
            },
            {
                "Update": {
                    "TableName": self._queue.name,
                    "Key": {"target": target},
                    "UpdateExpression": "ADD report_count :minus",
                    "ConditionExpression": "attribute_exists(#t)",
                    "ExpressionAttributeNames": {"#t": "target"},
                    "ExpressionAttributeValues": {":minus": -1},
                }
            },
        ]
        return transact_unless_condition(self._reports, items)

    def entry(self, report_id: int) -> dict[str, Any] | None:
        """A queue entry by its report id (the id of the target's first report)."""
        found = self._queue.query(
            IndexName="by_report", KeyConditionExpression=Key("report_id").eq(report_id), Limit=1
        ).get("Items", [])
        if not found:
            return None
        item = self._queue.get_item(Key={"target": found[0]["target"]}, ConsistentRead=True).get("Item")
        return plain(item) if item else None

    def page(self, status: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Entries in a status, most reported first."""
        query: dict[str, Any] = {
            "IndexName": "by_status",
            "KeyConditionExpression": Key("status").eq(status),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = _decode(cursor, status)
        if start:
            query["ExclusiveStartKey"] = start
        response = self._queue.query(**query)
        return [plain(item) for item in response.get("Items", [])], _encode(response.get("LastEvaluatedKey"))

    def resolve(self, target: str, action: str, moderator_id: int, at_ms: int) -> bool:
        """Mark an entry resolved with the action taken (again, the same: a retry); False if it does not exist."""
        return update_if(
            self._queue,
            {"target": target},
            "SET #s = :resolved, #a = :action, resolved_at = :now, resolved_by = :moderator",
            "attribute_exists(#t)",
            {":resolved": "resolved", ":action": action, ":now": at_ms, ":moderator": moderator_id},
            {"#s": "status", "#a": "action", "#t": "target"},
        )


def _encode(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(plain(key), sort_keys=True).encode()).decode().rstrip("=")


def _decode(cursor: str | None, status: str) -> dict[str, Any] | None:
    """The queue's start key from a cursor: its status (the list asked for), its count and its target."""
    if not cursor:
        return None
    invalid = InvalidCursorError("the cursor is not valid for this list; start again without one")
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, UnicodeDecodeError) as error:
        raise invalid from error
    if (
        not isinstance(key, dict)
        or set(key) != {"status", "report_count", "target"}
        or key["status"] != status
        or type(key["report_count"]) is not int
        or not 0 <= key["report_count"] < 2**63
        or not isinstance(key["target"], str)
        or not _TARGET.match(key["target"])
    ):
        raise invalid
    return key
