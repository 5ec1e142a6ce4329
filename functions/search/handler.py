"""GET /search/users and /search/hashtags: people and hashtags by prefix, as you type."""

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.api import COMMON_RESPONSES, Cursor, Limit, caller, make_resolver
from aperture.models.api import HashtagResult, Page, Post, UserResult
from aperture.observability import observed

router = Router()
SearchQuery = Annotated[str, Query(min_length=1, max_length=100, description="the start of a name or tag")]


@router.get(
    "/search/users",
    summary="People whose username or display name starts with q (case and accents ignored): those you follow "
    "first, then by follower count",
    tags=["search"],
    responses=COMMON_RESPONSES,
)
def search_users(q: SearchQuery, limit: Limit = 20) -> Page[UserResult]:
    return Page[UserResult](items=wiring.search().users(caller(router).user_id, q, limit))


@router.get(
    "/search/hashtags",
    summary="Hashtags starting with q (a leading # is ignored), most used first",
    tags=["search"],
    responses=COMMON_RESPONSES,
)
def search_hashtags(q: SearchQuery, limit: Limit = 20) -> Page[HashtagResult]:
    caller(router)
    return Page[HashtagResult](items=wiring.search().hashtags(q, limit))


@router.get(
    "/hashtags/<tag>/posts",
    summary="Posts with a hashtag: recent (newest first, with a cursor) or top (by engagement over 7 days)",
    tags=["search"],
    responses={
        **COMMON_RESPONSES,
        # (a tag is letters, digits and _: other characters make a path no route takes, as with any path parameter)
        404: {"description": "A path with characters no route takes"},
    },
)
def hashtag_posts(
    tag: str,
    order: Annotated[Literal["recent", "top"], Query()] = "recent",
    cursor: Cursor = None,
    limit: Limit = 20,
) -> Page[Post]:
    return wiring.hashtag_pages().page(caller(router).user_id, tag, order, limit, cursor)


app = make_resolver(router, standing=wiring.standing)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
