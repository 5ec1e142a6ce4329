"""GET /explore: posts from accounts you do not follow, picked for you, page by page."""

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.api import COMMON_RESPONSES, Cursor, Limit, caller, make_resolver
from aperture.errors import ServiceUnavailableError
from aperture.models.api import Page, Post
from aperture.observability import count, logger, observed

router = Router()
RESPONSES: dict[int, OpenAPIResponse] = {
    **COMMON_RESPONSES,
    503: {"description": "Explore is briefly unavailable (its cache is down); retry shortly"},
}


@router.get(
    "/explore", summary="Posts picked for you from accounts you do not follow", tags=["explore"], responses=RESPONSES
)
def get_explore(cursor: Cursor = None, limit: Limit = 20) -> Page[Post]:
    from redis.exceptions import RedisError  # (here, not at import: it loads with the first page's Redis client)

    viewer = caller(router).user_id
    try:
        return wiring.explore().page(viewer, cursor, limit)
    except RedisError as error:
        # Explore's lists and signals live in Redis alone: without it there is no honest page, so say so (503,
        # never a 500), in logs and metrics too.
        logger.warning("explore unavailable without Redis", extra={"error": repr(error)})
        count("ExploreDegraded", function="explore")
        raise ServiceUnavailableError("explore is unavailable for a moment; try again shortly") from error


app = make_resolver(router, standing=wiring.standing)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
