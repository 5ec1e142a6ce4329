"""SQS consumer of export jobs: builds one user's data export ZIP (aperture.exports)."""

from typing import Any

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.consumers import RecordProcessor
from aperture.models.events import ExportJob
from aperture.observability import logger, observed
from aperture.resources import SqsTrigger, function

processor = RecordProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def handle_record(record: SQSRecord) -> None:
    job = ExportJob.model_validate_json(record.body)
    trigger = function("export_build").trigger
    # The last receive before the dead-letter queue: a failure now marks the export failed, for its owner to see
    final = isinstance(trigger, SqsTrigger) and int(record.attributes.approximate_receive_count) >= trigger.max_receives
    outcome = wiring.export_builder().run(job, final_attempt=final)
    logger.info("export job done", extra={"export_id": job.export_id, "built": outcome.built})


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
