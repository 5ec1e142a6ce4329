"""SQS consumer of deleted images' key prefixes: each message becomes its own CloudFront invalidation.

It runs outside the VPC, where CloudFront's API is reachable; the functions that delete images run inside and
queue the prefixes. Each message is invalidated under its own id (aperture.invalidations), and only the messages
CloudFront refused are reported failed (partial batch response): they alone come back after the visibility timeout.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.consumers import RecordProcessor
from aperture.invalidations import QueuedMessage
from aperture.observability import observed

processor = RecordProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def handle_record(record: SQSRecord) -> None:
    wiring.cdn_invalidator().run(QueuedMessage(record.message_id, record.body))


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
