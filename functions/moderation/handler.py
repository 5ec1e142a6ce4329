"""POST /admin/blocklist: a moderator blocks a post's or a story's image, so re-uploads of it are refused."""

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.api import COMMON_RESPONSES, caller, make_resolver
from aperture.errors import InvalidInputError
from aperture.models.api import BlockRequest, BlockResponse
from aperture.observability import logger
from aperture.settings import get_settings

router = Router()


@router.post(
    "/admin/blocklist",
    summary="Block a post's or a story's image (moderators only)",
    tags=["moderation"],
    status_code=201,
    responses={
        **COMMON_RESPONSES,
        403: {"description": "The caller is not in the moderators group"},
        404: {"description": "No such post or story"},
    },
)
def add_to_blocklist(body: BlockRequest) -> BlockResponse:
    moderator = caller(router)
    moderator.require_group(get_settings().moderator_group)
    blocker = wiring.image_blocker()
    if body.story_id is not None:
        image_hash = blocker.block_story(int(body.story_id), body.reason, moderator.user_id)
    elif body.post_id is not None:
        image_hash = blocker.block_post(int(body.post_id), body.reason, moderator.user_id)
    else:  # (BlockRequest admits no such request; this keeps a change there from reaching block_post with None)
        raise InvalidInputError("name exactly one of post_id and story_id")
    extra = {"post_id": body.post_id, "story_id": body.story_id, "moderator": moderator.user_id}
    logger.info("image blocked", extra=extra)
    return BlockResponse(post_id=body.post_id, story_id=body.story_id, hash=f"{image_hash:016x}")


app = make_resolver(router, standing=wiring.standing)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
