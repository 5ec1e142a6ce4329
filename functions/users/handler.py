"""Profiles and follows: GET /me, GET /users/{username}, PUT and DELETE /users/{user_id}/follow."""

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import graph, wiring
from aperture.api import COMMON_RESPONSES, caller, logger, make_resolver, parse_id
from aperture.clock import now_ms
from aperture.models.api import FollowResponse, Profile

router = Router()
NOT_FOUND: dict[int, OpenAPIResponse] = {**COMMON_RESPONSES, 404: {"description": "No such user"}}


@router.get("/me", summary="Your own profile", tags=["users"], responses=COMMON_RESPONSES)
def get_me() -> Profile:
    me = caller(router)
    return graph.profile(me.username, me.user_id, wiring.users(), wiring.follows())


@router.get("/users/<username>", summary="A profile by username", tags=["users"], responses=NOT_FOUND)
def get_user(username: str) -> Profile:
    return graph.profile(username, caller(router).user_id, wiring.users(), wiring.follows())


def _set_following(user_id: str, following: bool) -> FollowResponse:
    followee = parse_id(user_id, "user")
    result = graph.set_following(
        caller(router).user_id, followee, following, wiring.users(), wiring.follows(), wiring.events(), now_ms
    )
    return FollowResponse(following=result)


@router.put("/users/<user_id>/follow", summary="Follow a user", tags=["graph"], responses=NOT_FOUND)
def follow(user_id: str) -> FollowResponse:
    return _set_following(user_id, True)


@router.delete("/users/<user_id>/follow", summary="Stop following a user", tags=["graph"], responses=NOT_FOUND)
def unfollow(user_id: str) -> FollowResponse:
    return _set_following(user_id, False)


app = make_resolver(router)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
