"""SQS consumer of explore ranking jobs: each ranks and stores the lists of about a hundred active viewers with
the current model. Every ranking is stored under a new list id, so a retried job makes fresh lists and never
moves the posts under a cursor a client already holds."""

from typing import Any

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.consumers import RecordProcessor
from aperture.models.events import ExploreJob
from aperture.observability import logger, observed

processor = RecordProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def handle_record(record: SQSRecord) -> None:
    job = ExploreJob.model_validate_json(record.body)
    explore = wiring.explore()
    ranked = sum(explore.rank(user_id) is not None for user_id in job.user_ids)
    logger.info("explore lists ranked", extra={"viewers": len(job.user_ids), "ranked": ranked})


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
