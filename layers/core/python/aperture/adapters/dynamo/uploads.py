"""The uploads table: each upload's state, and the transaction items that publish what it made or mark it removed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from aperture.adapters.dynamo.common import plain, put_new, update_if
from aperture.errors import UploadNotFoundError
from aperture.models.records import Upload, UploadState

# An upload may still publish what it made: it exists, was not refused, and what it made was not deleted since.
PUBLISHABLE = "attribute_exists(upload_id) AND #st <> :rejected AND attribute_not_exists(removed_at)"
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
        # Which condition failed tells the outcome, so this reads the reasons rather than asking `write_if`.
        if error.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
        if reasons and reasons[-1] == "ConditionalCheckFailed":
            return "refused"
        if reasons and reasons[0] == "ConditionalCheckFailed":
            return "exists"
        raise
    return "created"


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
        item["mentioned_ids"] = list(upload.mentioned_ids)
        item["items"] = [i.model_dump() for i in upload.items]
        return put_new(self._table, item, "upload_id")

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
        return update_if(
            self._table, {"upload_id": upload_id}, "SET #st = :s, reason = :r", condition, values, {"#st": "status"}
        )
