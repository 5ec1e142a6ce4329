"""The CDN's cache: deleted images are invalidated, so they 404 at the edge within minutes, not after a year."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class CdnCache:
    """CloudFront invalidations for one distribution; with none configured (locally, where the CDN reads the
    bucket on every request) invalidating is a no-op."""

    def __init__(self, client: Callable[[], Any], distribution_id: str | None) -> None:
        self._client = client
        self._distribution = distribution_id

    def invalidate(self, prefix: str, reference: str) -> str | None:
        """Invalidate every cached object under a key prefix; returns the invalidation's id.

        The prefix is one wildcard path (CloudFront bills per path; a distribution may have 15 wildcard paths in
        progress). CloudFront treats a repeated `reference` with the same path as the same request and answers
        with the invalidation it already made, so a retry does not make (or bill) a second one.
        None when no distribution is configured. CloudFront's refusals (TooManyInvalidationsInProgress,
        throttling once botocore's retries are spent) raise botocore's ClientError.
        """
        if not self._distribution:
            return None
        response = self._client().create_invalidation(
            DistributionId=self._distribution,
            InvalidationBatch={"Paths": {"Quantity": 1, "Items": [f"/{prefix}*"]}, "CallerReference": reference},
        )
        return str(response["Invalidation"]["Id"])
