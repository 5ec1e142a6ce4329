"""Sign-up, sign-in, and the token check in front of every other route."""

from __future__ import annotations

import gzip
import json
import time
from importlib import resources
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from aperture import wiring
from aperture.adapters.aws import client
from aperture.settings import get_settings
from tests.faults import Broken, FailAfter, InjectedFaultError
from tests.support import PASSWORD, Api


def test_a_new_user_signs_up_and_signs_in(api: Api) -> None:
    # When someone signs up and signs in
    account = api.sign_up("alice")
    # Then their token opens their own profile
    me = api.call("GET", "/me", account)
    assert me.status_code == 200
    assert me.json["username"] == account.username
    assert me.json["user_id"] == account.user_id and account.user_id.isdigit()


def test_a_taken_username_is_a_conflict(api: Api) -> None:
    account = api.sign_up("bob")
    again = api.call(
        "POST",
        "/auth/signup",
        json={"username": account.username, "password": PASSWORD, "email": "other@example.com"},
    )
    assert again.status_code == 409
    assert again.json["error"]["code"] == "username_taken"


def test_a_malformed_username_is_refused_with_a_reason(api: Api) -> None:
    bad = api.call(
        "POST",
        "/auth/signup",
        json={"username": "No Spaces!", "password": PASSWORD, "email": "x@example.com"},
    )
    assert bad.status_code == 422
    assert "username" in bad.json["error"]["message"]


def test_a_wrong_password_gets_401(api: Api) -> None:
    account = api.sign_up("carol")
    wrong = api.call("POST", "/auth/token", json={"username": account.username, "password": "not-it-at-all"})
    assert wrong.status_code == 401
    assert wrong.json["error"]["code"] == "unauthorized"


def test_no_token_gets_401(api: Api) -> None:
    assert api.call("GET", "/me").status_code == 401
    assert api.call("GET", "/feed", headers={"Authorization": "Basic abc"}).status_code == 401


def test_a_tampered_token_gets_401(api: Api) -> None:
    # Given a real token whose payload is changed to claim another user
    account = api.sign_up("dave")
    header, payload, signature = account.token.split(".")
    import base64

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["custom:user_id"] = "1"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    # When it is presented
    response = api.call("GET", "/me", headers={"Authorization": f"Bearer {header}.{forged}.{signature}"})
    # Then the signature check refuses it
    assert response.status_code == 401


def test_an_expired_token_gets_401(api: Api) -> None:
    # Given a token signed by the pool's own key, but expired an hour ago
    account = api.sign_up("erin")
    settings = get_settings()
    key_file = resources.files("moto.cognitoidp") / "resources" / "jwks-private.json.gz"
    key = RSAKey.import_key(json.loads(gzip.decompress(key_file.read_bytes())))
    now = int(time.time())
    claims = {
        "iss": settings.issuer,
        "aud": settings.user_pool_client_id,
        "sub": "x",
        "token_use": "id",
        "iat": now - 7200,
        "exp": now - 3600,
        "custom:user_id": account.user_id,
        "cognito:username": account.username,
    }
    expired = jwt.encode({"alg": "RS256", "kid": "dummy"}, claims, key)
    # When it is presented
    response = api.call("GET", "/me", headers={"Authorization": f"Bearer {expired}"})
    # Then it is refused, while the same claims unexpired pass
    assert response.status_code == 401
    assert "expired" in response.json["error"]["message"].lower()
    fresh = jwt.encode({"alg": "RS256", "kid": "dummy"}, {**claims, "exp": now + 600, "iat": now}, key)
    assert api.call("GET", "/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{"username": "abc",', "application/json", 400, "invalid_json"),
        (b"\xff\xfe{}", "application/json", 400, "invalid_json"),
        (b'{"username": "abc"}', "text/plain", 415, "unsupported_media_type"),
        (b"username=abc&password=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        # multipart with no boundary: Powertools' own parser raised, a 500 before
        (b'{"username": "abc"}', "multipart/form-data", 415, "unsupported_media_type"),
        (b"--x\r\n\r\nabc\r\n--x--", "multipart/form-data; boundary=x", 415, "unsupported_media_type"),
        # nested a thousand deep: Python's parser raised RecursionError, a 500 before
        (b"[" * 1000 + b"]" * 1000, "application/json", 400, "invalid_json"),
        (b'{"a": ' * 40 + b"1" + b"}" * 40, "application/json", 400, "invalid_json"),
    ],
)
def test_a_body_that_is_not_json_is_refused_in_the_api_error_shape(
    api: Api, body: bytes, content_type: str, status: int, code: str
) -> None:
    response = api.call("POST", "/auth/signup", data=body, headers={"Content-Type": content_type})
    assert response.status_code == status
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]


def test_a_refresh_token_gets_new_tokens_that_open_the_api(api: Api) -> None:
    # Given someone signed in, holding a refresh token
    account = api.sign_up("refresher")
    signed_in = api.call("POST", "/auth/token", json={"username": account.username, "password": PASSWORD}).json
    # When they trade it for new tokens
    refreshed = api.call("POST", "/auth/refresh", json={"refresh_token": signed_in["refresh_token"]})
    # Then the new IdToken opens their own profile
    assert refreshed.status_code == 200, refreshed.get_data(as_text=True)
    assert set(refreshed.json) == {"id_token", "access_token", "expires_in"}
    me = api.call("GET", "/me", headers={"Authorization": f"Bearer {refreshed.json['id_token']}"})
    assert me.status_code == 200 and me.json["user_id"] == account.user_id


def test_a_refresh_token_revoked_by_a_global_sign_out_is_401(api: Api) -> None:
    # Given someone signed in, whose sessions are then all signed out at Cognito
    account = api.sign_up("revoked")
    signed_in = api.call("POST", "/auth/token", json={"username": account.username, "password": PASSWORD}).json
    client("cognito-idp").admin_user_global_sign_out(UserPoolId=get_settings().user_pool_id, Username=account.username)
    # When they try to refresh
    refused = api.call("POST", "/auth/refresh", json={"refresh_token": signed_in["refresh_token"]})
    # Then it is refused in the API's error shape
    assert refused.status_code == 401
    assert refused.json["error"] == {"code": "unauthorized", "message": "the refresh token is not valid; sign in again"}


def test_a_refresh_token_that_was_never_issued_is_401(api: Api) -> None:
    refused = api.call("POST", "/auth/refresh", json={"refresh_token": "not-a-refresh-token"})
    assert refused.status_code == 401
    assert refused.json["error"]["code"] == "unauthorized"


def test_media_types_are_case_insensitive(api: Api) -> None:
    # A client that sends APPLICATION/JSON; Charset=UTF-8 is sending JSON
    created = api.call(
        "POST",
        "/auth/signup",
        data=json.dumps({"username": "shouty_case", "password": PASSWORD, "email": "shouty@example.com"}),
        headers={"Content-Type": "APPLICATION/JSON; Charset=UTF-8"},
    )
    assert created.status_code == 201, created.get_data(as_text=True)


def test_brackets_inside_strings_are_not_nesting(api: Api) -> None:
    # A password full of brackets is text, however many there are
    password = "Aa1!" + "[{" * 40
    created = api.call(
        "POST", "/auth/signup", json={"username": "brackets_ok", "password": password, "email": "b@example.com"}
    )
    assert created.status_code == 201, created.get_data(as_text=True)


def _signup(api: Api, username: str, password: str = PASSWORD) -> Any:
    body = {"username": username, "password": password, "email": f"{username}@example.com"}
    return api.call("POST", "/auth/signup", json=body)


def test_a_weak_password_is_refused_before_the_username_is_used(api: Api) -> None:
    # When someone signs up with a password outside the pool's policy
    weak = _signup(api, "weakling_1", "alllowercase")
    # Then it is a 422 in Cognito's words, and the username is still free for a good password
    assert weak.status_code == 422
    assert "assword" in weak.json["error"]["message"]
    assert _signup(api, "weakling_1").status_code == 201


@pytest.mark.parametrize("fault", ["profile write", "cognito answer"])
def test_a_sign_up_that_stops_half_way_is_resumed_by_its_retry_and_taken_for_anyone_else(
    api: Api, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    # Given a sign-up that fails after Cognito has the user: its profile write fails, or Cognito's answer to the
    # user's creation is lost (so the password was never made permanent)
    username = f"halfway_{'p' if fault == 'profile write' else 'c'}"
    if fault == "profile write":
        users = wiring.users()
        monkeypatch.setattr(wiring, "users", lambda: Broken(users, "create", InjectedFaultError("dynamodb is down")))
    else:
        identity = wiring.identity()
        monkeypatch.setattr(identity, "_cognito", FailAfter(identity._cognito, "admin_create_user"))
    with pytest.raises(InjectedFaultError):  # (a 500 on AWS)
        _signup(api, username)
    monkeypatch.undo()
    # When someone else tries the username with another password, it is taken
    other = _signup(api, username, PASSWORD + "x")
    assert other.status_code == 409 and other.json["error"]["code"] == "username_taken"
    # And when the person retries with their password, the sign-up completes and they can sign in
    retried = _signup(api, username)
    assert retried.status_code == 201, retried.get_data(as_text=True)
    tokens = api.call("POST", "/auth/token", json={"username": username, "password": PASSWORD})
    assert tokens.status_code == 200
    me = api.call("GET", "/me", headers={"Authorization": f"Bearer {tokens.json['id_token']}"})
    assert me.json["user_id"] == retried.json["user_id"] and me.json["username"] == username
    # And a further sign-up with the same username and password is 409: the account is in use
    again = _signup(api, username)
    assert again.status_code == 409 and again.json["error"]["code"] == "username_taken"
