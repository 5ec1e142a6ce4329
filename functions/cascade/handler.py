"""DynamoDB stream consumer of the outbox: the deletion cascade of each deleted post or story (aperture.cascade)."""

from typing import Any

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord, DynamoDBRecordEventName
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.consumers import RecordProcessor
from aperture.models.events import PostDeleted, StoryDeleted, parse_event
from aperture.observability import logger, observed

processor = RecordProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def handle_record(record: DynamoDBRecord) -> None:
    if record.event_name != DynamoDBRecordEventName.INSERT or record.dynamodb is None:
        return  # an outbox item expiring (TTL) is no event
    event = parse_event(str((record.dynamodb.new_image or {}).get("event", "")).encode())
    if isinstance(event, PostDeleted):
        outcome = wiring.cascade().post_deleted(event)
        logger.info("post deleted, cascade done", extra={"post_id": event.post_id, **outcome.__dict__})
    elif isinstance(event, StoryDeleted):
        views = wiring.cascade().story_deleted(event)
        logger.info("story deleted, cascade done", extra={"story_id": event.story_id, "views": views})


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
