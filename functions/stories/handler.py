"""Stories: the tray, a user's live stories and highlights, recording a view, and a story's viewers."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.api import COMMON_RESPONSES, PRIVATE_ACCOUNT, Cursor, Limit, caller, make_resolver, parse_id
from aperture.models.api import Page, Story, StoryViewers, TrayEntry
from aperture.observability import observed

router = Router()
NO_USER: dict[int, OpenAPIResponse] = {
    **COMMON_RESPONSES,
    404: {"description": "No such user, or blocked"},
    403: PRIVATE_ACCOUNT,
}
NO_STORY: dict[int, OpenAPIResponse] = {**COMMON_RESPONSES, 404: {"description": "No such story, expired, or blocked"}}


@router.get(
    "/stories/tray", summary="Whose stories to watch, unseen first", tags=["stories"], responses=COMMON_RESPONSES
)
def tray(cursor: Cursor = None, limit: Limit = 20) -> Page[TrayEntry]:
    return wiring.stories().tray_page(caller(router).user_id, limit, cursor)


@router.get(
    "/users/<user_id>/stories", summary="A user's live stories, oldest first", tags=["stories"], responses=NO_USER
)
def user_stories(user_id: str, cursor: Cursor = None, limit: Limit = 20) -> Page[Story]:
    return wiring.stories().of_user(caller(router).user_id, parse_id(user_id, "user"), limit, cursor)


@router.get(
    "/users/<user_id>/highlights",
    summary="A user's archived stories, newest first",
    tags=["stories"],
    responses=NO_USER,
)
def highlights(user_id: str, cursor: Cursor = None, limit: Limit = 20) -> Page[Story]:
    return wiring.stories().highlights(caller(router).user_id, parse_id(user_id, "user"), limit, cursor)


@router.post(
    "/stories/<story_id>/views",
    summary="Record that you saw a story (counts once)",
    tags=["stories"],
    status_code=204,
    responses={**NO_STORY, 403: PRIVATE_ACCOUNT},
)
def view_story(story_id: str) -> Response[str]:
    wiring.stories().view(caller(router).user_id, parse_id(story_id, "story"))
    return Response(status_code=204, body="")


@router.delete(
    "/stories/<story_id>",
    summary="Delete your story",
    tags=["stories"],
    status_code=204,
    responses={**NO_STORY, 403: {"description": "Not your story"}},
)
def delete_story(story_id: str) -> Response[str]:
    wiring.stories().delete(caller(router).user_id, parse_id(story_id, "story"))
    return Response(status_code=204, body="")


@router.get(
    "/stories/<story_id>/viewers",
    summary="Who viewed your story",
    tags=["stories"],
    responses={**NO_STORY, 403: {"description": "Not your story"}},
)
def viewers(story_id: str, cursor: Cursor = None, limit: Limit = 20) -> StoryViewers:
    return wiring.stories().viewers(caller(router).user_id, parse_id(story_id, "story"), limit, cursor)


app = make_resolver(router, standing=wiring.standing)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
