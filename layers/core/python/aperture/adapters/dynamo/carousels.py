"""A carousel's count of photos still to process, kept on its upload's record (the uploads table)."""

from __future__ import annotations

from typing import Any

from aperture.adapters.dynamo.common import transact_unless_condition, update_if, write_if
from aperture.adapters.outbox import Event, Outbox
from aperture.models.records import Photo

# The photo is not counted yet, and the upload may still be published
_COUNTABLE = "attribute_exists(upload_id) AND #st <> :rejected AND attribute_not_exists(photos.#i)"


class CarouselCounter:
    """Each processed photo is stored on the upload and counted down in one conditional write, so a photo is
    counted once however often its notification comes, and no photo is counted after the upload was refused. The
    last photo's count is written in one transaction with the carousel's 'post ready' event (the outbox): the
    event exists exactly when the count reached zero."""

    def __init__(self, uploads_table: Any, outbox: Outbox) -> None:
        self._table = uploads_table
        self._outbox = outbox

    def _update(self, upload_id: int, item: int, photo: Photo, remaining: str) -> dict[str, Any]:
        return {
            "TableName": self._table.name,
            "Key": {"upload_id": upload_id},
            "UpdateExpression": "SET photos.#i = :photo, remaining = remaining - :one",
            "ConditionExpression": f"{_COUNTABLE} AND remaining {remaining} :one",
            "ExpressionAttributeNames": {"#i": str(item), "#st": "status"},
            "ExpressionAttributeValues": {":photo": photo.model_dump(), ":one": 1, ":rejected": "rejected"},
        }

    def count(self, upload_id: int, item: int, photo: Photo) -> bool:
        """Store photo `item` and take one off the photos remaining, while more than this one remain; False (nothing
        written) when it was counted before, the upload is refused or gone, or this is the last photo now."""
        return write_if(self._table.update_item, **self._update(upload_id, item, photo, ">")) is not None

    def count_last(self, upload_id: int, item: int, photo: Photo, event: Event) -> bool:
        """Store the last photo, take the count to zero and record the carousel's event, in one transaction; False
        (nothing written) unless this photo is uncounted and the only one remaining, and the upload not refused."""
        update = {"Update": self._update(upload_id, item, photo, "=")}
        return transact_unless_condition(self._table, [update, self._outbox.entry(event)])

    def refuse(self, upload_id: int, item: int, reason: str) -> bool:
        """Refuse the whole carousel for one photo, unless it was published (or refused) already."""
        return update_if(
            self._table,
            {"upload_id": upload_id},
            "SET #st = :rejected, reason = :reason, refused_item = :item",
            "attribute_exists(upload_id) AND NOT #st IN (:rejected, :ready)",
            {":rejected": "rejected", ":ready": "ready", ":reason": reason, ":item": item},
            {"#st": "status"},
        )
