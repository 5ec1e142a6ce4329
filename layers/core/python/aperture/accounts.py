"""Accounts: signing up (a Cognito user plus its profile) and signing in."""

from __future__ import annotations

from collections.abc import Callable

from aperture.adapters.cognito import IdentityProvider, Tokens
from aperture.adapters.dynamo.users import UserRepository
from aperture.models.api import SignupRequest, SignupResponse, TokenRequest
from aperture.models.events import UserChanged
from aperture.models.records import User


def sign_up(
    request: SignupRequest,
    identity: IdentityProvider,
    users: UserRepository,
    new_id: Callable[[], int],
    now_ms: Callable[[], int],
) -> SignupResponse:
    user_id = new_id()
    # Cognito owns username uniqueness, so it goes first; the profile follows, or the user is undone.
    identity.create_user(request.username, request.password, request.email, user_id)
    try:
        user = User(user_id=user_id, username=request.username, created_at=now_ms())
        # With its event, so search indexes the account if and only if the profile was written
        event = UserChanged(
            event_id=f"{user_id}:signed_up", occurred_at=user.created_at, user_id=user_id, username=user.username
        )
        users.create(user, request.email, event)
    except Exception:
        identity.delete_user(request.username)
        raise
    return SignupResponse(user_id=str(user_id), username=request.username)


def sign_in(request: TokenRequest, identity: IdentityProvider) -> Tokens:
    return identity.authenticate(request.username, request.password)
