"""Kinesis consumer of story views: writes each batch's viewer-list entries with BatchWriteItem.

Per-record handling would cost a write request per view; a celebrity's story draws millions, so the whole batch
is written together. If writing fails, the batch is reported failed from its first record, and Lambda retries it
(every write is idempotent: one item per story and viewer).
"""

from typing import Any

from aws_lambda_powertools.utilities.data_classes import KinesisStreamEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.models.events import StoryViewed, parse_event
from aperture.observability import correlation_ids, logger, observed


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    records = list(KinesisStreamEvent(event).records)
    views: list[StoryViewed] = []
    for record in records:
        try:
            parsed = parse_event(record.kinesis.data_as_bytes())
        except ValueError:
            # A malformed record can never succeed: log it and move on rather than block the shard.
            logger.exception("unreadable story-view record", extra={"sequence": record.kinesis.sequence_number})
            continue
        if isinstance(parsed, StoryViewed):
            views.append(parsed)
    try:
        written = wiring.story_view_log().write(views)
    except Exception:
        logger.exception("story views not written; the batch will be retried")
        return {"batchItemFailures": [{"itemIdentifier": records[0].kinesis.sequence_number}] if records else []}
    # Written in one pass, so the line names every request the batch's views came from
    logger.info("story views written", extra={"views": written, "correlation_ids": correlation_ids(views)})
    return {"batchItemFailures": []}
