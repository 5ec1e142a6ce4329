"""Kinesis consumer of domain events: new posts, likes and comments become explore's signals (popularity per
region and topic, who engaged with what). A batch is counted in one pass; an event already counted is skipped
when Kinesis delivers it again, and one whose counting failed is counted on the retry. Likes, comments and saves
are also the ranking loop's engagements, appended to the activity log (aperture.engagements)."""

from typing import Any

from aws_lambda_powertools.utilities.data_classes import KinesisStreamEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from aperture import wiring
from aperture.models.events import AnyEvent, parse_event
from aperture.observability import correlation_ids, logger, observed


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    parsed: list[AnyEvent] = []
    for record in KinesisStreamEvent(event).records:
        try:
            known = parse_event(record.kinesis.data_as_bytes())
        except (ValueError, ValidationError):
            # A malformed record of a known type is a producer's bug: logged and skipped, so it cannot hold back
            # (or, after the retries, drop) the valid events behind it.
            logger.exception("malformed event skipped", extra={"sequence_number": record.kinesis.sequence_number})
            continue
        if known is not None:
            parsed.append(known)
    # Logged first and best effort: a retry of a batch whose counting failed logs them again, which labels ignore
    wiring.engagement_log().from_events(parsed)
    counted = wiring.explore_signals().record(parsed)
    # Counted in one pass, so the line names every request the batch's events came from
    logger.info("explore signals counted", extra={"engagements": counted, "correlation_ids": correlation_ids(parsed)})
    return {"batchItemFailures": []}
