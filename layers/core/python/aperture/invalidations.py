"""Forgetting deleted images at the CDN: each queued key prefix becomes its own CloudFront invalidation.

The message's SQS id is the invalidation's caller reference. SQS redelivers a message under the same id, and
CloudFront answers a repeated caller reference (with the same paths) with the invalidation it already made, so a
message whose invalidation was made but whose answer was lost (a refusal of another message in its batch, a
timeout, a crash) is the same request when it comes back, whatever it is grouped with then. CloudFront bills per
path, not per request: one request per prefix costs what one request for the batch did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pydantic import ValidationError

from aperture.models.events import CdnInvalidation
from aperture.observability import logger


class CdnCachePort(Protocol):
    def invalidate(self, prefix: str, reference: str) -> str | None: ...


@dataclass(frozen=True)
class QueuedMessage:
    message_id: str
    body: str


class CdnInvalidator:
    """Invalidates one queued prefix per call; what CloudFront refuses raises, so that message alone is retried."""

    def __init__(self, cache: CdnCachePort) -> None:
        self._cache = cache

    def run(self, message: QueuedMessage) -> str | None:
        """Invalidate the message's prefix under its id; returns the invalidation's id (None: nothing was sent).

        Raises what CloudFront refused with (often TooManyInvalidationsInProgress, its limit on wildcard paths in
        progress, or throttling): the caller reports the message failed, and it comes back after its visibility
        timeout, by when earlier invalidations have finished. A malformed message is logged and dropped: it could
        never succeed, and retrying it would only move it to the dead-letter queue later.
        """
        try:
            prefix = CdnInvalidation.model_validate_json(message.body).prefix
        except ValidationError:
            logger.exception("malformed CDN invalidation dropped", extra={"message_id": message.message_id})
            return None
        try:
            invalidation = self._cache.invalidate(prefix, reference=message.message_id)
        except Exception:
            logger.warning(
                "CDN invalidation refused; the message will be retried",
                extra={"message_id": message.message_id, "prefix": prefix},
                exc_info=True,
            )
            raise
        logger.info("CDN invalidated", extra={"invalidation": invalidation, "prefix": prefix})
        return invalidation
