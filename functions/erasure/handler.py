"""SQS consumer of account erasures: one bounded round per message, queued by the relay from the round's committed
event (aperture.erasure)."""

from typing import Any

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.consumers import RecordProcessor
from aperture.models.events import AccountErasureRequested
from aperture.observability import logger, observed

processor = RecordProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def handle_record(record: SQSRecord) -> None:
    event = AccountErasureRequested.model_validate_json(record.body)
    outcome = wiring.erasure().erase(event)
    logger.info(
        "account erasure round done",
        extra={"user_id": event.user_id, "round": event.round, "finished": outcome.finished, **outcome.done},
    )


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
