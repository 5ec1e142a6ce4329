"""The media pipeline under real uploads: lying clients, mislabelled files, failures, and moderation."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any
from urllib.parse import unquote_plus

import pytest
from PIL import Image

from aperture import wiring
from aperture.adapters.aws import client
from aperture.ids import new_id
from aperture.media.moderation import Verdict
from aperture.media.pipeline import MediaPorts, process_upload
from aperture.models.events import PostReady
from aperture.models.records import Upload
from aperture.ports import Event
from aperture.settings import get_settings
from aperture.uploads import upload_key
from bench import media_files
from local.pump import EventPump
from local.seeding import Account
from tests.fakes import MemoryEvents
from tests.faults import InjectedFaultError
from tests.support import PASSWORD, Api, upload_photo, upload_to_s3

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


class Watched:
    """The media store, noting every read and write of the pipeline through it."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.reads: list[str] = []
        self.writes: list[str] = []

    def read(self, key: str) -> bytes:
        self.reads.append(key)
        return bytes(self._store.read(key))

    def write_immutable(self, key: str, body: bytes, content_type: str) -> None:
        self.writes.append(key)
        self._store.write_immutable(key, body, content_type)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class Published(MemoryEvents):
    """The event stream in memory (stories have no consumer to pump them to yet), noting what the store held when
    each event went out."""

    def __init__(self, store: Watched) -> None:
        super().__init__()
        self._store = store
        self.written_before: list[set[str]] = []

    def publish(self, event: Event) -> None:
        super().publish(event)
        self.written_before.append(set(self._store.writes))


def _take_notifications(pump: EventPump) -> list[str]:
    """Take the S3 notifications off the pump's queue, to handle by hand; returns the object keys they announce."""
    sqs, url, keys = client("sqs"), pump.notification_queue_url, []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            keys += [unquote_plus(r["s3"]["object"]["key"]) for r in json.loads(message["Body"]).get("Records", [])]
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return keys


def _story(account: Account, body: bytes, pump: EventPump) -> tuple[str, Upload]:
    """A story upload as the uploads API will record it, its file stored; its notification is ours to handle."""
    upload = Upload(
        upload_id=new_id(),
        user_id=int(account.user_id),
        kind="story",
        target_id=new_id(),
        content_type="image/jpeg",
        content_length=len(body),
        status="pending",
    )
    wiring.upload_repository().create(upload)
    key = upload_key(upload.user_id, upload.upload_id)
    client("s3").put_object(Bucket=get_settings().media_bucket, Key=key, Body=body, ContentType="image/jpeg")
    assert _take_notifications(pump) == [key]
    return key, upload


def _watched_ports() -> tuple[MediaPorts, Watched, Published]:
    store = Watched(wiring.media_store())
    events = Published(store)
    return replace(wiring.media_ports(), store=store, events=events), store, events


def _story_keys(upload: Upload) -> dict[str, str]:
    base = f"images/{upload.user_id}/{upload.target_id}/1080"
    return {"jpeg": f"{base}.jpg", "webp": f"{base}.webp", "avif": f"{base}.avif"}


def test_a_story_is_stored_in_one_full_screen_size_and_announced_as_a_story(api: Api, pump: EventPump) -> None:
    # Given a tall phone-screen image uploaded as a story
    alice = api.sign_up("alice")
    key, upload = _story(alice, media_files.jpeg(1080, 2400), pump)
    ports, store, events = _watched_ports()
    # When the pipeline processes it
    assert process_upload(key, ports, wiring.media_limits()) == "published"
    # Then exactly its three 1080 renditions are stored, cropped to 9:16
    keys = _story_keys(upload)
    assert store.keys_under(f"images/{alice.user_id}/{upload.target_id}/") == set(keys.values())
    for fmt, image_key in keys.items():
        body, content_type = store.fetch(image_key)
        assert content_type == f"image/{fmt}"
        assert Image.open(io.BytesIO(body)).size == (1080, 1920)
    # And one story event is published, with only the 1080 images, as soon as the JPEG and WebP were stored
    [event] = events.events
    assert isinstance(event, PostReady)
    assert (event.kind, event.post_id, event.author_id) == ("story", upload.target_id, upload.user_id)
    assert event.images == {"1080": keys}
    assert (event.width, event.height) == (1080, 1920)
    assert event.blurhash and len(event.blurhash) == 28
    assert events.written_before == [{keys["jpeg"], keys["webp"]}]


@pytest.mark.parametrize("after", [False, True], ids=["refused", "sent-then-died"])
def test_a_ready_event_whose_publish_failed_is_published_by_the_retry(api: Api, pump: EventPump, after: bool) -> None:
    # Given a story whose renditions are stored, and a stream that refuses its ready event (or takes it, and the
    # function dies before it can say so)
    alice = api.sign_up("alice")
    key, upload = _story(alice, media_files.jpeg(1080, 1920), pump)
    events = MemoryEvents()
    events.fail("publish", after=after)
    ports = replace(wiring.media_ports(), events=events)
    with pytest.raises(InjectedFaultError):
        process_upload(key, ports, wiring.media_limits())
    # When S3's notification is delivered again
    assert process_upload(key, ports, wiring.media_limits()) == "published"
    # Then the story is announced (twice when the first went out, under one event id), and once post_ingest has
    # taken every announcement, alice has one story and her upload is ready
    published = [e for e in events.events if isinstance(e, PostReady)]
    assert [e.post_id for e in published] == [upload.target_id] * (2 if after else 1)
    assert len({e.event_id for e in published}) == 1
    for event in published:
        wiring.stories().ingest(event)
    stories = api.call("GET", f"/users/{alice.user_id}/stories", alice).json["items"]
    assert [s["story_id"] for s in stories] == [str(upload.target_id)]
    assert api.call("GET", f"/uploads/{upload.upload_id}", alice).json["status"] == "ready"


def test_a_small_story_is_not_upscaled(api: Api, pump: EventPump) -> None:
    alice = api.sign_up("alice")
    key, upload = _story(alice, media_files.jpeg(480, 640), pump)
    ports, store, events = _watched_ports()
    assert process_upload(key, ports, wiring.media_limits()) == "published"
    [event] = events.events
    assert (event.width, event.height) == (480, 640)
    body, _ = store.fetch(_story_keys(upload)["webp"])
    assert Image.open(io.BytesIO(body)).size == (480, 640)


def test_a_redelivered_story_upload_redoes_nothing(api: Api, pump: EventPump) -> None:
    # Given a story processed and then marked ready by its consumer
    alice = api.sign_up("alice")
    key, upload = _story(alice, media_files.jpeg(1080, 2400), pump)
    assert process_upload(key, _watched_ports()[0], wiring.media_limits()) == "published"
    assert wiring.upload_repository().set_status(upload.upload_id, "ready")
    # When its notification is delivered again
    ports, store, events = _watched_ports()
    # Then it is done: nothing is read, rendered, written or published
    assert process_upload(key, ports, wiring.media_limits()) == "done"
    assert (store.reads, store.writes, events.events) == ([], [], [])


def test_a_published_story_missing_its_avif_gets_only_that(api: Api, pump: EventPump) -> None:
    # Given a story announced and marked ready, whose AVIF encode did not finish
    alice = api.sign_up("alice")
    key, upload = _story(alice, media_files.jpeg(1080, 2400), pump)
    assert process_upload(key, _watched_ports()[0], wiring.media_limits()) == "published"
    assert wiring.upload_repository().set_status(upload.upload_id, "ready")
    avif = _story_keys(upload)["avif"]
    client("s3").delete_object(Bucket=get_settings().media_bucket, Key=avif)
    # When the retry comes, then it writes that one AVIF and announces nothing again
    ports, store, events = _watched_ports()
    assert process_upload(key, ports, wiring.media_limits()) == "published"
    assert (store.writes, events.events) == ([avif], [])


class Refusing:
    """A moderator that refuses everything, noting the sizes of the image and JPEG it was shown."""

    def __init__(self) -> None:
        self.seen: list[tuple[tuple[int, int], tuple[int, int]]] = []

    def review(self, image: Image.Image, jpeg: bytes) -> Verdict:
        self.seen.append((image.size, Image.open(io.BytesIO(jpeg)).size))
        return Verdict(False, "not this one")


def test_a_story_is_moderated_at_640_and_a_refused_one_stores_nothing(api: Api, pump: EventPump) -> None:
    alice = api.sign_up("alice")
    key, upload = _story(alice, media_files.jpeg(1080, 2400), pump)
    ports, store, events = _watched_ports()
    moderator = Refusing()
    # When a refused story is processed
    assert process_upload(key, replace(ports, moderator=moderator), wiring.media_limits()) == "rejected"
    # Then moderation saw a 640-wide copy in the story's 9:16 shape, and nothing is stored or announced
    assert moderator.seen == [((640, 1138), (640, 1138))]
    assert (store.writes, events.events) == ([], [])
    assert wiring.upload_repository().get(upload.upload_id).reason == "not this one"


def test_a_blocked_tall_photo_cannot_come_back_as_a_story(api: Api, pump: EventPump) -> None:
    # Given a tall photo posted (so cropped to 4:5) and blocked by a moderator
    alice, moderator = api.sign_up("alice"), _moderator(api)
    tall = _skimage_photo("astronaut").resize((512, 910), Image.Resampling.LANCZOS)
    grant = upload_photo(api, alice, media_files.save(tall, "JPEG", quality=92))
    pump.drain()
    blocked = api.call("POST", "/admin/blocklist", moderator, json={"post_id": grant["target_id"], "reason": "spam"})
    assert blocked.status_code == 201
    # When the whole photo, uncropped as stories are, comes back as a story
    again = upload_photo(api, alice, media_files.save(tall, "JPEG", quality=92), kind="story")
    pump.drain()
    # Then it is refused too
    status = _status(api, alice, again)
    assert status["status"] == "rejected" and "removed by moderators" in status["reason"]


def test_a_blocked_story_cannot_come_back_as_a_story_or_a_post(api: Api, pump: EventPump) -> None:
    # (a photo no other test blocks: the blocklist is shared by every test on this emulated AWS)
    alice, moderator = api.sign_up("alice"), _moderator(api)
    tall = _skimage_photo("rocket").resize((427, 760), Image.Resampling.LANCZOS)
    grant = upload_photo(api, alice, media_files.save(tall, "JPEG", quality=92), kind="story")
    pump.drain()
    blocked = api.call("POST", "/admin/blocklist", moderator, json={"story_id": grant["target_id"], "reason": "x"})
    assert blocked.status_code == 201 and blocked.json["story_id"] == grant["target_id"], blocked.json
    for kind in ("story", "post"):
        again = upload_photo(api, alice, media_files.save(tall, "JPEG", quality=90), kind=kind)
        pump.drain()
        status = _status(api, alice, again)
        assert status["status"] == "rejected" and "removed by moderators" in status["reason"], kind


def test_a_block_names_exactly_one_post_or_story(api: Api) -> None:
    moderator = _moderator(api)
    for body in ({"reason": "x"}, {"post_id": "1", "story_id": "2", "reason": "x"}):
        assert api.call("POST", "/admin/blocklist", moderator, json=body).status_code == 422
    assert api.call("POST", "/admin/blocklist", moderator, json={"story_id": "5", "reason": "x"}).status_code == 404
