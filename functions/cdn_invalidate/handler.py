"""SQS consumer of deleted images' key prefixes: each batch becomes one CloudFront invalidation.

It runs outside the VPC, where CloudFront's API is reachable; the functions that delete images run inside and
queue the prefixes. The batch is one request, so it succeeds or is retried whole (under the same caller reference).
"""

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.invalidations import QueuedMessage
from aperture.observability import logger


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    messages = [QueuedMessage(r["messageId"], r["body"]) for r in event.get("Records", [])]
    retry = wiring.cdn_invalidator().run(messages)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in retry]}
