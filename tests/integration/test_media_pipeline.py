"""The media pipeline under real uploads: lying clients, mislabelled files, failures, and moderation."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PIL import Image

from aperture import wiring
from aperture.adapters.aws import client
from aperture.media.moderation import Verdict
from aperture.media.pipeline import process_upload
from aperture.settings import get_settings
from local.pump import EventPump
from tests import media_files
from tests.support import PASSWORD, Account, Api, upload_photo, upload_to_s3

MIB = 1024 * 1024


def _status(api: Api, account: Account, grant: dict) -> dict:
    return api.call("GET", f"/uploads/{grant['upload_id']}", account).json


def _raw_exists(key: str) -> bool:
    return wiring.media_store().size(key) is not None


def test_a_png_declared_as_jpeg_is_handled_as_png(api: Api, pump: EventPump) -> None:
    alice = api.sign_up("alice")
    grant = upload_photo(api, alice, media_files.alpha_png(), content_type="image/jpeg")
    pump.drain()
    assert _status(api, alice, grant)["status"] == "ready"
    post = api.call("GET", f"/posts/{grant['target_id']}", alice).json
    assert (post["width"], post["height"]) == (800, 600)
    assert post["blurhash"]


def test_a_heic_from_a_phone_becomes_a_post(api: Api, pump: EventPump) -> None:
    alice = api.sign_up("alice")
    grant = upload_photo(api, alice, media_files.heic(), content_type="image/heic")
    pump.drain()
    assert _status(api, alice, grant)["status"] == "ready"


def test_a_client_lying_about_its_length_is_rejected_after_upload(api: Api, pump: EventPump) -> None:
    # Given a grant for a 1 MiB file (the emulator, like a lying client, ignores the policy's size range)
    alice = api.sign_up("alice")
    grant = api.call("POST", "/uploads", alice, json={"content_type": "image/jpeg", "content_length": MIB}).json
    # When 11 MiB arrive instead
    oversized = media_files.jpeg(400, 300) + b"\0" * (11 * MIB)
    assert upload_to_s3(grant, oversized).status_code in {200, 204}
    pump.drain()
    # Then the processor's own check refuses it, with the sizes in the reason
    status = _status(api, alice, grant)
    assert status["status"] == "rejected"
    assert "10,485,760" in status["reason"]


def test_a_truncated_jpeg_is_rejected_and_nobody_sees_it(api: Api, pump: EventPump) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    grant = upload_photo(api, alice, media_files.jpeg(1200, 900)[:5000])
    pump.drain()
    status = _status(api, alice, grant)
    assert (status["status"], "truncated" in status["reason"]) == ("rejected", True)
    assert api.call("GET", "/feed", bob).json["items"] == []


class Broken:
    def review(self, image: Image.Image, jpeg: bytes) -> Verdict:
        raise ConnectionError("moderation service unreachable")


def test_a_failure_leaves_status_failed_and_the_raw_upload_for_the_retry(api: Api, pump: EventPump) -> None:
    # Given a stored upload whose notification we take over, to process it by hand during an outage
    alice = api.sign_up("alice")
    grant = upload_photo(api, alice, media_files.jpeg(800, 600))
    client("sqs").purge_queue(QueueUrl=pump.notification_queue_url)
    key = grant["fields"]["key"]
    broken = replace(wiring.media_ports(), moderator=Broken())
    # When processing hits the outage, then it fails visibly and keeps the raw object
    with pytest.raises(ConnectionError):
        process_upload(key, broken, wiring.media_limits())
    status = _status(api, alice, grant)
    assert (status["status"], status["reason"]) == ("failed", "processing failed; retrying")
    assert _raw_exists(key)
    # And the retry publishes it
    assert process_upload(key, wiring.media_ports(), wiring.media_limits()) == "published"
    pump.drain()
    assert _status(api, alice, grant)["status"] == "ready"


def _moderator(api: Api) -> Account:
    account = api.sign_up("mod")
    cognito = client("cognito-idp")
    pool = get_settings().user_pool_id
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=account.username, GroupName="moderators")
    token = api.call("POST", "/auth/token", json={"username": account.username, "password": PASSWORD}).json
    return replace(account, token=token["id_token"])


def _variant(photo: Image.Image, how: str) -> bytes:
    if how == "re-encoded":
        return media_files.save(photo, "JPEG", quality=55)
    if how == "resized":
        return media_files.save(photo.resize((photo.width * 7 // 10, photo.height * 7 // 10)), "JPEG", quality=85)
    if how == "cropped":
        dx, dy = photo.width * 3 // 200, photo.height * 3 // 200
        return media_files.save(photo.crop((dx, dy, photo.width - dx, photo.height - dy)), "JPEG", quality=85)
    return media_files.save(photo, "PNG")


def _skimage_photo(name: str) -> Image.Image:
    from skimage import data

    return Image.fromarray(getattr(data, name)()).convert("RGB")


def test_a_blocked_image_cannot_come_back_re_encoded_resized_or_cropped(api: Api, pump: EventPump) -> None:
    # Given a published photo that a moderator blocks
    alice, moderator = api.sign_up("alice"), _moderator(api)
    photo = _skimage_photo("astronaut")
    grant = upload_photo(api, alice, media_files.save(photo, "JPEG", quality=92))
    pump.drain()
    assert (
        api.call("POST", "/admin/blocklist", alice, json={"post_id": grant["target_id"], "reason": "x"}).status_code
        == 403
    )
    blocked = api.call("POST", "/admin/blocklist", moderator, json={"post_id": grant["target_id"], "reason": "spam"})
    assert blocked.status_code == 201 and len(blocked.json["hash"]) == 16
    # When it is uploaded again, altered
    for how in ("re-encoded", "resized", "cropped", "as-png"):
        again = upload_photo(api, alice, _variant(photo, how), content_type="image/jpeg")
        pump.drain()
        status = _status(api, alice, again)
        # Then every copy is refused with the reason
        assert status["status"] == "rejected", how
        assert "removed by moderators" in status["reason"]
    # And other photos still go through
    other = upload_photo(api, alice, media_files.save(_skimage_photo("coffee"), "JPEG", quality=90))
    pump.drain()
    assert _status(api, alice, other)["status"] == "ready"


def test_blocking_an_unknown_post_is_404(api: Api) -> None:
    moderator = _moderator(api)
    response = api.call("POST", "/admin/blocklist", moderator, json={"post_id": "123", "reason": "x"})
    assert response.status_code == 404
