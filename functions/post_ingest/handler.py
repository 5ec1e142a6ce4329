"""Kinesis consumer of 'post ready': writes each post (and fans it out) or story (and puts it live), reporting
per-record failures."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.clock import now_ms
from aperture.models.events import PostReady, parse_event
from aperture.observability import logger
from aperture.posts import ingest_post_ready
from aperture.settings import get_settings
from aperture.stories import ingest_story_ready

# A batch where every record failed is reported like any other, rather than raised.
processor = BatchProcessor(event_type=EventType.KinesisDataStreams, raise_on_entire_batch_failure=False)


def handle_record(record: KinesisStreamRecord) -> None:
    event = parse_event(record.kinesis.data_as_bytes())
    if isinstance(event, PostReady) and event.kind == "story":
        follows, fanout = wiring.follows(), wiring.fanout()
        created = ingest_story_ready(
            event, wiring.story_repository(), wiring.uploads(), wiring.story_cache(), follows.followers,
            fanout.is_celebrity, get_settings().story_ttl_seconds, now_ms(),
        )  # fmt: skip
        logger.info("story ingested", extra={"story_id": event.post_id, "newly_created": created})
    elif isinstance(event, PostReady):
        created = ingest_post_ready(event, wiring.posts(), wiring.uploads(), wiring.fanout(), wiring.like_cache())
        logger.info("post ingested", extra={"post_id": event.post_id, "newly_created": created})


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
