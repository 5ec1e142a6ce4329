"""Profiles, follows, blocks and mutes: /me, /users/{username}, and the graph routes under /users/{user_id}."""

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.api import COMMON_RESPONSES, Cursor, Limit, caller, make_resolver, parse_id
from aperture.errors import InvalidInputError
from aperture.models.api import (
    BlockStatus,
    FollowResponse,
    FullRelationship,
    MuteStatus,
    Page,
    Profile,
    UpdateProfileRequest,
    UserRef,
)
from aperture.observability import logger

router = Router()
NOT_FOUND: dict[int, OpenAPIResponse] = {**COMMON_RESPONSES, 404: {"description": "No such user, or blocked"}}


@router.get("/me", summary="Your own profile", tags=["users"], responses=COMMON_RESPONSES)
def get_me() -> Profile:
    me = caller(router)
    return wiring.graph().profile(me.username, me.user_id)


@router.patch("/me", summary="Change your profile and settings", tags=["users"], responses=COMMON_RESPONSES)
def update_me(request: UpdateProfileRequest) -> Profile:
    me = caller(router)
    changes = request.model_dump(exclude_unset=True, exclude_none=True)
    if not changes:
        raise InvalidInputError("send at least one of display_name, bio, region, highlights_enabled")
    # From the item as written: a read through the username index could still show the old values.
    return wiring.graph().own_profile(wiring.profiles().update(me.user_id, changes))


@router.get("/users/<username>", summary="A profile by username", tags=["users"], responses=NOT_FOUND)
def get_user(username: str) -> Profile:
    return wiring.graph().profile(username, caller(router).user_id)


@router.put(
    "/users/<user_id>/follow",
    summary="Follow a user",
    tags=["graph"],
    responses={**NOT_FOUND, 403: {"description": "You block this user: unblock them first"}},
)
def follow(user_id: str) -> FollowResponse:
    following = wiring.graph().set_following(caller(router).user_id, parse_id(user_id, "user"), True)
    return FollowResponse(following=following)


@router.delete("/users/<user_id>/follow", summary="Stop following a user", tags=["graph"], responses=NOT_FOUND)
def unfollow(user_id: str) -> FollowResponse:
    following = wiring.graph().set_following(caller(router).user_id, parse_id(user_id, "user"), False)
    return FollowResponse(following=following)


@router.get("/users/<user_id>/followers", summary="Who follows a user", tags=["graph"], responses=NOT_FOUND)
def followers(user_id: str, cursor: Cursor = None, limit: Limit = 20) -> Page[UserRef]:
    items, next_cursor = wiring.graph().followers(caller(router).user_id, parse_id(user_id, "user"), limit, cursor)
    return Page[UserRef](items=items, next_cursor=next_cursor)


@router.get("/users/<user_id>/following", summary="Whom a user follows", tags=["graph"], responses=NOT_FOUND)
def following(user_id: str, cursor: Cursor = None, limit: Limit = 20) -> Page[UserRef]:
    items, next_cursor = wiring.graph().following(caller(router).user_id, parse_id(user_id, "user"), limit, cursor)
    return Page[UserRef](items=items, next_cursor=next_cursor)


@router.get(
    "/users/<user_id>/relationship", summary="How you and a user are related", tags=["graph"], responses=NOT_FOUND
)
def relationship(user_id: str) -> FullRelationship:
    return wiring.graph().relationship(caller(router).user_id, parse_id(user_id, "user"))


@router.put("/users/<user_id>/block", summary="Block a user", tags=["graph"], responses=NOT_FOUND)
def block(user_id: str) -> BlockStatus:
    return BlockStatus(blocking=wiring.graph().set_blocking(caller(router).user_id, parse_id(user_id, "user"), True))


@router.delete("/users/<user_id>/block", summary="Unblock a user", tags=["graph"], responses=NOT_FOUND)
def unblock(user_id: str) -> BlockStatus:
    return BlockStatus(blocking=wiring.graph().set_blocking(caller(router).user_id, parse_id(user_id, "user"), False))


MUTE_RESPONSES: dict[int, OpenAPIResponse] = {
    **NOT_FOUND,
    422: {"description": "Muting yourself"},
}


@router.put(
    "/users/<user_id>/mute",
    summary="Mute a user: their posts and stories leave your feed, stories tray and explore; they are not told",
    tags=["graph"],
    responses=MUTE_RESPONSES,
)
def mute(user_id: str) -> MuteStatus:
    return MuteStatus(muting=wiring.graph().set_muting(caller(router).user_id, parse_id(user_id, "user"), True))


@router.delete("/users/<user_id>/mute", summary="Unmute a user", tags=["graph"], responses=MUTE_RESPONSES)
def unmute(user_id: str) -> MuteStatus:
    return MuteStatus(muting=wiring.graph().set_muting(caller(router).user_id, parse_id(user_id, "user"), False))


app = make_resolver(router)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
