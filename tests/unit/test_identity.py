"""The Cognito adapter's requests and refusals, through botocore's Stubber with Cognito's own error codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator

import boto3
import jwt
import pytest
from botocore.stub import Stubber

from aperture.adapters.cognito import IdentityProvider, secret_hash, unwrap_refresh_token, wrap_refresh_token
from aperture.errors import MfaRequiredError, UnauthorizedError, UsernameTakenError

SECRET = "the-client-secret-of-the-app-client"
DESCRIBED = {"UserPoolClient": {"ClientId": "client", "UserPoolId": "us-east-1_pool", "ClientSecret": SECRET}}


@pytest.fixture
def cognito() -> Iterator[tuple[IdentityProvider, Stubber]]:
    client = boto3.client("cognito-idp", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield IdentityProvider(client, "us-east-1_pool", "client"), stubber
        stubber.assert_no_pending_responses()


def _hash(username: str) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), f"{username}client".encode(), hashlib.sha256).digest()).decode()


def test_the_secret_hash_is_the_one_cognito_checks() -> None:
    # moto's own check (an implementation independent of ours) of Base64(HMAC_SHA256(secret, username + client id))
    from moto.cognitoidp.utils import check_secret_hash

    assert check_secret_hash(SECRET, "client", "alice", secret_hash(SECRET, "client", "alice"))
    assert not check_secret_hash(SECRET, "client", "bob", secret_hash(SECRET, "client", "alice"))


def test_the_api_refresh_token_round_trips_username_and_cognitos_token() -> None:
    wrapped = wrap_refresh_token("alice", "cognito.refresh.token")
    assert "cognito.refresh.token" not in wrapped  # opaque to clients, as API.md has it
    assert unwrap_refresh_token(wrapped) == ("alice", "cognito.refresh.token")


def test_an_unknown_refresh_token_is_unauthorized(cognito: tuple[IdentityProvider, Stubber]) -> None:
    # Cognito answers a refresh token it never issued (or one that expired) with NotAuthorizedException
    identity, stubber = cognito
    stubber.add_response("describe_user_pool_client", DESCRIBED)
    stubber.add_client_error(
        "admin_initiate_auth",
        service_error_code="NotAuthorizedException",
        service_message="Invalid Refresh Token",
        http_status_code=400,
        expected_params={
            "UserPoolId": "us-east-1_pool",
            "ClientId": "client",
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "AuthParameters": {"REFRESH_TOKEN": "unknown", "SECRET_HASH": _hash("alice")},
        },
    )
    with pytest.raises(UnauthorizedError, match="sign in again"):
        identity.refresh(wrap_refresh_token("alice", "unknown"))


def test_a_refresh_returns_new_tokens_without_a_refresh_token(cognito: tuple[IdentityProvider, Stubber]) -> None:
    identity, stubber = cognito
    stubber.add_response("describe_user_pool_client", DESCRIBED)
    result = {"IdToken": "id", "AccessToken": "access", "ExpiresIn": 3600, "TokenType": "Bearer"}
    stubber.add_response("admin_initiate_auth", {"AuthenticationResult": result})
    tokens = identity.refresh(wrap_refresh_token("alice", "known"))
    assert (tokens.id_token, tokens.access_token, tokens.expires_in, tokens.refresh_token) == ("id", "access", 3600, "")


def test_the_client_secret_is_read_once_per_process(cognito: tuple[IdentityProvider, Stubber]) -> None:
    # Given one DescribeUserPoolClient answer and three refreshes: a second describe would find no stubbed answer
    identity, stubber = cognito
    stubber.add_response("describe_user_pool_client", DESCRIBED)
    result = {"IdToken": "id", "AccessToken": "access", "ExpiresIn": 3600, "TokenType": "Bearer"}
    for _ in range(3):
        stubber.add_response("admin_initiate_auth", {"AuthenticationResult": result})
    for _ in range(3):
        identity.refresh(wrap_refresh_token("alice", "known"))


def test_sign_in_sends_the_hash_and_wraps_the_refresh_token(cognito: tuple[IdentityProvider, Stubber]) -> None:
    identity, stubber = cognito
    stubber.add_response("describe_user_pool_client", DESCRIBED)
    id_token = jwt.encode({"cognito:username": "alice"}, "k" * 32, algorithm="HS256")
    result = {"IdToken": id_token, "AccessToken": "a", "RefreshToken": "r", "ExpiresIn": 3600, "TokenType": "Bearer"}
    stubber.add_response(
        "admin_initiate_auth",
        {"AuthenticationResult": result},
        {
            "UserPoolId": "us-east-1_pool",
            "ClientId": "client",
            "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": "Alice", "PASSWORD": "pw", "SECRET_HASH": _hash("Alice")},
        },
    )
    tokens = identity.authenticate("Alice", "pw")
    # The refresh token is bound to Cognito's own (canonical) username, from the IdToken
    assert unwrap_refresh_token(tokens.refresh_token) == ("alice", "r")


def test_a_totp_challenge_is_mfa_required_with_its_session(cognito: tuple[IdentityProvider, Stubber]) -> None:
    identity, stubber = cognito
    stubber.add_response("describe_user_pool_client", DESCRIBED)
    stubber.add_response(
        "admin_initiate_auth", {"ChallengeName": "SOFTWARE_TOKEN_MFA", "Session": "s" * 20, "ChallengeParameters": {}}
    )
    with pytest.raises(MfaRequiredError) as raised:
        identity.authenticate("alice", "pw")
    assert raised.value.session == "s" * 20
    assert raised.value.status == 401


def test_signing_out_a_user_who_is_gone_is_done(cognito: tuple[IdentityProvider, Stubber]) -> None:
    identity, stubber = cognito
    stubber.add_client_error(
        "admin_user_global_sign_out", service_error_code="UserNotFoundException", http_status_code=400
    )
    identity.sign_out("erased")


def test_sign_up_makes_the_password_permanent_by_answering_the_challenge_with_its_hash(
    cognito: tuple[IdentityProvider, Stubber],
) -> None:
    # moto checks no SECRET_HASH on NEW_PASSWORD_REQUIRED; Cognito does, so the request itself is checked here
    identity, stubber = cognito
    stubber.add_response(
        "admin_create_user",
        {"User": {"Username": "alice"}},
        {
            "UserPoolId": "us-east-1_pool",
            "Username": "alice",
            "TemporaryPassword": "Pass-word-1",
            "UserAttributes": [{"Name": "email", "Value": "a@example.com"}, {"Name": "custom:user_id", "Value": "7"}],
            "MessageAction": "SUPPRESS",
        },
    )
    stubber.add_response("describe_user_pool_client", DESCRIBED)
    stubber.add_response(
        "admin_initiate_auth",
        {"ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": "s" * 20, "ChallengeParameters": {}},
    )
    id_token = jwt.encode({"cognito:username": "alice", "custom:user_id": "7"}, "k" * 32, algorithm="HS256")
    result = {"IdToken": id_token, "AccessToken": "a", "RefreshToken": "r", "ExpiresIn": 3600, "TokenType": "Bearer"}
    stubber.add_response(
        "admin_respond_to_auth_challenge",
        {"AuthenticationResult": result},
        {
            "UserPoolId": "us-east-1_pool",
            "ClientId": "client",
            "ChallengeName": "NEW_PASSWORD_REQUIRED",
            "Session": "s" * 20,
            "ChallengeResponses": {"USERNAME": "alice", "NEW_PASSWORD": "Pass-word-1", "SECRET_HASH": _hash("alice")},
        },
    )
    identity.create_user("alice", "Pass-word-1", "a@example.com", 7)


def test_resuming_a_sign_up_with_another_password_finds_the_username_taken(
    cognito: tuple[IdentityProvider, Stubber],
) -> None:
    identity, stubber = cognito
    stubber.add_response("describe_user_pool_client", DESCRIBED)
    stubber.add_client_error("admin_initiate_auth", service_error_code="NotAuthorizedException", http_status_code=400)
    with pytest.raises(UsernameTakenError):
        identity.resume_sign_up("alice", "not-theirs")
