"""Every minute: move the activity log's records from the Redis streams to S3 (aperture.activity_flush)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.observability import logger, observed


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    outcome = wiring.activity_flush().run()
    logger.info(
        "activity log flushed",
        extra={"records": outcome.records, "objects": outcome.objects, "backlog": outcome.backlog},
    )
    return {"records": outcome.records, "objects": outcome.objects, "backlog": outcome.backlog}
