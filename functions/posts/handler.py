"""Posts: GET, PATCH and DELETE /posts/{post_id}, and GET /users/{user_id}/posts."""

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.api import COMMON_RESPONSES, PRIVATE_ACCOUNT, Cursor, Limit, caller, make_resolver, parse_id
from aperture.models.api import EditPostRequest, Page, Post
from aperture.observability import observed

router = Router()
NOT_FOUND: dict[int, OpenAPIResponse] = {**COMMON_RESPONSES, 404: {"description": "No such post, or blocked"}}


@router.get("/posts/<post_id>", summary="A post", tags=["posts"], responses={**NOT_FOUND, 403: PRIVATE_ACCOUNT})
def get_post(post_id: str) -> Post:
    return wiring.posts().one(caller(router).user_id, parse_id(post_id, "post"))


@router.delete(
    "/posts/<post_id>",
    summary="Delete your post",
    tags=["posts"],
    status_code=204,
    responses={**NOT_FOUND, 403: {"description": "Not your post"}},
)
def remove_post(post_id: str) -> None:
    wiring.posts().delete(caller(router).user_id, parse_id(post_id, "post"))


@router.patch(
    "/posts/<post_id>",
    summary="Edit your post's caption or location",
    description="Hashtags are parsed again from the caption (joined to those sent at upload); only users the new "
    "caption names for the first time are notified. Every cached copy shows the edit before the answer.",
    tags=["posts"],
    responses={
        **NOT_FOUND,
        403: {"description": "Not your post"},
        409: {"description": "Other edits kept racing this one; send it again"},
        503: {"description": "The edit is saved but not yet shown everywhere; send it again"},
    },
)
def edit_post(post_id: str, request: EditPostRequest) -> Post:
    return wiring.post_edits().edit(caller(router).user_id, parse_id(post_id, "post"), request)


@router.get(
    "/users/<user_id>/posts",
    summary="A user's posts, newest first",
    tags=["posts"],
    responses={**NOT_FOUND, 403: PRIVATE_ACCOUNT},
)
def user_posts(user_id: str, cursor: Cursor = None, limit: Limit = 20) -> Page[Post]:
    viewer, author = caller(router).user_id, parse_id(user_id, "user")
    page = wiring.posts().by_author(viewer, author, limit, cursor)
    if cursor is None:  # opening the profile's posts, not paging through them: a ranking label (aperture.engagements)
        wiring.engagement_log().profile_opened(viewer, author)
    return page


app = make_resolver(router, standing=wiring.standing)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
