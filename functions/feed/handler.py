"""GET /feed: the home feed, newest first, with a cursor."""

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.api import COMMON_RESPONSES, Limit, caller, make_resolver
from aperture.models.api import Page, Post
from aperture.observability import observed

router = Router()


@router.get("/feed", summary="Your home feed", tags=["feed"], responses=COMMON_RESPONSES)
def get_feed(
    cursor: Annotated[str | None, Query(max_length=64, description="next_cursor of the last page")] = None,
    limit: Limit = 20,
    order: Annotated[Literal["ranked", "chronological"], Query()] = "ranked",
) -> Page[Post]:
    return wiring.feed().page(caller(router).user_id, cursor, limit, order)


app = make_resolver(router, standing=wiring.standing)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
