"""Kinesis consumer: likes, comments, follows and mentions become notifications and pushes, once each."""

from typing import Any

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.consumers import RecordProcessor
from aperture.models.events import parse_event
from aperture.observability import logger, observed

processor = RecordProcessor(event_type=EventType.KinesisDataStreams, raise_on_entire_batch_failure=False)


def handle_record(record: KinesisStreamRecord) -> None:
    event = parse_event(record.kinesis.data_as_bytes())
    if event is None:
        return  # a type this consumer does not know yet
    delivered = wiring.notifier().handle(event)
    if delivered:
        logger.info("notified", extra={"event_type": event.type, "notifications": delivered})


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    wiring.once().register(context)
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
