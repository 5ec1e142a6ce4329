"""Every 15 minutes: explore's candidate pools, embeddings and k-NN index as a new generation, then one ranking
job per hundred active viewers."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.clock import now_ms
from aperture.observability import logger, observed


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcome = wiring.explore_refresh().run(now_ms())
    summary = {
        "generation": outcome.generation,
        "posts": outcome.posts,
        "embedded_posts": outcome.embedded_posts,
        "embedded_users": outcome.embedded_users,
        "viewers_queued": outcome.viewers_queued,
    }
    logger.info("explore refreshed", extra=summary)
    return summary
