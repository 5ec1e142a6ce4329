"""Likes, comments and saves of posts."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.api import (
    COMMON_RESPONSES,
    PRIVATE_ACCOUNT,
    RATE_LIMITED,
    Cursor,
    IdempotencyKey,
    Limit,
    answered_once,
    caller,
    make_resolver,
    parse_id,
)
from aperture.errors import UserNotFoundError
from aperture.ids import new_id
from aperture.models.api import CommentRequest, CommentView, LikeResponse, Page, Post, SaveResponse, UserRef
from aperture.observability import observed

router = Router()
POST_RESPONSES: dict[int, OpenAPIResponse] = {
    **COMMON_RESPONSES,
    404: {"description": "No such post, or blocked"},
    403: PRIVATE_ACCOUNT,
}


def _set_liked(post_id: str, liked: bool) -> LikeResponse:
    viewer = caller(router).user_id
    post = wiring.post_views().visible(viewer, parse_id(post_id, "post"), taking_back=not liked)
    state, count = wiring.likes().set_liked(post, viewer, liked)
    return LikeResponse(liked=state, like_count=count)


@router.put(
    "/posts/<post_id>/like", summary="Like a post", tags=["likes"], responses={**POST_RESPONSES, **RATE_LIMITED}
)
def like(post_id: str) -> LikeResponse:
    wiring.limiter().take(str(caller(router).user_id), "likes")
    return _set_liked(post_id, True)


@router.delete("/posts/<post_id>/like", summary="Take back a like", tags=["likes"], responses=POST_RESPONSES)
def unlike(post_id: str) -> LikeResponse:
    return _set_liked(post_id, False)


@router.get("/posts/<post_id>/likes", summary="Who liked a post", tags=["likes"], responses=POST_RESPONSES)
def likers(post_id: str, cursor: Cursor = None, limit: Limit = 20) -> Page[UserRef]:
    viewer = caller(router).user_id
    post = wiring.post_views().visible(viewer, parse_id(post_id, "post"))
    ids, next_cursor = wiring.like_repository().page(post.post_id, limit, cursor)
    hidden = wiring.graph().hidden_from(viewer)
    people = wiring.users().get_many([i for i in ids if i not in hidden])
    items = [UserRef(user_id=str(i), username=people[i].username) for i in ids if i in people]
    return Page[UserRef](items=items, next_cursor=next_cursor)


def _set_saved(post_id: str, saved: bool) -> SaveResponse:
    viewer = caller(router).user_id
    post = wiring.post_views().visible(viewer, parse_id(post_id, "post"), taking_back=not saved)
    return SaveResponse(saved=wiring.saves().set_saved(post, viewer, saved))


@router.put("/posts/<post_id>/save", summary="Save a post (only you see it)", tags=["saves"], responses=POST_RESPONSES)
def save(post_id: str) -> SaveResponse:
    return _set_saved(post_id, True)


@router.delete("/posts/<post_id>/save", summary="Remove a post from saved", tags=["saves"], responses=POST_RESPONSES)
def unsave(post_id: str) -> SaveResponse:
    return _set_saved(post_id, False)


@router.get(
    "/me/saved", summary="Your saved posts, most recently saved first", tags=["saves"], responses=COMMON_RESPONSES
)
def saved(cursor: Cursor = None, limit: Limit = 20) -> Page[Post]:
    viewer = caller(router).user_id
    ids, next_cursor = wiring.saves().page(viewer, limit, cursor)
    # Posts gone, or whose author is in a block relation with the viewer or is a private account the viewer no
    # longer follows, are left out
    views = wiring.post_views()
    return Page[Post](items=views.approved(viewer, views.many(viewer, ids)), next_cursor=next_cursor)


@router.post(
    "/posts/<post_id>/comments",
    summary="Comment on a post",
    tags=["comments"],
    status_code=201,
    responses={
        **POST_RESPONSES,
        **RATE_LIMITED,
        409: {"description": "A request with this Idempotency-Key is still being handled"},
    },
)
def add_comment(post_id: str, body: CommentRequest, idempotency_key: IdempotencyKey = None) -> CommentView:
    def comment(comment_id: Callable[[], int]) -> CommentView:
        me = caller(router)
        post = wiring.post_views().visible(me.user_id, parse_id(post_id, "post"))
        author = wiring.users().get(me.user_id)
        if author is None:
            raise UserNotFoundError("your profile does not exist")
        return wiring.comments().add(post, author, body.text, comment_id)

    def charge() -> None:
        wiring.limiter().take(str(caller(router).user_id), "comments")

    request = {"post_id": post_id, **body.model_dump(mode="json")}
    return answered_once(router, wiring.replays(), idempotency_key, request, comment, CommentView, new_id, 1, charge)


@router.get(
    "/posts/<post_id>/comments", summary="A post's comments, oldest first", tags=["comments"], responses=POST_RESPONSES
)
def list_comments(post_id: str, cursor: Cursor = None, limit: Limit = 20) -> Page[CommentView]:
    viewer = caller(router).user_id
    post = wiring.post_views().visible(viewer, parse_id(post_id, "post"))
    items, next_cursor = wiring.comments().page(post.post_id, limit, cursor, wiring.graph().hidden_from(viewer))
    return Page[CommentView](items=items, next_cursor=next_cursor)


@router.delete(
    "/posts/<post_id>/comments/<comment_id>",
    summary="Delete a comment (its author or the post's author)",
    tags=["comments"],
    status_code=204,
    responses={**POST_RESPONSES, 403: {"description": "Neither the comment's nor the post's author"}},
)
def delete_comment(post_id: str, comment_id: str) -> None:
    viewer = caller(router).user_id
    # (one's own comment can be deleted even if the post's account went private since: delete checks whose it is)
    post = wiring.post_views().visible(viewer, parse_id(post_id, "post"), taking_back=True)
    wiring.comments().delete(post, parse_id(comment_id, "comment"), viewer)


app = make_resolver(router, standing=wiring.standing)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    wiring.replays().register(context)
    return app.resolve(event, context)
