"""DynamoDB stream consumer of the outbox: publishes each committed event, and applies its cache side once."""

from typing import Any

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord, DynamoDBRecordEventName
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.consumers import RecordProcessor
from aperture.models.events import parse_event
from aperture.observability import logger, observed

processor = RecordProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def handle_record(record: DynamoDBRecord) -> None:
    if record.event_name != DynamoDBRecordEventName.INSERT or record.dynamodb is None:
        return  # an outbox item expiring (TTL) is no event
    image = record.dynamodb.new_image or {}
    event = parse_event(str(image.get("event", "")).encode())
    if event is None:
        logger.warning("outbox item with an event this relay does not know", extra={"keys": record.dynamodb.keys})
        return
    wiring.relay().relay(event)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
