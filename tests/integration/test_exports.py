"""Data exports through the HTTP API: a ZIP of everything a user made, their photos' largest JPEGs included, for
them alone; one export per request, and one ZIP and one 'ready' whatever fails on the way (docs/reliability.md,
"Data exports")."""

from __future__ import annotations

import io
import json
import os
import zipfile
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from PIL import Image

from aperture import wiring
from aperture.exports import export_key
from aperture.models.events import ExportJob
from aperture.settings import get_settings
from local.pump import EventPump
from local.seeding import Account, publish_post, publish_story
from tests.faults import Broken, FailAfter, InjectedFaultError
from tests.support import Api, jpeg_bytes, upload_photo, upload_to_s3

EXPECTED_FILES = {
    "profile.json",
    "posts.json",
    "comments.json",
    "likes.json",
    "following.json",
    "followers.json",
    "stories.json",
}


def _start(api: Api, who: Account) -> str:
    response = api.call("POST", "/me/export", who)
    assert response.status_code == 202, response.json
    return str(response.json["export_id"])


def _status(api: Api, who: Account, export_id: str) -> dict[str, Any]:
    response = api.call("GET", f"/me/exports/{export_id}", who)
    assert response.status_code == 200, response.json
    body: dict[str, Any] = response.json
    return body


def _fetch(status: dict[str, Any]) -> bytes:
    assert status["status"] == "ready" and status["url"], status
    response = requests.get(status["url"], timeout=30)  # as a browser follows the link: no token, just the URL
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    return response.content


def _download(status: dict[str, Any]) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(_fetch(status)))


def _json(archive: zipfile.ZipFile, name: str) -> Any:
    return json.loads(archive.read(name))


def _exported(api: Api, pump: EventPump, who: Account) -> tuple[dict[str, Any], zipfile.ZipFile]:
    export_id = _start(api, who)
    pump.drain()
    status = _status(api, who, export_id)
    return status, _download(status)


def _post(api: Api, pump: EventPump, author: Account, photos: list[bytes], caption: str) -> str:
    """A post through the real pipeline (rendered, so its renditions are in the bucket): one photo or a carousel."""
    if len(photos) == 1:
        grant = upload_photo(api, author, photos[0], caption=caption)
    else:
        items = [
            {"content_type": "image/jpeg", "content_length": len(p), "alt_text": f"photo {i}"}
            for i, p in enumerate(photos)
        ]
        response = api.call("POST", "/uploads", author, json={"items": items, "caption": caption})
        assert response.status_code == 201, response.json
        grant = response.json
        for upload, body in zip(grant["uploads"], photos, strict=True):
            assert upload_to_s3(upload, body).status_code in {200, 204}
    pump.drain()
    assert api.call("GET", f"/uploads/{grant['upload_id']}", author).json["status"] == "ready"
    return str(grant["target_id"])


def _export_objects(who: Account) -> set[str]:
    return wiring.media_store().keys_under(f"exports/{who.user_id}/")


@pytest.fixture(scope="module")
def photos() -> list[bytes]:
    # Wider than the largest rendition (1080), so the export's JPEG is a rendition, not the upload
    return [jpeg_bytes(1600, 1200), jpeg_bytes(1200, 1200, color=(20, 120, 200)), jpeg_bytes(1200, 1500)]


def test_an_export_holds_everything_the_user_made_and_every_photo_at_its_largest(
    api: Api, pump: EventPump, photos: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given alice, who posted a photo and a two-photo carousel, follows and is followed by bob, commented on his
    # post and on her own, liked his post and posted a story
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    single = _post(api, pump, alice, photos[:1], "one photo")
    carousel = _post(api, pump, alice, photos[1:], "two photos")
    by_bob = _post(api, pump, bob, photos[:1], "bob's")
    for follower, followee in ((alice, bob), (bob, alice), (carol, alice)):
        assert api.call("PUT", f"/users/{followee.user_id}/follow", follower).status_code == 200
    for post, text in ((by_bob, "nice one"), (single, "thanks all"), (by_bob, "again")):
        assert api.call("POST", f"/posts/{post}/comments", alice, json={"text": text}).status_code == 201
    api.call("POST", f"/posts/{single}/comments", bob, json={"text": "not alice's"})
    assert api.call("PUT", f"/posts/{by_bob}/like", alice).status_code == 200
    assert api.call("PUT", f"/posts/{carousel}/like", alice).status_code == 200
    api.call("PUT", f"/posts/{single}/like", bob)
    story = publish_story(alice)
    pump.drain()
    # (every list read two items a page, so each file is written from several pages)
    monkeypatch.setattr(wiring.export_builder()._records, "_page", 2)

    # When she exports her data
    export_id = _start(api, alice)
    pending = _status(api, alice, export_id)
    assert (pending["status"], pending["progress"]["stage"], pending["url"]) == ("pending", "queued", None)
    pump.drain()

    # Then it is ready, with a link for a day
    status = _status(api, alice, export_id)
    assert status["progress"] == {"stage": "done", "photos_done": 3, "photos_total": 3}
    expires = datetime.fromisoformat(status["expires_at"].replace("Z", "+00:00"))
    hours = (expires - datetime.now(UTC)).total_seconds() / 3600
    assert 23.9 < hours <= 24, status
    body = _fetch(status)
    assert status["size_bytes"] == len(body)
    archive = zipfile.ZipFile(io.BytesIO(body))
    photo_files = {n for n in archive.namelist() if n.startswith("photos/")}
    assert set(archive.namelist()) - photo_files == EXPECTED_FILES

    # And each file says what she made
    profile = _json(archive, "profile.json")
    assert (str(profile["user_id"]), profile["username"]) == (alice.user_id, alice.username)
    assert (profile["email"], profile["following_count"], profile["follower_count"]) == (
        f"{alice.username}@example.com",
        1,
        2,
    )
    posts = {str(p["post_id"]): p for p in _json(archive, "posts.json")}
    assert set(posts) == {single, carousel}
    assert (posts[single]["caption"], posts[carousel]["caption"]) == ("one photo", "two photos")
    assert [p["file"] for p in posts[carousel]["photos"]] == [f"photos/{carousel}/0.jpg", f"photos/{carousel}/1.jpg"]
    assert [p["alt_text"] for p in posts[carousel]["photos"]] == ["photo 0", "photo 1"]
    comments = _json(archive, "comments.json")
    assert sorted((str(c["post_id"]), c["text"]) for c in comments) == sorted(
        [(by_bob, "nice one"), (single, "thanks all"), (by_bob, "again")]
    )
    assert sorted(str(like["post_id"]) for like in _json(archive, "likes.json")) == sorted([by_bob, carousel])
    assert [(str(f["user_id"]), f["username"]) for f in _json(archive, "following.json")] == [
        (bob.user_id, bob.username)
    ]
    followers = _json(archive, "followers.json")
    assert sorted(f["username"] for f in followers) == sorted([bob.username, carol.username])
    stories = _json(archive, "stories.json")
    assert [str(s["story_id"]) for s in stories["stories"]] == [story]

    # And every photo of every post is there as a real JPEG at the largest size rendered
    assert photo_files == {f"photos/{single}/0.jpg", f"photos/{carousel}/0.jpg", f"photos/{carousel}/1.jpg"}
    shapes = {}
    for name in photo_files:
        image = Image.open(io.BytesIO(archive.read(name)))
        assert image.format == "JPEG"
        shapes[name] = image.size
    assert shapes == {
        f"photos/{single}/0.jpg": (1080, 810),
        f"photos/{carousel}/0.jpg": (1080, 1080),
        f"photos/{carousel}/1.jpg": (1080, 1350),
    }
    # And the ZIP sits under its own prefix of the media bucket
    assert _export_objects(alice) == {export_key(int(alice.user_id), int(export_id))}


def test_only_its_owner_can_see_an_export(api: Api, pump: EventPump) -> None:
    alice, mallory = api.sign_up("alice"), api.sign_up("mallory")
    export_id = _start(api, alice)
    pump.drain()
    # Someone else asking for it by id finds nothing, as for an id that never existed
    for path in (f"/me/exports/{export_id}", "/me/exports/0", "/me/exports/123456789", "/me/exports/nope"):
        response = api.call("GET", path, mallory)
        assert response.status_code == 404, (path, response.json)
        assert response.json["error"]["code"] in {"export_not_found", "not_found"}
    assert api.call("GET", f"/me/exports/{export_id}").status_code == 401
    assert api.call("POST", "/me/export").status_code == 401
    # Her own export starts with nothing else in it but her (an account with nothing still gets every file)
    status = _status(api, alice, export_id)
    archive = _download(status)
    assert set(archive.namelist()) == EXPECTED_FILES
    assert _json(archive, "posts.json") == [] and _json(archive, "followers.json") == []


def test_asking_again_while_an_export_is_pending_returns_the_same_export(api: Api, pump: EventPump) -> None:
    alice = api.sign_up("alice")
    first = _start(api, alice)
    assert _start(api, alice) == first
    pump.drain()
    assert _status(api, alice, first)["status"] == "ready"
    # Once it is ready, asking again starts a new one
    second = _start(api, alice)
    assert second != first
    pump.drain()
    assert _status(api, alice, second)["status"] == "ready"
    assert len(_export_objects(alice)) == 2


def test_a_link_past_its_day_is_not_given_out(api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch) -> None:
    alice = api.sign_up("alice")
    export_id = _start(api, alice)
    pump.drain()
    ready = _status(api, alice, export_id)
    # A day and a second later
    exports = wiring.exports()
    later = exports._now_ms() + 86_401_000
    monkeypatch.setattr(exports, "_now_ms", lambda: later)
    expired = _status(api, alice, export_id)
    assert (expired["status"], expired["url"], expired["expires_at"]) == ("ready", None, ready["expires_at"])
    assert "expired" in expired["reason"]


def test_a_zip_larger_than_one_part_goes_up_in_parts_and_comes_down_whole(api: Api, pump: EventPump) -> None:
    # Given three posts whose largest renditions weigh 3 MiB each (more than one 8 MiB upload part together)
    alice = api.sign_up("alice")
    store = wiring.media_store()
    bodies = {}
    for _ in range(3):
        post = publish_post(alice)
        bodies[post] = os.urandom(3 * 1024 * 1024)
        store.write_immutable(f"images/{alice.user_id}/{post}/1080.jpg", bodies[post], "image/jpeg")
    # When she exports her data
    status, archive = _exported(api, pump, alice)
    # Then the ZIP was uploaded in parts (S3's ETag of a multipart object ends in -<parts>) and holds every byte
    (key,) = _export_objects(alice)
    head = wiring.media_store()._s3.head_object(Bucket=wiring.media_store()._bucket, Key=key)
    assert head["ETag"].strip('"').endswith("-2"), head["ETag"]
    assert status["size_bytes"] == head["ContentLength"] > 9 * 1024 * 1024
    for post, body in bodies.items():
        assert archive.read(f"photos/{post}/0.jpg") == body


def test_an_export_whose_job_was_lost_reads_as_failed_and_a_new_one_can_start(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an export whose build never ran (its job lost, say dead-lettered by a crash of the Lambda itself)
    alice = api.sign_up("alice")
    export_id = _start(api, alice)
    exports = wiring.exports()
    assert _start(api, alice) == export_id  # still pending within the window
    # When the stale window (three attempts' worth) has passed
    later = exports._now_ms() + get_settings().export_stale_seconds * 1000 + 1000
    monkeypatch.setattr(exports, "_now_ms", lambda: later)
    # Then it reads as failed, with a reason, and asking again starts a new export
    status = _status(api, alice, export_id)
    assert (status["status"], status["url"]) == ("failed", None) and status["reason"]
    assert _start(api, alice) != export_id


# The fault matrix (docs/reliability.md): an exception after each step, then the retry.


def test_a_request_that_dies_after_its_commit_is_one_export_when_retried(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = api.sign_up("alice")
    exports = wiring.exports()
    monkeypatch.setattr(exports, "_repository", FailAfter(exports._repository, "start"))
    with pytest.raises(InjectedFaultError):  # (a 500 on AWS; the client retries)
        api.call("POST", "/me/export", alice)
    export_id = _start(api, alice)
    pump.drain()
    assert _status(api, alice, export_id)["status"] == "ready"
    assert len(_export_objects(alice)) == 1


def test_a_relay_that_dies_after_queueing_the_build_builds_one_zip(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = api.sign_up("alice")
    jobs = FailAfter(wiring.export_jobs(), "enqueue")
    monkeypatch.setattr(wiring, "export_jobs", lambda: jobs)
    export_id = _start(api, alice)
    pump.drain()  # the relay's record fails after queueing, and its retry queues the job again
    assert jobs.calls == 2
    status = _status(api, alice, export_id)
    assert status["status"] == "ready"
    assert len(_export_objects(alice)) == 1
    _download(status)


@pytest.mark.parametrize(
    ("port", "method"),
    [
        ("_repository", "progress"),  # after each progress write (the first: 'collecting')
        ("_store", "stream"),  # after reading a photo
        ("_store", "upload"),  # after the ZIP is uploaded
        ("_repository", "finish"),  # after 'ready' is written
        ("_repository", "release"),  # after the marker is cleared
    ],
)
def test_a_build_that_dies_after_any_step_gives_one_zip_and_one_ready_on_its_retry(
    api: Api, pump: EventPump, photos: list[bytes], monkeypatch: pytest.MonkeyPatch, port: str, method: str
) -> None:
    alice = api.sign_up("alice")
    post = _post(api, pump, alice, photos[:1], "kept")
    builder = wiring.export_builder()
    failing = FailAfter(getattr(builder, port), method)
    monkeypatch.setattr(builder, port, failing)
    export_id = _start(api, alice)
    pump.drain()  # the job fails once, and the queue delivers it again
    assert failing.calls >= 1 and failing.remaining == 0
    status = _status(api, alice, export_id)
    assert (status["status"], status["progress"]["stage"]) == ("ready", "done")
    assert _export_objects(alice) == {export_key(int(alice.user_id), int(export_id))}
    archive = _download(status)
    assert archive.namelist().count(f"photos/{post}/0.jpg") == 1
    assert Image.open(io.BytesIO(archive.read(f"photos/{post}/0.jpg"))).size == (1080, 810)
    # And the job delivered yet again changes nothing: still one ready, the same one
    ready_at = wiring.export_repository().get(int(alice.user_id), int(export_id))
    assert wiring.export_builder().run(ExportJob(user_id=int(alice.user_id), export_id=int(export_id))).built is False
    assert wiring.export_repository().get(int(alice.user_id), int(export_id)) == ready_at
    # And a new request is free to start another (the pending marker was cleared)
    assert _start(api, alice) != export_id


def test_a_duplicate_delivery_stops_building_once_the_other_has_finished_the_export(
    api: Api, pump: EventPump, photos: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an export being built by one delivery of its job
    alice = api.sign_up("alice")
    _post(api, pump, alice, photos[:1], "kept")
    builder = wiring.export_builder()
    repository = wiring.export_repository()
    export_id = int(_start(api, alice))
    user_id = int(alice.user_id)

    class OtherDeliveryFinishes:
        """While this delivery reads the photo, another (SQS is at least once) finishes the export."""

        def __init__(self, store: Any) -> None:
            self._store = store

        def __getattr__(self, name: str) -> Any:
            return getattr(self._store, name)

        def stream(self, key: str) -> Any:
            repository.finish(user_id, export_id, export_key(user_id, export_id), 1, 1)
            return self._store.stream(key)

    monkeypatch.setattr(builder, "_store", OtherDeliveryFinishes(builder._store))
    # When this delivery goes on
    outcome = builder.run(ExportJob(user_id=user_id, export_id=export_id))
    # Then it stops at its next progress write: it uploads nothing, and the export stays as the other left it
    assert outcome.built is False
    assert _export_objects(alice) == set()
    record = repository.get(user_id, export_id)
    assert record is not None and (record.status, record.size_bytes) == ("ready", 1)
    assert repository.pending(user_id) is None


def test_a_build_failing_on_every_attempt_is_marked_failed_and_a_new_one_can_start(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = api.sign_up("alice")
    builder = wiring.export_builder()
    monkeypatch.setattr(builder, "_store", Broken(builder._store, "upload", RuntimeError("S3 is down"), times=3))
    export_id = _start(api, alice)
    pump.drain()
    status = _status(api, alice, export_id)
    assert (status["status"], status["url"]) == ("failed", None)
    assert status["reason"]
    assert _export_objects(alice) == set()
    # Then asking again starts a new export, which succeeds
    again = _start(api, alice)
    assert again != export_id
    pump.drain()
    assert _status(api, alice, again)["status"] == "ready"
