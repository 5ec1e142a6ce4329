"""Forgetting deleted images at the CDN: a batch of queued key prefixes becomes one CloudFront invalidation."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from pydantic import ValidationError

from aperture.models.events import CdnInvalidation
from aperture.observability import logger

REFERENCE_PREFIX = "aperture-"


class CdnCachePort(Protocol):
    def invalidate(self, prefixes: Iterable[str], reference: str) -> str | None: ...


@dataclass(frozen=True)
class QueuedMessage:
    message_id: str
    body: str


def batch_reference(message_ids: Iterable[str]) -> str:
    """The invalidation's caller reference: the same for the same messages, whatever their order.

    SQS redelivers a message under the same id, so a batch retried whole (its invalidation was made but the
    answer lost) is the request CloudFront already has, not a second invalidation billed again.
    """
    digest = hashlib.sha256("\n".join(sorted(set(message_ids))).encode()).hexdigest()
    return f"{REFERENCE_PREFIX}{digest}"


class CdnInvalidator:
    """Turns a batch of queued prefixes into one invalidation (CloudFront bills per path, not per request)."""

    def __init__(self, cache: CdnCachePort) -> None:
        self._cache = cache

    def run(self, messages: Sequence[QueuedMessage]) -> list[str]:
        """Invalidate the batch's prefixes; returns the ids of the messages to retry (all of them, or none)."""
        prefixes: dict[str, str] = {}
        for message in messages:
            try:
                prefixes[message.message_id] = CdnInvalidation.model_validate_json(message.body).prefix
            except ValidationError:
                # It can never succeed: retrying would only move it to the dead-letter queue later.
                logger.exception("malformed CDN invalidation dropped", extra={"message_id": message.message_id})
        if not prefixes:
            return []
        try:
            invalidation = self._cache.invalidate(prefixes.values(), batch_reference(prefixes))
        except Exception:
            # Often CloudFront's limit on wildcard paths in progress: the batch comes back after its visibility
            # timeout, by when earlier invalidations have finished.
            logger.exception("CDN invalidation failed; the batch will be retried", extra={"paths": len(prefixes)})
            return sorted(prefixes)
        logger.info("CDN invalidated", extra={"invalidation": invalidation, "paths": len(set(prefixes.values()))})
        return []
