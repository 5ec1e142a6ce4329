"""SQS consumer of fanout jobs: a post to a thousand followers' timelines, or a celebrity change, per job."""

from typing import Any

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.consumers import RecordProcessor
from aperture.models.events import JOB
from aperture.observability import logger, observed

processor = RecordProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def handle_record(record: SQSRecord) -> None:
    job = JOB.validate_json(record.body)
    touched = wiring.fanout().run(job)
    logger.info("fanout job done", extra={"job_kind": job.kind, "timelines": touched})


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
