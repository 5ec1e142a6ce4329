"""The failure archive: the whole invocation records of stream batches Lambda gave up on, as its S3 on-failure
destination writes them (one JSON object per batch, the batch itself in `payload`)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aperture.resources import FAILURE_ARCHIVE_PREFIX

# The documented key: aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<Random UUID>
KEY_TIME_FORMAT = "%Y-%m-%dT%H.%M.%S"
_KEY = re.compile(
    rf"^{re.escape(FAILURE_ARCHIVE_PREFIX)}(?P<mapping>[^/]+)/(?P<shard>[^/]+)/\d{{4}}/\d{{2}}/\d{{2}}/"
    r"(?P<time>\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2})-[^/]+$"
)


def archive_key(mapping_id: str, shard_id: str, at: datetime, unique: str | None = None) -> str:
    """Where Lambda puts the record of a batch of `shard_id` that mapping `mapping_id` gave up on at `at`."""
    at = at.astimezone(UTC)
    return f"{FAILURE_ARCHIVE_PREFIX}{mapping_id}/{shard_id}/{at:%Y/%m/%d}/{at.strftime(KEY_TIME_FORMAT)}-" + (
        unique or str(uuid.uuid4())
    )


def archived_at(key: str) -> datetime | None:
    """When the record under `key` was written (to the second, UTC), or None if the key is not Lambda's."""
    match = _KEY.fullmatch(key)
    if match is None:
        return None
    return datetime.strptime(match["time"], KEY_TIME_FORMAT).replace(tzinfo=UTC)


@dataclass(frozen=True)
class ArchivedFailure:
    """One archived invocation: which function gave up, and the whole event it was given."""

    key: str
    function_arn: str
    archived_at: datetime
    condition: str  # why Lambda gave up, e.g. RetryAttemptsExhausted
    event: dict[str, Any]

    @property
    def records(self) -> list[dict[str, Any]]:
        return list(self.event.get("Records", []))


def parse_record(key: str, body: bytes) -> ArchivedFailure:
    """An archived invocation record; ValueError if it is not one (a foreign object, or a record with no payload)."""
    at = archived_at(key)
    if at is None:
        raise ValueError(f"{key!r} is not named as Lambda names its failure records")
    try:
        record = json.loads(body)
        payload = record["payload"]
        # Lambda writes the event as a JSON string; an object is taken as it is.
        event = json.loads(payload) if isinstance(payload, str) else payload
        function_arn = str(record["requestContext"]["functionArn"])
    except (KeyError, TypeError, json.JSONDecodeError) as error:
        raise ValueError(f"{key!r} holds no invocation record with its payload ({error!r})") from error
    if not isinstance(event, dict) or not event.get("Records"):
        raise ValueError(f"{key!r} holds a payload without records")
    return ArchivedFailure(key, function_arn, at, str(record["requestContext"].get("condition", "")), event)


class FailureArchive:
    """The archive bucket: what the on-failure destination wrote, read back and deleted once redelivered."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def put(self, key: str, record: Mapping[str, Any]) -> None:
        self._s3.put_object(
            Bucket=self._bucket, Key=key, Body=json.dumps(record).encode(), ContentType="application/json"
        )

    def record_keys(self, since: datetime | None = None) -> Iterator[str]:
        """Every archived record's key, oldest first within each mapping and shard, written at or after `since`.

        A key not named as Lambda names its records is listed too (whatever `since`), so it is reported rather than
        passed over in silence."""
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=FAILURE_ARCHIVE_PREFIX):
            for item in page.get("Contents", []):
                key = str(item["Key"])
                at = archived_at(key)
                if since is None or at is None or at >= since:
                    yield key

    def read(self, key: str) -> ArchivedFailure:
        body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return parse_record(key, body)

    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=self._bucket, Key=key)
