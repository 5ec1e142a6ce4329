"""The CDN's cache: deleted images are invalidated, so they 404 at the edge within minutes, not after a year."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


class CdnCache:
    """CloudFront invalidations for one distribution; with none configured (locally, where the CDN reads the
    bucket on every request) invalidating is a no-op."""

    def __init__(self, client: Callable[[], Any], distribution_id: str | None) -> None:
        self._client = client
        self._distribution = distribution_id

    def invalidate(self, prefixes: Iterable[str], reference: str) -> str | None:
        """Invalidate every cached object under each key prefix, in one request; returns the invalidation's id.

        Each prefix is one wildcard path (CloudFront bills per path). CloudFront treats a repeated `reference`
        with the same paths as the same request, so a retried batch does not make a second invalidation.
        None when no distribution is configured or there is nothing to invalidate.
        """
        paths = sorted({f"/{prefix}*" for prefix in prefixes})
        if not self._distribution or not paths:
            return None
        response = self._client().create_invalidation(
            DistributionId=self._distribution,
            InvalidationBatch={"Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": reference},
        )
        return str(response["Invalidation"]["Id"])
