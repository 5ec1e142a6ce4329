"""Accounts: signing up (a Cognito user plus its profile), signing in and out, and the TOTP second factor."""

from __future__ import annotations

from collections.abc import Callable

from aperture.adapters.cognito import IdentityProvider, Tokens, TotpSetup
from aperture.adapters.dynamo.users import UserRepository
from aperture.errors import ConflictError, UsernameTakenError
from aperture.models.api import SignupRequest, SignupResponse, TokenRequest, TotpAnswerRequest
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
    # Cognito owns username uniqueness, so it goes first. A sign-up that stopped after it (before the profile) is
    # resumed by a retry with the same username and password; anyone else finds the username taken. Nothing is
    # deleted on failure, so the public auth function needs no AdminDeleteUser.
    try:
        identity.create_user(request.username, request.password, request.email, user_id)
    except UsernameTakenError:
        user_id = identity.resume_sign_up(request.username, request.password)
    user = User(user_id=user_id, username=request.username, created_at=now_ms())
    # With its event, so search indexes the account if and only if the profile was written
    event = UserChanged(
        event_id=f"{user_id}:signed_up", occurred_at=user.created_at, user_id=user_id, username=user.username
    )
    try:
        users.create(user, request.email, event)
    except ConflictError as error:  # the profile exists: an account in use, whose owner signed up again
        raise UsernameTakenError(f"the username {request.username!r} is taken") from error
    return SignupResponse(user_id=str(user_id), username=request.username)


def sign_in(request: TokenRequest, identity: IdentityProvider) -> Tokens:
    return identity.authenticate(request.username, request.password)


def answer_totp(request: TotpAnswerRequest, identity: IdentityProvider) -> Tokens:
    return identity.answer_totp(request.username, request.session, request.code)


def sign_out(username: str, identity: IdentityProvider) -> None:
    """Every refresh token of the account stops working (on every device). IdTokens already handed out stay valid
    until they expire (at most an hour): API Gateway's JWT authorizer checks signatures, not a revocation list."""
    identity.sign_out(username)


def start_totp(username: str, access_token: str, identity: IdentityProvider) -> TotpSetup:
    return identity.start_totp(username, access_token)


def enable_totp(username: str, access_token: str, code: str, identity: IdentityProvider) -> None:
    identity.enable_totp(username, access_token, code)
