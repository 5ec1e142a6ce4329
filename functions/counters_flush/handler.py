"""Every minute: write the live like counts from Redis to the posts table."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.observability import logger, observed


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    from aperture.likes import flush_counts  # (with redis, on the first event rather than at import: cold starts)

    flushed = flush_counts(wiring.like_cache(), wiring.post_repository().set_like_count)
    logger.info("like counts flushed", extra={"posts": flushed})
    return {"flushed": flushed}
