"""The Cognito adapter's refusals, through botocore's Stubber with Cognito's own error codes."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber

from aperture.adapters.cognito import IdentityProvider
from aperture.errors import UnauthorizedError


@pytest.fixture
def cognito() -> Iterator[tuple[IdentityProvider, Stubber]]:
    client = boto3.client("cognito-idp", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield IdentityProvider(client, "us-east-1_pool", "client"), stubber
        stubber.assert_no_pending_responses()


def test_an_unknown_refresh_token_is_unauthorized(cognito: tuple[IdentityProvider, Stubber]) -> None:
    # Cognito answers a refresh token it never issued (or one that expired) with NotAuthorizedException
    identity, stubber = cognito
    stubber.add_client_error(
        "admin_initiate_auth",
        service_error_code="NotAuthorizedException",
        service_message="Invalid Refresh Token",
        http_status_code=400,
        expected_params={
            "UserPoolId": "us-east-1_pool",
            "ClientId": "client",
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "AuthParameters": {"REFRESH_TOKEN": "unknown"},
        },
    )
    with pytest.raises(UnauthorizedError, match="sign in again"):
        identity.refresh("unknown")


def test_a_refresh_returns_new_tokens_without_a_refresh_token(cognito: tuple[IdentityProvider, Stubber]) -> None:
    identity, stubber = cognito
    result = {"IdToken": "id", "AccessToken": "access", "ExpiresIn": 3600, "TokenType": "Bearer"}
    stubber.add_response("admin_initiate_auth", {"AuthenticationResult": result})
    tokens = identity.refresh("known")
    assert (tokens.id_token, tokens.access_token, tokens.expires_in, tokens.refresh_token) == ("id", "access", 3600, "")
