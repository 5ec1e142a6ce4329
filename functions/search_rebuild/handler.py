"""Every hour: if Redis has lost the search index (a new or flushed cache), rebuild it from DynamoDB."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.observability import logger, observed


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    indexed = wiring.search_indexer().ensure_built()
    logger.info("search index checked", extra={"users_indexed": indexed})
    return {"indexed": indexed}
