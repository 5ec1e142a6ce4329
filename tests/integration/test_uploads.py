"""POST /uploads hands out a presigned POST that pins what may be uploaded; GET shows progress."""

from __future__ import annotations

import base64
import json

import pytest

from tests.support import Api

MIB = 1024 * 1024


def _policy(fields: dict[str, str]) -> dict:
    return json.loads(base64.b64decode(fields["policy"]))


def test_the_presigned_post_pins_key_size_and_type(api: Api) -> None:
    # Given a signed-in user
    alice = api.sign_up("alice")
    # When she asks to upload a 2 MB JPEG
    created = api.call(
        "POST",
        "/uploads",
        alice,
        json={"content_type": "image/jpeg", "content_length": 2 * MIB, "caption": "sunset"},
    )
    # Then she gets a SigV4 POST whose policy allows only that key, 1..10 MiB, and that type
    assert created.status_code == 201
    body = created.json
    fields = body["fields"]
    assert fields["key"] == f"uploads/{alice.user_id}/{body['upload_id']}"
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    conditions = _policy(fields)["conditions"]
    assert ["content-length-range", 1, 10 * MIB] in conditions
    assert {"Content-Type": "image/jpeg"} in conditions
    assert {"key": fields["key"]} in conditions
    assert body["expires_at"].endswith("Z")
    # And the upload is pending, with the post id it will become
    status = api.call("GET", f"/uploads/{body['upload_id']}", alice).json
    assert status == {
        "upload_id": body["upload_id"],
        "kind": "post",
        "status": "pending",
        "reason": None,
        "target_id": body["target_id"],
        "item": None,
    }


def test_a_file_over_10_mib_is_413(api: Api) -> None:
    alice = api.sign_up("alice")
    response = api.call("POST", "/uploads", alice, json={"content_type": "image/jpeg", "content_length": 11 * MIB})
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"


def test_a_type_other_than_jpeg_png_heic_is_415(api: Api) -> None:
    alice = api.sign_up("alice")
    response = api.call("POST", "/uploads", alice, json={"content_type": "image/gif", "content_length": 1000})
    assert response.status_code == 415
    assert "JPEG" in response.json["error"]["message"]


def test_someone_elses_upload_is_403_and_an_unknown_one_404(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    created = api.call("POST", "/uploads", alice, json={"content_type": "image/png", "content_length": 10}).json
    assert api.call("GET", f"/uploads/{created['upload_id']}", bob).status_code == 403
    assert api.call("GET", "/uploads/999", alice).status_code == 404


def test_a_missing_field_is_422_with_the_field_named(api: Api) -> None:
    alice = api.sign_up("alice")
    response = api.call("POST", "/uploads", alice, json={"content_length": 10})
    assert response.status_code == 422
    assert "content_type" in response.json["error"]["message"]


@pytest.mark.parametrize("length", [True, "5000", 5000.0])
def test_a_size_that_is_not_an_integer_is_422_and_grants_nothing(api: Api, length: object) -> None:
    # A boolean, a string of digits or a float is not the integer the contract declares: no coercion
    alice = api.sign_up("strict")
    response = api.call("POST", "/uploads", alice, json={"content_type": "image/jpeg", "content_length": length})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "content_length" in response.json["error"]["message"]


@pytest.mark.parametrize(("field", "value"), [("highlights_enabled", "true"), ("highlights_enabled", 1), ("bio", 5)])
def test_a_profile_setting_of_the_wrong_type_is_422_and_changes_nothing(api: Api, field: str, value: object) -> None:
    bob = api.sign_up("strictbob")
    response = api.call("PATCH", "/me", bob, json={field: value})
    assert response.status_code == 422, response.get_data(as_text=True)
    me = api.call("GET", "/me", bob).json
    assert me["highlights_enabled"] in (False, None) and me["bio"] == ""
