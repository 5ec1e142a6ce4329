"""GET /feed: the home feed, newest first, with a cursor."""

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from redis.exceptions import RedisError

from aperture import wiring
from aperture.api import COMMON_RESPONSES, Limit, caller, make_resolver
from aperture.clock import now_ms
from aperture.feed import decode_cursor, read_feed, read_feed_without_redis
from aperture.models.api import Page, Post
from aperture.observability import count, logger

router = Router()


@router.get("/feed", summary="Your home feed", tags=["feed"], responses=COMMON_RESPONSES)
def get_feed(
    cursor: Annotated[str | None, Query(max_length=64, description="next_cursor of the last page")] = None,
    limit: Limit = 20,
    order: Annotated[Literal["ranked", "chronological"], Query()] = "ranked",
) -> Page[Post]:
    viewer, position = caller(router).user_id, decode_cursor(cursor)
    views = wiring.post_views()
    try:
        ranking = (wiring.ranking_model(), wiring.affinity(), now_ms()) if order == "ranked" else None
        return read_feed(
            viewer, position, limit, wiring.timeline(), views, wiring.fanout(), wiring.graph(),
            wiring.redis_client(), ranking,
        )  # fmt: skip
    except RedisError as error:
        # Never a 500 for a cache outage: build the page from DynamoDB, and say so in logs and metrics.
        logger.warning("feed built without Redis", extra={"error": repr(error)})
        count("FeedDegraded", function="feed")
        follows, posts = wiring.follows(), wiring.posts()
        return read_feed_without_redis(viewer, position, limit, follows.following_ids, posts.latest_by, views)


app = make_resolver(router)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
