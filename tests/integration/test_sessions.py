"""Sessions through the HTTP API: sign-out everywhere, the confidential client, and the TOTP second factor."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from aperture import wiring
from aperture.adapters.aws import client
from aperture.adapters.cognito import REFRESH_TOKEN_PREFIX
from aperture.settings import get_settings
from local.seeding import Account
from tests.faults import Broken, FailAfter, InjectedFaultError
from tests.support import PASSWORD, Api, totp_code


def _sign_in(api: Api, account: Account) -> dict[str, Any]:
    response = api.call("POST", "/auth/token", json={"username": account.username, "password": PASSWORD})
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.json)


def _bearer(id_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {id_token}"}


def test_signing_out_makes_every_refresh_token_of_the_account_401(api: Api) -> None:
    # Given someone signed in on two devices
    account = api.sign_up("leaver")
    phone, laptop = _sign_in(api, account), _sign_in(api, account)
    assert api.call("POST", "/auth/refresh", json={"refresh_token": laptop["refresh_token"]}).status_code == 200
    # When they sign out on the phone
    signed_out = api.call("POST", "/auth/signout", headers=_bearer(phone["id_token"]))
    # Then it answers 204, and neither device's refresh token works any more
    assert signed_out.status_code == 204, signed_out.get_data(as_text=True)
    for device in (phone, laptop):
        refused = api.call("POST", "/auth/refresh", json={"refresh_token": device["refresh_token"]})
        assert refused.status_code == 401
        assert refused.json["error"]["code"] == "unauthorized"
    # And signing in again gives a refresh token that works
    again = _sign_in(api, account)
    assert api.call("POST", "/auth/refresh", json={"refresh_token": again["refresh_token"]}).status_code == 200


def test_signing_out_twice_is_still_204(api: Api) -> None:
    account = api.sign_up("twice")
    tokens = _sign_in(api, account)
    assert api.call("POST", "/auth/signout", headers=_bearer(tokens["id_token"])).status_code == 204
    assert api.call("POST", "/auth/signout", headers=_bearer(tokens["id_token"])).status_code == 204


def test_signing_out_needs_a_token_and_touches_only_the_callers_sessions(api: Api) -> None:
    # Given two people signed in
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    bobs = _sign_in(api, bob)
    # When a request without a token asks to sign out, and then Alice signs out
    assert api.call("POST", "/auth/signout").status_code == 401
    assert api.call("POST", "/auth/signout", alice).status_code == 204
    # Then Bob's refresh token still works
    assert api.call("POST", "/auth/refresh", json={"refresh_token": bobs["refresh_token"]}).status_code == 200


@pytest.mark.parametrize(
    "token",
    [
        "not-ours",
        REFRESH_TOKEN_PREFIX + "!!!",
        REFRESH_TOKEN_PREFIX + base64.urlsafe_b64encode(b'{"u": 1}').decode(),
        REFRESH_TOKEN_PREFIX + base64.urlsafe_b64encode(b'{"u": "x", "r": "made-up"}').decode(),
    ],
)
def test_a_refresh_token_the_api_never_issued_is_401(api: Api, token: str) -> None:
    refused = api.call("POST", "/auth/refresh", json={"refresh_token": token})
    assert refused.status_code == 401
    assert refused.json["error"]["code"] == "unauthorized"


def test_a_refresh_token_moved_to_another_username_is_401(api: Api) -> None:
    # Given Mallory's own refresh token, rewritten to name Alice (the SECRET_HASH is then computed for Alice)
    alice, mallory = api.sign_up("alice"), api.sign_up("mallory")
    token = _sign_in(api, mallory)["refresh_token"]
    body = token.removeprefix(REFRESH_TOKEN_PREFIX)
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    moved = REFRESH_TOKEN_PREFIX + base64.urlsafe_b64encode(
        json.dumps({**payload, "u": alice.username}).encode()
    ).decode().rstrip("=")
    # When it is traded
    response = api.call("POST", "/auth/refresh", json={"refresh_token": moved})
    # Then Cognito refuses the hash (its refresh token is Mallory's), so nobody gets tokens
    assert response.status_code == 401


def test_the_app_client_is_confidential_and_refuses_direct_password_sign_in(api: Api) -> None:
    # Given an account, and the client id every app knows (it is in the web app's config.json)
    account = api.sign_up("direct")
    settings = get_settings()
    cognito = client("cognito-idp")
    described = cognito.describe_user_pool_client(
        UserPoolId=settings.user_pool_id, ClientId=settings.user_pool_client_id
    )["UserPoolClient"]
    # Then the client has a secret and allows no USER_PASSWORD_AUTH
    assert described["ClientSecret"]
    assert "ALLOW_USER_PASSWORD_AUTH" not in described["ExplicitAuthFlows"]
    # And a password sent to Cognito directly with only the client id (as a guessing script would) is refused
    with pytest.raises(ClientError) as refused:
        cognito.initiate_auth(
            ClientId=settings.user_pool_client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": account.username, "PASSWORD": PASSWORD},
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "not enabled" in refused.value.response["Error"]["Message"]
    # And even the flow the auth function uses fails without the secret's hash
    with pytest.raises(ClientError) as unhashed:
        cognito.admin_initiate_auth(
            UserPoolId=settings.user_pool_id,
            ClientId=settings.user_pool_client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": account.username, "PASSWORD": PASSWORD},
        )
    assert unhashed.value.response["Error"]["Code"] == "NotAuthorizedException"


def _enable_totp(api: Api, account: Account) -> str:
    tokens = _sign_in(api, account)
    started = api.call("POST", "/me/mfa/totp", account, json={"access_token": tokens["access_token"]})
    assert started.status_code == 200, started.get_data(as_text=True)
    secret = started.json["secret"]
    assert started.json["otpauth_uri"].startswith("otpauth://totp/Aperture%3A")
    assert f"secret={secret}" in started.json["otpauth_uri"]
    verified = api.call(
        "POST", "/me/mfa/totp/verify", account, json={"access_token": tokens["access_token"], "code": totp_code(secret)}
    )
    assert verified.status_code == 200, verified.get_data(as_text=True)
    assert verified.json == {"mfa_enabled": True}
    return str(secret)


def test_with_totp_on_sign_in_asks_for_the_code_and_then_gives_tokens(api: Api) -> None:
    # Given an account that turned on TOTP with its authenticator app
    account = api.sign_up("twofactor")
    secret = _enable_totp(api, account)
    # When they sign in with their password
    first = api.call("POST", "/auth/token", json={"username": account.username, "password": PASSWORD})
    # Then the API asks for the code, with a session to answer it in
    assert first.status_code == 401
    assert first.json["error"]["code"] == "mfa_required"
    session = first.json["error"]["session"]
    # And the code from the app finishes the sign-in with tokens that open the API and refresh
    answered = api.call(
        "POST",
        "/auth/token/totp",
        json={"username": account.username, "session": session, "code": totp_code(secret)},
    )
    assert answered.status_code == 200, answered.get_data(as_text=True)
    assert api.call("GET", "/me", headers=_bearer(answered.json["id_token"])).json["user_id"] == account.user_id
    refreshed = api.call("POST", "/auth/refresh", json={"refresh_token": answered.json["refresh_token"]})
    assert refreshed.status_code == 200


def test_a_wrong_totp_code_is_refused_at_sign_in_and_at_set_up(api: Api) -> None:
    account = api.sign_up("wrongcode")
    secret = _enable_totp(api, account)
    wrong = "000000" if totp_code(secret) != "000000" else "111111"
    session = api.call("POST", "/auth/token", json={"username": account.username, "password": PASSWORD}).json["error"][
        "session"
    ]
    refused = api.call(
        "POST", "/auth/token/totp", json={"username": account.username, "session": session, "code": wrong}
    )
    assert refused.status_code == 401
    assert "id_token" not in refused.json
    # And a code that is not six digits is a 422 before Cognito is asked
    malformed = api.call(
        "POST", "/auth/token/totp", json={"username": account.username, "session": session, "code": "12ab"}
    )
    assert malformed.status_code == 422


def test_totp_set_up_refuses_someone_elses_access_token(api: Api) -> None:
    # Given Alice's access token in Mallory's hands
    alice, mallory = api.sign_up("alice"), api.sign_up("mallory")
    alices = _sign_in(api, alice)
    # When Mallory (signed in as herself) sends it to start or verify an authenticator
    started = api.call("POST", "/me/mfa/totp", mallory, json={"access_token": alices["access_token"]})
    verified = api.call(
        "POST", "/me/mfa/totp/verify", mallory, json={"access_token": alices["access_token"], "code": "123456"}
    )
    # Then both are refused, and Alice still signs in with her password alone
    assert started.status_code == 403 and verified.status_code == 403
    assert "id_token" in _sign_in(api, alice)


def test_totp_set_up_with_a_revoked_access_token_is_422(api: Api) -> None:
    # Given an access token from before a sign-out (Cognito revokes access tokens with the refresh tokens)
    account = api.sign_up("revokedat")
    tokens = _sign_in(api, account)
    assert api.call("POST", "/auth/signout", account).status_code == 204
    # When it is sent to start an authenticator, it is a bad field, not a bad session
    started = api.call("POST", "/me/mfa/totp", account, json={"access_token": tokens["access_token"]})
    assert started.status_code == 422
    assert "access token" in started.json["error"]["message"]


def test_a_wrong_code_does_not_turn_totp_on(api: Api) -> None:
    account = api.sign_up("notyet")
    tokens = _sign_in(api, account)
    secret = api.call("POST", "/me/mfa/totp", account, json={"access_token": tokens["access_token"]}).json["secret"]
    wrong = "000000" if totp_code(secret) != "000000" else "111111"
    refused = api.call(
        "POST", "/me/mfa/totp/verify", account, json={"access_token": tokens["access_token"], "code": wrong}
    )
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "invalid_input"
    # And sign-in still needs only the password
    assert "id_token" in _sign_in(api, account)


@pytest.mark.parametrize("fault", ["before", "after"])
def test_a_sign_out_that_fails_part_way_signs_out_once_retried(
    api: Api, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    # Given someone signed in, and Cognito failing the global sign-out before (down) or after (lost answer) its work
    account = api.sign_up("faulted")
    tokens = _sign_in(api, account)
    identity = wiring.identity()
    cognito = identity._cognito
    wrapped = (
        Broken(cognito, "admin_user_global_sign_out", InjectedFaultError("cognito is down"))
        if fault == "before"
        else FailAfter(cognito, "admin_user_global_sign_out")
    )
    monkeypatch.setattr(identity, "_cognito", wrapped)
    # When the sign-out fails (a 500 on AWS), and the client retries it
    with pytest.raises(InjectedFaultError):
        api.call("POST", "/auth/signout", account)
    retried = api.call("POST", "/auth/signout", account)
    # Then the retry answers 204 and the refresh token is refused: nothing half-done is left
    assert retried.status_code == 204
    assert api.call("POST", "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/auth/token/totp", {"session": "s" * 30, "code": "123456"}, 401),  # a session Cognito never opened
        ("/auth/token/totp", {"session": "short", "code": "123456"}, 422),
        ("/me/mfa/totp", {"access_token": "not-a-token"}, 422),
        ("/me/mfa/totp", {"access_token": "spaces are not allowed"}, 422),
        ("/me/mfa/totp/verify", {"access_token": "x.y.z", "code": "123456"}, 422),
    ],
)
def test_bad_sessions_and_access_tokens_are_4xx_in_the_error_shape(
    api: Api, path: str, body: dict[str, str], status: int
) -> None:
    account = api.sign_up("badinput")
    if path == "/auth/token/totp":
        body = {"username": account.username, **body}
    response = api.call("POST", path, account, json=body)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.json["error"]["code"] and response.json["error"]["message"]
