"""The follow graph: following, unfollowing, and profiles as one viewer sees them."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from aperture.adapters.dynamo import FollowRepository, UserRepository
from aperture.adapters.kinesis import EventPublisher
from aperture.errors import InvalidInputError, UserNotFoundError
from aperture.models.api import Profile, Relationship
from aperture.models.events import FollowChanged


def _require_user(users: UserRepository, user_id: int) -> None:
    if users.get(user_id) is None:
        raise UserNotFoundError(f"user {user_id} does not exist")


def set_following(
    follower_id: int,
    followee_id: int,
    following: bool,
    users: UserRepository,
    follows: FollowRepository,
    events: EventPublisher,
    now_ms: Callable[[], int],
) -> bool:
    """Follow or unfollow; repeating the same call changes nothing and gives the same answer."""
    if follower_id == followee_id:
        raise InvalidInputError("you cannot follow yourself")
    _require_user(users, followee_id)
    at = now_ms()
    changed = follows.follow(follower_id, followee_id, at) if following else follows.unfollow(follower_id, followee_id)
    if changed:
        events.publish(
            FollowChanged(
                event_id=uuid.uuid4().hex,
                occurred_at=at,
                follower_id=follower_id,
                followee_id=followee_id,
                following=following,
            )
        )
    return following


def profile(username: str, viewer_id: int, users: UserRepository, follows: FollowRepository) -> Profile:
    user = users.get_by_username(username)
    if user is None:
        raise UserNotFoundError(f"no user is called {username!r}")
    relationship = Relationship()
    if user.user_id != viewer_id:
        relationship = Relationship(
            following=follows.is_following(viewer_id, user.user_id),
            followed_by=follows.is_following(user.user_id, viewer_id),
        )
    return Profile(
        user_id=str(user.user_id),
        username=user.username,
        display_name=user.display_name,
        bio=user.bio,
        follower_count=max(user.follower_count, 0),
        following_count=max(user.following_count, 0),
        post_count=max(user.post_count, 0),
        relationship=relationship,
    )
