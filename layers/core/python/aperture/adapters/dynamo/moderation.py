"""The blocklist table: perceptual hashes of images moderators removed."""

from __future__ import annotations

from typing import Any

from aperture.adapters.dynamo.common import put_new, scan_pages


class BlocklistRepository:
    """Perceptual hashes of removed images, keyed by the hash in hex."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def add(self, image_hash: int, post_id: int, reason: str, added_by: int, at_ms: int) -> bool:
        """Add a hash; False if it was already there."""
        item = {
            "hash": f"{image_hash:016x}",
            "post_id": post_id,
            "reason": reason,
            "added_by": added_by,
            "added_at": at_ms,
        }
        return put_new(self._table, item, "hash")

    def hashes(self) -> list[int]:
        pages = scan_pages(self._table, ProjectionExpression="#h", ExpressionAttributeNames={"#h": "hash"})
        return [int(item["hash"], 16) for page in pages for item in page]
