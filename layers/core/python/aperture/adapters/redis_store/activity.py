"""The activity log's write side: records appended to bounded Redis streams, one per shard, for the flush job to
move to S3 in batches. Serving already holds a Redis connection, so an append is one pipelined round trip and no
new network path (no VPC endpoint); a Redis failure loses log records, never the page that wrote them."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from redis.exceptions import RedisError

from aperture.activity import Record, to_line
from aperture.observability import logger, measure

SHARDS = 8  # streams, so that in cluster mode the appends spread over the nodes rather than one hot key


def stream_key(shard: int) -> str:
    return f"activity:{{{shard}}}"


def shard_of(viewer_id: int) -> int:
    return zlib.crc32(str(viewer_id).encode()) % SHARDS


class RedisActivityLog:
    """Appends records to `activity:{shard}` (by viewer), each stream capped near `max_length` entries: if the
    flush job falls behind that far, the oldest records are dropped rather than Redis filling up."""

    def __init__(self, client: Any, max_length: int = 200_000) -> None:
        self._redis = client
        self._max_length = max_length

    def record(self, records: Sequence[Record]) -> None:
        if not records:
            return
        pipe = self._redis.pipeline(transaction=False)
        for record in records:
            pipe.xadd(
                stream_key(shard_of(record.viewer_id)),
                {"r": to_line(record)},
                maxlen=self._max_length,
                approximate=True,
            )
        try:
            pipe.execute()
        except RedisError as error:  # the log is best effort: the page is served all the same
            logger.warning("activity records not logged", extra={"error": repr(error), "records": len(records)})
            measure("ActivityLogDropped", len(records))
