"""Retries by clients (API.md): the same Idempotency-Key answers as the first time and creates nothing new."""

from __future__ import annotations

import uuid

import pytest

from aperture import wiring
from aperture.clock import now
from aperture.settings import get_settings
from aperture.uploads import UploadGrants
from local.pump import EventPump
from local.seeding import Account, publish_post
from tests.faults import FailAfter, InjectedFaultError
from tests.support import Api

UPLOAD = {"kind": "post", "content_type": "image/jpeg", "content_length": 1000, "caption": "hi"}


def _comment(api: Api, post: str, who: Account, text: str, key: str | None) -> tuple[int, dict]:
    headers = {"Idempotency-Key": key} if key else {}
    response = api.call("POST", f"/posts/{post}/comments", who, json={"text": text}, headers=headers)
    return response.status_code, response.json


def _comments(api: Api, post: str, viewer: Account) -> list[str]:
    return [c["text"] for c in api.call("GET", f"/posts/{post}/comments", viewer).json["items"]]


def _inbox(api: Api, who: Account) -> list[str]:
    return [n["type"] for n in api.call("GET", "/notifications", who).json["items"]]


def test_a_comment_sent_twice_with_one_key_is_written_once_and_answered_the_same(api: Api, pump: EventPump) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    key = uuid.uuid4().hex
    first = _comment(api, post, bob, "lovely", key)
    again = _comment(api, post, bob, "lovely", key)
    assert first[0] == again[0] == 201
    assert first[1] == again[1]
    pump.drain()
    assert _comments(api, post, alice) == ["lovely"]
    assert api.call("GET", f"/posts/{post}", alice).json["comment_count"] == 1
    assert _inbox(api, alice) == ["comment"]


def test_without_a_key_or_with_new_keys_each_comment_is_its_own(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    _comment(api, post, bob, "one", None)
    _comment(api, post, bob, "one", None)
    _comment(api, post, bob, "one", uuid.uuid4().hex)
    assert _comments(api, post, alice) == ["one", "one", "one"]


def test_the_same_key_with_another_text_is_422_and_writes_nothing(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    key = uuid.uuid4().hex
    assert _comment(api, post, bob, "first", key)[0] == 201
    status, body = _comment(api, post, bob, "second", key)
    assert (status, body["error"]["code"]) == (422, "idempotency_key_reused")
    assert _comments(api, post, alice) == ["first"]


def test_keys_belong_to_their_sender(api: Api) -> None:
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    post = publish_post(alice)
    key = uuid.uuid4().hex
    assert _comment(api, post, bob, "same words", key)[0] == 201
    assert _comment(api, post, carol, "same words", key)[0] == 201
    assert _comments(api, post, alice) == ["same words", "same words"]


@pytest.mark.parametrize("key", ["", "x" * 65, "tab\tinside", "é"])
def test_a_key_that_is_not_1_to_64_printable_characters_is_422_and_writes_nothing(api: Api, key: str) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    headers = {"Idempotency-Key": key}
    response = api.call("POST", f"/posts/{post}/comments", bob, json={"text": "hello"}, headers=headers)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "invalid_request"
    assert _comments(api, post, alice) == []


def test_a_comment_whose_request_dies_after_the_write_is_not_written_again_by_the_retry(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    comments = wiring.comments()
    monkeypatch.setattr(comments, "_repo", FailAfter(comments._repo, "add"))
    key = uuid.uuid4().hex
    with pytest.raises(InjectedFaultError):  # the write is committed, the answer never sent (a 500 on AWS)
        _comment(api, post, bob, "lovely", key)
    status, body = _comment(api, post, bob, "lovely", key)
    assert (status, body["text"], body["author"]["username"]) == (201, "lovely", bob.username)
    pump.drain()
    assert _comments(api, post, alice) == ["lovely"]
    assert api.call("GET", f"/posts/{post}", alice).json["comment_count"] == 1
    assert _inbox(api, alice) == ["comment"]


def test_an_upload_sent_twice_with_one_key_grants_the_same_upload(api: Api) -> None:
    alice = api.sign_up("alice")
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    first = api.call("POST", "/uploads", alice, json=UPLOAD, headers=headers)
    again = api.call("POST", "/uploads", alice, json=UPLOAD, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json == again.json
    other = api.call("POST", "/uploads", alice, json={**UPLOAD, "caption": "changed"}, headers=headers)
    assert (other.status_code, other.json["error"]["code"]) == (422, "idempotency_key_reused")


def test_an_upload_whose_request_dies_after_the_write_is_granted_again_for_the_same_upload(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = api.sign_up("alice")
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    failing = FailAfter(wiring.upload_repository(), "create")
    grants = UploadGrants(failing, wiring.users(), wiring.media_store(), now, get_settings())
    monkeypatch.setattr(wiring, "uploads", lambda: grants)
    with pytest.raises(InjectedFaultError):
        api.call("POST", "/uploads", alice, json=UPLOAD, headers=headers)
    again = api.call("POST", "/uploads", alice, json=UPLOAD, headers=headers)
    assert again.status_code == 201, again.json
    (first,), (retried,) = failing.arguments  # the retry wrote the same upload: nothing new
    assert first.upload_id == retried.upload_id == int(again.json["upload_id"])
    status = api.call("GET", f"/uploads/{again.json['upload_id']}", alice).json
    assert (status["status"], status["target_id"]) == ("pending", again.json["target_id"])
