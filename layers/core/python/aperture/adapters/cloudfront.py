"""The CDN's cache: deleted images are invalidated, so they 404 at the edge within minutes, not after a year."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any


class CdnCache:
    """CloudFront invalidations for one distribution; with none configured (locally, where the CDN reads the
    bucket on every request) forgetting is a no-op."""

    def __init__(self, client: Callable[[], Any], distribution_id: str | None) -> None:
        self._client = client
        self._distribution = distribution_id

    def forget(self, prefix: str) -> None:
        """Invalidate every cached object under a key prefix (one wildcard path: one invalidation path billed)."""
        if not self._distribution:
            return
        self._client().create_invalidation(
            DistributionId=self._distribution,
            InvalidationBatch={
                "Paths": {"Quantity": 1, "Items": [f"/{prefix}*"]},
                # Unique per call: CloudFront treats a repeated reference as the same request.
                "CallerReference": f"aperture-{uuid.uuid4()}",
            },
        )
