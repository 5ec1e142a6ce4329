"""Every 15 minutes: explore's candidate pools, embeddings and k-NN index as a new generation, then one ranking
job per hundred active viewers."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.clock import now_ms
from aperture.explore import refresh
from aperture.observability import logger
from aperture.settings import get_settings


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    outcome = refresh(
        wiring.explore_store(), wiring.posts(), wiring.vector_index(), wiring.explore_jobs().enqueue, now_ms(),
        settings.explore_pool_size, settings.explore_dimensions, settings.explore_active_days,
        settings.explore_job_size,
    )  # fmt: skip
    summary = {
        "generation": outcome.generation,
        "posts": outcome.posts,
        "embedded_posts": outcome.embedded_posts,
        "embedded_users": outcome.embedded_users,
        "viewers_queued": outcome.viewers_queued,
    }
    logger.info("explore refreshed", extra=summary)
    return summary
