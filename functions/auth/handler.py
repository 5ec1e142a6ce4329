"""POST /auth/signup, /auth/token and /auth/refresh: accounts over Cognito."""

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import accounts, wiring
from aperture.api import COMMON_RESPONSES, RATE_LIMITED, make_resolver, source_address
from aperture.clock import now_ms
from aperture.ids import new_id
from aperture.models.api import (
    RefreshRequest,
    RefreshResponse,
    SignupRequest,
    SignupResponse,
    TokenRequest,
    TokenResponse,
)
from aperture.observability import logger

router = Router()


@router.post(
    "/auth/signup",
    summary="Create an account",
    tags=["auth"],
    status_code=201,
    responses={409: {"description": "The username is taken"}, **RATE_LIMITED, 503: COMMON_RESPONSES[503]},
)
def sign_up(body: SignupRequest) -> SignupResponse:
    # Per source address, before Cognito hears of it (a refused sign-up creates no user)
    wiring.signup_limiter().take(source_address(router), "signups")
    return accounts.sign_up(body, wiring.identity(), wiring.users(), new_id, now_ms)


@router.post(
    "/auth/token",
    summary="Sign in and get tokens",
    tags=["auth"],
    responses={401: {"description": "Wrong username or password"}, 503: COMMON_RESPONSES[503]},
)
def token(body: TokenRequest) -> TokenResponse:
    tokens = accounts.sign_in(body, wiring.identity())
    return TokenResponse(
        id_token=tokens.id_token,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )


@router.post(
    "/auth/refresh",
    summary="New tokens for a refresh token",
    tags=["auth"],
    responses={
        401: {"description": "The refresh token is not valid (expired, revoked or unknown)"},
        503: COMMON_RESPONSES[503],
    },
)
def refresh(body: RefreshRequest) -> RefreshResponse:
    tokens = wiring.identity().refresh(body.refresh_token)
    return RefreshResponse(id_token=tokens.id_token, access_token=tokens.access_token, expires_in=tokens.expires_in)


app = make_resolver(router)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
