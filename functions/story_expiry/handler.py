"""Every five minutes: end the stories whose 24 hours are up (archive to highlights, or delete their images)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.observability import logger, observed


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    stories = wiring.stories()
    restored = stories.restore_live_sets()
    if restored is not None:
        logger.warning("Redis had lost the live stories; restored from DynamoDB", extra={"stories": restored})
    outcome = stories.expire()
    logger.info("stories ended", extra={"archived": outcome.archived, "deleted": outcome.deleted})
    return {"archived": outcome.archived, "deleted": outcome.deleted}
