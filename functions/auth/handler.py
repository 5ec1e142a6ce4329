"""POST /auth/signup, /auth/token(/totp), /auth/refresh, /auth/signout and /me/mfa/totp: accounts over Cognito."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import accounts, wiring
from aperture.adapters.cognito import USER_ID_CLAIM, Tokens, unverified_claims
from aperture.api import COMMON_RESPONSES, RATE_LIMITED, caller, make_resolver, source_address
from aperture.clock import now_ms
from aperture.ids import new_id
from aperture.models.api import (
    RefreshRequest,
    RefreshResponse,
    SignupRequest,
    SignupResponse,
    TokenRequest,
    TokenResponse,
    TotpAnswerRequest,
    TotpStartRequest,
    TotpStartResponse,
    TotpVerifyRequest,
    TotpVerifyResponse,
)
from aperture.observability import observed

router = Router()


def _of_an_active_account(tokens: Tokens) -> Tokens:
    """New tokens, unless the account is suspended or being erased (401 account_disabled): they would be refused on
    every request anyway, and the client is told why instead of being signed in to nothing."""
    wiring.standing_from_table().require_active(int(unverified_claims(tokens.id_token)[USER_ID_CLAIM]))
    return tokens


def _token_response(tokens: Tokens) -> TokenResponse:
    return TokenResponse(
        id_token=tokens.id_token,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )


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
    responses={
        401: {
            "description": "Wrong username or password; or code mfa_required with a session: the account has TOTP, "
            "answer at POST /auth/token/totp; or account_disabled: the account is suspended or being erased"
        },
        503: COMMON_RESPONSES[503],
    },
)
def token(body: TokenRequest) -> TokenResponse:
    return _token_response(_of_an_active_account(accounts.sign_in(body, wiring.identity())))


@router.post(
    "/auth/token/totp",
    summary="Finish signing in with the authenticator app's code",
    tags=["auth"],
    responses={
        401: {"description": "Wrong code, or the session expired; or account_disabled (suspended or being erased)"},
        422: COMMON_RESPONSES[422],
        503: COMMON_RESPONSES[503],
    },
)
def token_totp(body: TotpAnswerRequest) -> TokenResponse:
    return _token_response(_of_an_active_account(accounts.answer_totp(body, wiring.identity())))


@router.post(
    "/auth/refresh",
    summary="New tokens for a refresh token",
    tags=["auth"],
    responses={
        401: {
            "description": "The refresh token is not valid (expired, revoked or unknown); or account_disabled: the "
            "account is suspended or being erased"
        },
        503: COMMON_RESPONSES[503],
    },
)
def refresh(body: RefreshRequest) -> RefreshResponse:
    tokens = _of_an_active_account(wiring.identity().refresh(body.refresh_token))
    return RefreshResponse(id_token=tokens.id_token, access_token=tokens.access_token, expires_in=tokens.expires_in)


@router.post(
    "/auth/signout",
    summary="Sign out everywhere: the caller's refresh tokens stop working",
    tags=["auth"],
    status_code=204,
    responses={204: {"description": "Signed out (also when already signed out)"}, **COMMON_RESPONSES},
)
def sign_out() -> Response[str]:
    accounts.sign_out(caller(router).username, wiring.identity())
    return Response(status_code=204, body="")


@router.post(
    "/me/mfa/totp",
    summary="Start adding an authenticator app: its secret and otpauth URI",
    tags=["auth"],
    responses={
        **COMMON_RESPONSES,
        403: {"description": "The access token is another account's"},
        422: {"description": "The access token is not valid"},
    },
)
def start_totp(body: TotpStartRequest) -> TotpStartResponse:
    setup = accounts.start_totp(caller(router).username, body.access_token, wiring.identity())
    return TotpStartResponse(secret=setup.secret, otpauth_uri=setup.otpauth_uri)


@router.post(
    "/me/mfa/totp/verify",
    summary="Turn on TOTP sign-in with a code from the authenticator app",
    tags=["auth"],
    responses={
        **COMMON_RESPONSES,
        403: {"description": "The access token is another account's"},
        422: {"description": "The code does not match, or the access token is not valid"},
    },
)
def verify_totp(body: TotpVerifyRequest) -> TotpVerifyResponse:
    accounts.enable_totp(caller(router).username, body.access_token, body.code, wiring.identity())
    return TotpVerifyResponse(mfa_enabled=True)


app = make_resolver(router, standing=wiring.standing_from_table)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
