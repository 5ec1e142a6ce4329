"""DynamoDB stream consumer of the outbox: an account's erasure, a bounded round per event (aperture.erasure)."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord, DynamoDBRecordEventName
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.models.events import AccountErasureRequested, parse_event
from aperture.observability import logger

processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def handle_record(record: DynamoDBRecord) -> None:
    if record.event_name != DynamoDBRecordEventName.INSERT or record.dynamodb is None:
        return  # an outbox item expiring (TTL) is no event
    event = parse_event(str((record.dynamodb.new_image or {}).get("event", "")).encode())
    if isinstance(event, AccountErasureRequested):
        outcome = wiring.erasure().erase(event)
        logger.info(
            "account erasure round done",
            extra={"user_id": event.user_id, "round": event.round, "finished": outcome.finished, **outcome.done},
        )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
