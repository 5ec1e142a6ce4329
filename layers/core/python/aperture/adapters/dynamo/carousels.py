"""A carousel's count of photos still to process, kept on its upload's record (the uploads table)."""

from __future__ import annotations

from typing import Any

from aperture.adapters.dynamo.common import plain, update_if, write_if
from aperture.models.records import Photo, Upload


class CarouselCounter:
    """Each processed photo is stored on the upload and counted down in one conditional write, so a photo is
    counted once however often its notification comes, and no photo is counted after the upload was refused."""

    def __init__(self, uploads_table: Any) -> None:
        self._table = uploads_table

    def count(self, upload_id: int, item: int, photo: Photo) -> Upload | None:
        """Store photo `item` and take one off the photos remaining, atomically: the upload as it is now, or None
        when nothing was written (the photo was counted before, or the upload is refused or gone)."""
        response = write_if(
            self._table.update_item,
            Key={"upload_id": upload_id},
            UpdateExpression="SET photos.#i = :photo, remaining = remaining - :one",
            ConditionExpression=(
                "attribute_exists(upload_id) AND #st <> :rejected AND attribute_not_exists(photos.#i)"
                " AND remaining > :zero"
            ),
            ExpressionAttributeNames={"#i": str(item), "#st": "status"},
            ExpressionAttributeValues={
                ":photo": photo.model_dump(),
                ":one": 1,
                ":zero": 0,
                ":rejected": "rejected",
            },
            ReturnValues="ALL_NEW",
        )
        return None if response is None else Upload.model_validate(plain(response["Attributes"]))

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
