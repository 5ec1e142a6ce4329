"""Profiles, follows, blocks, mutes and close friends: /me, /users/{username}, the graph routes under
/users/{user_id}, and /me/close_friends."""

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.api import COMMON_RESPONSES, PRIVATE_ACCOUNT, RATE_LIMITED, Cursor, Limit, caller, make_resolver, parse_id
from aperture.errors import InvalidInputError, UserNotFoundError
from aperture.models.api import (
    BlockStatus,
    CloseFriendResponse,
    EraseAccountRequest,
    ErasureAccepted,
    FollowRequestDecision,
    FollowResponse,
    FullRelationship,
    MuteStatus,
    Page,
    Profile,
    UpdateProfileRequest,
    UserRef,
)
from aperture.observability import observed

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
        raise InvalidInputError("send at least one of display_name, bio, region, highlights_enabled, private")
    private = changes.pop("private", None)
    if private is not None:
        # With its event (going public approves pending follow requests); a no-op if it is so already.
        wiring.follow_requests().set_private(me.user_id, private)
    # From the item as written: a read through the username index could still show the old values.
    user = wiring.profiles().update(me.user_id, changes) if changes else wiring.users().get_consistent(me.user_id)
    if user is None:
        raise UserNotFoundError(f"user {me.user_id} does not exist")
    return wiring.graph().own_profile(user)


@router.delete(
    "/me",
    summary="Erase your account: switched off at once, everything of it deleted within minutes",
    tags=["users"],
    responses={
        **COMMON_RESPONSES,
        202: {
            "description": "Erasing: from now on the profile is 404 and the account's tokens are refused",
            "content": {"application/json": {"model": ErasureAccepted}},
        },
        403: {"description": "Wrong password: nothing was erased"},
    },
)
def erase_me(request: EraseAccountRequest) -> Response[ErasureAccepted]:
    me = caller(router)
    wiring.erasure_requests().request(me.user_id, me.username, request.password)
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=ErasureAccepted())


@router.get("/users/<username>", summary="A profile by username", tags=["users"], responses=NOT_FOUND)
def get_user(username: str) -> Profile:
    viewer = caller(router).user_id
    profile = wiring.graph().profile(username, viewer)
    wiring.engagement_log().profile_opened(viewer, int(profile.user_id))  # (a ranking label: aperture.engagements)
    return profile


@router.put(
    "/users/<user_id>/follow",
    summary="Follow a user; for a private account, ask to (202, requested)",
    tags=["graph"],
    responses={
        **NOT_FOUND,
        **RATE_LIMITED,
        202: {
            "description": "A private account: the follow request awaits its approval",
            "content": {"application/json": {"model": FollowResponse}},
        },
        403: {"description": "You block this user: unblock them first"},
    },
)
def follow(user_id: str) -> Response[FollowResponse]:
    me = caller(router).user_id
    wiring.limiter().take(str(me), "follows")  # follows and follow requests alike
    answer = wiring.follow_requests().follow(me, parse_id(user_id, "user"))
    return Response(
        status_code=202 if answer.requested else 200,
        content_type=content_types.APPLICATION_JSON,
        body=answer,
    )


@router.delete(
    "/users/<user_id>/follow",
    summary="Stop following a user, or withdraw a follow request",
    tags=["graph"],
    responses=NOT_FOUND,
)
def unfollow(user_id: str) -> FollowResponse:
    return wiring.follow_requests().unfollow(caller(router).user_id, parse_id(user_id, "user"))


@router.get(
    "/users/<user_id>/followers",
    summary="Who follows a user",
    tags=["graph"],
    responses={**NOT_FOUND, 403: PRIVATE_ACCOUNT},
)
def followers(user_id: str, cursor: Cursor = None, limit: Limit = 20) -> Page[UserRef]:
    items, next_cursor = wiring.graph().followers(caller(router).user_id, parse_id(user_id, "user"), limit, cursor)
    return Page[UserRef](items=items, next_cursor=next_cursor)


@router.get(
    "/users/<user_id>/following",
    summary="Whom a user follows",
    tags=["graph"],
    responses={**NOT_FOUND, 403: PRIVATE_ACCOUNT},
)
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


CLOSE_FRIEND_RESPONSES: dict[int, OpenAPIResponse] = {
    **NOT_FOUND,
    403: {"description": "Adding someone you block"},
    422: {"description": "Adding yourself"},
    503: {"description": "Saved, but not yet in force; send it again"},
}


@router.put(
    "/me/close_friends/<user_id>",
    summary="Add someone to your close friends: they see your close-friends stories",
    tags=["graph"],
    responses=CLOSE_FRIEND_RESPONSES,
)
def add_close_friend(user_id: str) -> CloseFriendResponse:
    friend = parse_id(user_id, "user")
    return CloseFriendResponse(
        close_friend=wiring.close_friends().set_close_friend(caller(router).user_id, friend, True)
    )


@router.delete(
    "/me/close_friends/<user_id>",
    summary="Remove someone from your close friends: your close-friends stories leave their view at once",
    tags=["graph"],
    responses=CLOSE_FRIEND_RESPONSES,
)
def remove_close_friend(user_id: str) -> CloseFriendResponse:
    friend = parse_id(user_id, "user")
    return CloseFriendResponse(
        close_friend=wiring.close_friends().set_close_friend(caller(router).user_id, friend, False)
    )


@router.get("/me/close_friends", summary="Your close friends", tags=["graph"], responses=COMMON_RESPONSES)
def close_friends(cursor: Cursor = None, limit: Limit = 20) -> Page[UserRef]:
    return wiring.close_friends().page(caller(router).user_id, limit, cursor)


@router.get(
    "/me/follow_requests",
    summary="Who asks to follow your private account",
    tags=["graph"],
    responses=COMMON_RESPONSES,
)
def follow_requests(cursor: Cursor = None, limit: Limit = 20) -> Page[UserRef]:
    return wiring.follow_requests().pending(caller(router).user_id, limit, cursor)


@router.post(
    "/me/follow_requests/<user_id>/approve",
    summary="Approve a follow request: that user follows you from now on, and is told",
    tags=["graph"],
    responses={**COMMON_RESPONSES, 404: {"description": "That user has not asked to follow you"}},
)
def approve_follow_request(user_id: str) -> FollowRequestDecision:
    return wiring.follow_requests().approve(caller(router).user_id, parse_id(user_id, "user"))


@router.post(
    "/me/follow_requests/<user_id>/decline",
    summary="Decline a follow request (the user is not told)",
    tags=["graph"],
    responses={**COMMON_RESPONSES, 404: {"description": "No such user"}},
)
def decline_follow_request(user_id: str) -> FollowRequestDecision:
    return wiring.follow_requests().decline(caller(router).user_id, parse_id(user_id, "user"))


app = make_resolver(router, standing=wiring.standing)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
