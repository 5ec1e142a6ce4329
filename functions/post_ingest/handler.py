"""Kinesis consumer of 'post ready': writes each post (and fans it out) or story (and puts it live), reporting
per-record failures."""

from typing import Any

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.consumers import RecordProcessor
from aperture.models.events import PostReady, parse_event
from aperture.observability import logger, observed

# A batch where every record failed is reported like any other, rather than raised.
processor = RecordProcessor(event_type=EventType.KinesisDataStreams, raise_on_entire_batch_failure=False)


def handle_record(record: KinesisStreamRecord) -> None:
    event = parse_event(record.kinesis.data_as_bytes())
    if isinstance(event, PostReady) and event.kind == "story":
        created = wiring.stories().ingest(event)
        logger.info("story ingested", extra={"story_id": event.post_id, "newly_created": created})
    elif isinstance(event, PostReady):
        created = wiring.posts().ingest(event)
        logger.info("post ingested", extra={"post_id": event.post_id, "newly_created": created})


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
