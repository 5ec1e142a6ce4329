"""What every stream and queue consumer shares: partial batch processing, each record handled under the correlation
id it carries (aperture.observability)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.base import FailureResponse
from aws_lambda_powertools.utilities.batch.exceptions import ExceptionInfo

from aperture.observability import correlated, correlation_id, logger


def _payload(record: dict[str, Any], event_type: EventType) -> str | bytes | None:
    """The event or job a record holds, as JSON: a queue message's body, a Kinesis record's data, or the outbox
    item's `event` in a DynamoDB stream record (its new image; none for an item TTL removed)."""
    if event_type == EventType.SQS:
        body = record.get("body")
        return body if isinstance(body, str) else None
    if event_type == EventType.KinesisDataStreams:
        try:
            return base64.b64decode(record["kinesis"]["data"])
        except (KeyError, TypeError, binascii.Error):
            return None
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    event = image.get("event") or {}
    return event.get("S") if isinstance(event, dict) else None


def carried_correlation_id(record: dict[str, Any], event_type: EventType) -> str | None:
    """The correlation id in the event or job a raw record holds; None if it carries none (or is unreadable: its
    handler reports that)."""
    payload = _payload(record, event_type)
    if not payload:
        return None
    try:
        found = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    value = found.get("correlation_id") if isinstance(found, dict) else None
    return value if isinstance(value, str) and value else None


class RecordProcessor(BatchProcessor):
    """Powertools' batch processor, handling each record under the correlation id it carries, or the invocation's
    for a record that carries none: the record handler's log lines, and the events and jobs it makes, join the
    request that caused the record. A record that fails is logged (Powertools keeps the error to itself)."""

    def _process_record(self, record: dict[str, Any]) -> Any:
        with correlated(carried_correlation_id(record, self.event_type) or correlation_id()):
            return super()._process_record(record)

    def failure_handler(self, record: Any, exception: ExceptionInfo) -> FailureResponse:
        # (called while the record is handled: the line has its correlation id)
        logger.error("record failed; reported for a retry", exc_info=exception[1])
        return super().failure_handler(record, exception)
