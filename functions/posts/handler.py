"""GET /posts/{post_id}: one post."""

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.api import COMMON_RESPONSES, caller, logger, make_resolver, parse_id
from aperture.models.api import Post

router = Router()


@router.get(
    "/posts/<post_id>",
    summary="A post",
    tags=["posts"],
    responses={**COMMON_RESPONSES, 404: {"description": "No such post"}},
)
def get_post(post_id: str) -> Post:
    return wiring.post_views().one(caller(router).user_id, parse_id(post_id, "post"))


app = make_resolver(router)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
