"""Carousels and alt text: up to ten photos in one post, each processed on its own, the post published once when
the last is ready; one refused photo refuses the post (docs/reliability.md, "Carousels")."""

from __future__ import annotations

import dataclasses
import io
import random
from typing import Any
from urllib.parse import urlparse

import pytest
from PIL import Image, ImageDraw

from aperture import wiring
from aperture.adapters.aws import client
from aperture.media.carousel import process_item, process_object
from aperture.models.records import Photo
from aperture.settings import get_settings
from bench.round_trips import RoundTrips
from local.pump import EventPump
from local.seeding import Account, ready_event
from tests.faults import FailAfter, InjectedFaultError
from tests.support import (
    PASSWORD,
    Api,
    emulated_distribution,
    jpeg_bytes,
    settings_env,
    upload_photo,
    upload_to_s3,
)

# Three photos told apart by their shape and alt text (small, so never scaled)
JPEG = {"content_type": "image/jpeg", "content_length": 10}
PHOTOS = [(800, 600, "a harbour at dawn"), (600, 600, "two gulls on a post"), (600, 750, "")]


@pytest.fixture(scope="module")
def bodies() -> list[bytes]:
    return [jpeg_bytes(w, h) for w, h, _ in PHOTOS]


def _grant(api: Api, author: Account, bodies: list[bytes], **extra: Any) -> Any:
    items = [
        {"content_type": "image/jpeg", "content_length": len(body), "alt_text": alt}
        for body, (_, _, alt) in zip(bodies, PHOTOS, strict=False)
    ]
    return api.call("POST", "/uploads", author, json={"items": items, **extra})


def _carousel(api: Api, author: Account, bodies: list[bytes], **extra: Any) -> dict[str, Any]:
    """A carousel granted and every photo sent (not processed until the pump runs)."""
    response = _grant(api, author, bodies, **extra)
    assert response.status_code == 201, response.json
    grant: dict[str, Any] = response.json
    for upload, body in zip(grant["uploads"], bodies, strict=True):
        assert upload_to_s3(upload, body).status_code in {200, 204}
    return grant


def _followed(api: Api) -> tuple[Account, Account]:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    api.call("GET", "/feed", bob)  # an active reader: posts are pushed to his timeline
    return alice, bob


def _feed(api: Api, viewer: Account) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.call("GET", "/feed", viewer).json["items"]
    return items


def _rendered(author: Account, post_id: str) -> set[str]:
    return wiring.media_store().keys_under(f"images/{author.user_id}/{post_id}/")


def test_a_carousel_reaches_a_followers_feed_once_with_every_photo_in_order(
    api: Api, pump: EventPump, bodies: list[bytes]
) -> None:
    # Given bob follows alice
    alice, bob = _followed(api)
    # When alice asks for a three-photo carousel
    grant = _carousel(api, alice, bodies, caption="harbour walk")
    # Then she got one presigned POST per photo, in order, each pinned to its own key
    keys = [u["fields"]["key"] for u in grant["uploads"]]
    assert keys == [f"uploads/{alice.user_id}/{grant['upload_id']}/{i}" for i in range(3)]
    assert (grant["url"], grant["fields"]) == (grant["uploads"][0]["url"], grant["uploads"][0]["fields"])
    # When every photo is processed (one notification each)
    pump.drain()
    # Then the upload is ready and bob's feed holds the post once, its photos in order with their alt texts
    assert api.call("GET", f"/uploads/{grant['upload_id']}", alice).json["status"] == "ready"
    feed = _feed(api, bob)
    assert [p["post_id"] for p in feed] == [grant["target_id"]]
    post = feed[0]
    media = post["media"]
    assert [(m["width"], m["height"], m["alt_text"]) for m in media] == [
        (800, 600, "a harbour at dawn"),
        (600, 600, "two gulls on a post"),
        (600, 750, ""),
    ]
    assert all(m["blurhash"] for m in media)
    # And the top level is the first photo, at the seed's key; the others sit one level down, per photo
    assert (post["width"], post["height"], post["images"]) == (800, 600, media[0]["images"])
    base = f"https://cdn.test/images/{alice.user_id}/{grant['target_id']}"
    expected = [f"{base}/640.webp", f"{base}/1/640.webp", f"{base}/2/640.webp"]
    assert [m["images"]["640"]["webp"] for m in media] == expected
    # And the CDN serves a later photo negotiated like any image
    later = f"/cdn/images/{alice.user_id}/{grant['target_id']}/2/1080.jpg"
    served = api.call("GET", later, headers={"Accept": "image/avif"})
    assert (served.status_code, served.headers["Content-Type"]) == (200, "image/avif")
    # And the post is counted once, and reads the same on its own
    assert api.call("GET", "/me", alice).json["post_count"] == 1
    assert api.call("GET", f"/posts/{grant['target_id']}", bob).json == post


def test_every_photo_notified_again_changes_nothing(api: Api, pump: EventPump, bodies: list[bytes]) -> None:
    alice, bob = _followed(api)
    grant = _carousel(api, alice, bodies[:2])
    pump.drain()
    before = _feed(api, bob)
    # When S3 delivers every photo's notification again
    for upload in grant["uploads"]:
        assert process_item(upload["fields"]["key"], wiring.media_ports(), wiring.media_limits()) == "done"
    pump.drain()
    # Then there is still one post, counted once
    assert _feed(api, bob) == before and len(before) == 1
    assert api.call("GET", "/me", alice).json["post_count"] == 1


def test_one_refused_photo_refuses_the_post_says_which_and_leaves_no_renditions(
    api: Api, pump: EventPump, bodies: list[bytes]
) -> None:
    # Given bob follows alice, who sends a carousel whose second photo is not a picture
    alice, bob = _followed(api)
    sent = [bodies[0], b"this is not a picture at all", bodies[2]]
    grant = _carousel(api, alice, sent)
    # When every photo is processed
    pump.drain()
    # Then the upload says it was refused, why, and which photo
    status = api.call("GET", f"/uploads/{grant['upload_id']}", alice).json
    assert (status["status"], status["item"]) == ("rejected", 1)
    assert "not a JPEG, PNG or HEIC" in status["reason"]
    # And there is no post anywhere, and no photo's renditions are kept
    assert _feed(api, bob) == []
    assert api.call("GET", f"/posts/{grant['target_id']}", bob).status_code == 404
    assert api.call("GET", "/me", alice).json["post_count"] == 0
    assert _rendered(alice, grant["target_id"]) == set()


def test_a_photo_finished_after_another_was_refused_leaves_nothing(
    api: Api, pump: EventPump, bodies: list[bytes]
) -> None:
    # Given a carousel whose first photo is processed, then whose second is refused
    alice, _ = _followed(api)
    grant = _carousel(api, alice, [bodies[0], b"not a picture", bodies[2]])
    keys = [u["fields"]["key"] for u in grant["uploads"]]
    ports, limits = wiring.media_ports(), wiring.media_limits()
    assert process_item(keys[0], ports, limits) == "processed"
    assert _rendered(alice, grant["target_id"])
    assert process_item(keys[1], ports, limits) == "rejected"
    # When the third photo is processed after the refusal
    assert process_item(keys[2], ports, limits) == "rejected"
    pump.drain()
    # Then nothing of any photo is kept, and the refusal still names the second
    assert _rendered(alice, grant["target_id"]) == set()
    assert api.call("GET", f"/uploads/{grant['upload_id']}", alice).json["item"] == 1


@pytest.mark.parametrize(
    ("port", "step", "item"),
    [
        ("store", "write_immutable", 2),  # a photo's first rendition stored, then the invocation dies
        ("carousels", "count", 0),  # a photo counted (not the last), then it dies
        ("carousels", "count", 1),
        ("carousels", "count_last", 2),  # the last photo counted with the carousel's event, then it dies
        ("store", "mark_processed", 2),  # every rendition stored, then it dies
    ],
)
def test_a_photo_whose_invocation_dies_after_a_step_is_finished_by_the_retry_into_one_post(
    api: Api, pump: EventPump, bodies: list[bytes], port: str, step: str, item: int
) -> None:
    # Given a three-photo carousel sent by alice, whom bob follows
    alice, bob = _followed(api)
    grant = _carousel(api, alice, bodies)
    keys = [u["fields"]["key"] for u in grant["uploads"]]
    ports, limits = wiring.media_ports(), wiring.media_limits()
    faulty = dataclasses.replace(ports, **{port: FailAfter(getattr(ports, port), step)})
    # When one photo's invocation dies after the step (the others processed around it)
    for index in range(3):
        if index == item:
            with pytest.raises(InjectedFaultError):
                process_item(keys[index], faulty, limits)
        else:
            process_item(keys[index], ports, limits)
    # And S3 invokes it again (and every notification is delivered, late)
    assert process_item(keys[item], ports, limits) in {"published", "processed", "done"}
    pump.drain()
    # Then bob sees one post with every photo, and alice's post count is one
    feed = _feed(api, bob)
    assert [(p["post_id"], len(p["media"])) for p in feed] == [(grant["target_id"], 3)]
    assert api.call("GET", "/me", alice).json["post_count"] == 1
    assert api.call("GET", f"/uploads/{grant['upload_id']}", alice).json["status"] == "ready"


@pytest.mark.parametrize(
    "body",
    [
        {"items": []},
        {"items": [{"content_type": "image/jpeg", "content_length": 10}] * 11},
        {"items": [{"content_type": "image/jpeg", "content_length": 10, "alt_text": "x" * 1001}]},
        {"content_type": "image/jpeg", "content_length": 10, "alt_text": "x" * 1001},
        {
            "content_type": "image/jpeg",
            "content_length": 10,
            "items": [{"content_type": "image/png", "content_length": 1}],
        },
        {"kind": "story", "items": [{"content_type": "image/jpeg", "content_length": 10}]},
        {"items": [{"content_type": "image/jpeg", "content_length": 0}]},
        {"items": [{"content_type": "image/jpeg"}]},
        {"caption": "neither a photo nor items"},
    ],
    ids=["none", "eleven", "alt-1001", "single-alt-1001", "both", "story", "empty-photo", "no-length", "nothing"],
)
def test_a_carousel_out_of_range_is_422_in_the_error_shape(api: Api, body: dict[str, Any]) -> None:
    alice = api.sign_up("alice")
    response = api.call("POST", "/uploads", alice, json=body)
    assert response.status_code == 422, response.json
    assert set(response.json["error"]) == {"code", "message"}


def test_a_carousel_photo_of_a_refused_type_or_size_is_refused_whole(api: Api) -> None:
    alice = api.sign_up("alice")
    jpeg = {"content_type": "image/jpeg", "content_length": 10}
    gif = api.call("POST", "/uploads", alice, json={"items": [jpeg, {**jpeg, "content_type": "image/gif"}]})
    huge = api.call("POST", "/uploads", alice, json={"items": [jpeg, {**jpeg, "content_length": 11 * 1024 * 1024}]})
    assert (gif.status_code, huge.status_code) == (415, 413)


def test_ten_photos_and_alt_text_of_a_thousand_characters_are_accepted(api: Api) -> None:
    alice = api.sign_up("alice")
    items = [{"content_type": "image/png", "content_length": 10, "alt_text": "x" * 1000}] * 10
    response = api.call("POST", "/uploads", alice, json={"items": items})
    assert response.status_code == 201 and len(response.json["uploads"]) == 10


def test_a_one_photo_post_carries_its_alt_text_and_one_media_item(api: Api, pump: EventPump) -> None:
    alice, bob = _followed(api)
    body = jpeg_bytes(400, 400)
    created = api.call(
        "POST",
        "/uploads",
        alice,
        json={"content_type": "image/jpeg", "content_length": len(body), "alt_text": "a red square"},
    ).json
    assert "uploads" not in created or created["uploads"] is None
    upload_to_s3(created, body)
    pump.drain()
    post = _feed(api, bob)[0]
    assert [(m["alt_text"], m["images"]) for m in post["media"]] == [("a red square", post["images"])]


def test_a_post_written_before_carousels_shows_one_photo_from_its_own_fields(api: Api, pump: EventPump) -> None:
    # Given a post whose record has no media (as every post before carousels)
    alice, bob = _followed(api)
    event = ready_event(alice, "post", ("150", "640", "1080"), width=1080, height=1350, blurhash="LEHV6nWB2yk8")
    wiring.posts().ingest(event)
    # Then its post object has one photo: its own images, shape and blurhash, with no alt text
    post = api.call("GET", f"/posts/{event.post_id}", bob).json
    assert post["media"] == [
        {"images": post["images"], "width": 1080, "height": 1350, "blurhash": "LEHV6nWB2yk8", "alt_text": ""}
    ]


def _carousel_event(author: Account) -> Any:
    """A three-photo carousel's 'ready' event, as the last photo's invocation announces it (rendering aside)."""
    event = ready_event(author, "post", ("150", "640", "1080"), width=1080, height=1080)
    photos = tuple(
        Photo(images=event.images, width=1080, height=1080, blurhash="LEHV6nWB2yk8", alt_text=f"photo {i}")
        for i in range(3)
    )
    return event.model_copy(update={"media": photos})


def test_a_warm_feed_of_carousels_and_saved_posts_takes_three_redis_round_trips(api: Api, pump: EventPump) -> None:
    with settings_env(APERTURE_CELEBRITY_THRESHOLD="3", APERTURE_FANOUT_JOB_SIZE="2"):
        # Given a viewer following a celebrity and two friends, who all posted carousels, some of them saved
        viewer, star = api.sign_up("viewer"), api.sign_up("star")
        friends = [api.sign_up("friend") for _ in range(2)]
        for fan in [api.sign_up("fan") for _ in range(3)] + [viewer]:
            api.call("PUT", f"/users/{star.user_id}/follow", fan)
        for friend in friends:
            api.call("PUT", f"/users/{friend.user_id}/follow", viewer)
        api.call("GET", "/feed", viewer)
        events = [_carousel_event(author) for author in (star, *friends) for _ in range(3)]
        for event in events:
            wiring.posts().ingest(event)
        pump.drain()
        for event in events[::2]:
            assert api.call("PUT", f"/posts/{event.post_id}/save", viewer).status_code == 200
        first = api.call("GET", "/feed", viewer, query_string={"limit": 9}).json  # warms the caches
        # When the same page is read again, counting every Redis round trip
        trips = RoundTrips(wiring.redis_client())
        again = api.call("GET", "/feed", viewer, query_string={"limit": 9}).json
    # Then it is the same page, every post with its three photos and the viewer's saves, in three round trips
    assert again == first and len(again["items"]) == 9
    assert all([m["alt_text"] for m in p["media"]] == ["photo 0", "photo 1", "photo 2"] for p in again["items"])
    saved = {str(e.post_id) for e in events[::2]}
    assert {p["post_id"] for p in again["items"] if p["saved_by_me"]} == saved
    # (and a fourth, after the page is built, appends its impressions to the activity log)
    assert trips.besides("XADD") <= 3, trips.trips  # (and one more, the impressions' append)


def test_a_deleted_carousel_leaves_no_photo_behind(api: Api, pump: EventPump, bodies: list[bytes]) -> None:
    # Given a published two-photo carousel behind a CDN, its second photo fetched through the (local) CDN
    distribution = emulated_distribution()
    with settings_env(APERTURE_CDN_DISTRIBUTION_ID=distribution):
        alice, bob = _followed(api)
        grant = _carousel(api, alice, bodies[:2])
        pump.drain()
        photos = [m["images"]["640"]["jpeg"] for m in _feed(api, bob)[0]["media"]]
        second = f"/cdn/images/{alice.user_id}/{grant['target_id']}/1/640.jpg"
        assert api.call("GET", second).status_code == 200
        # When alice deletes it and the cascade runs
        assert api.call("DELETE", f"/posts/{grant['target_id']}", alice).status_code == 204
        pump.drain()
    # Then no rendition of any photo, and no raw photo, is kept, and the CDN no longer serves them
    assert _rendered(alice, grant["target_id"]) == set()
    assert wiring.media_store().keys_under(f"uploads/{alice.user_id}/{grant['upload_id']}/") == set()
    assert api.call("GET", second).status_code == 404
    assert _feed(api, bob) == []
    # And the edge is told to forget every photo: one wildcard path covering each photo's URL
    cloudfront = client("cloudfront")
    listed = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"]["Items"]
    batch = cloudfront.get_invalidation(DistributionId=distribution, Id=listed[0]["Id"])["Invalidation"]
    (path,) = batch["InvalidationBatch"]["Paths"]["Items"]
    assert len(listed) == 1 and path.endswith("/*")
    assert all(urlparse(url).path.startswith(path.removesuffix("*")) for url in photos)


class CountedMeanwhile:
    """The carousel counter as a photo's invocation sees it when another photo's invocation runs whole between its
    read of the upload and its count (the two photos racing for the same count)."""

    def __init__(self, counter: Any, other_key: str) -> None:
        self._counter = counter
        self._other_key = other_key
        self.raced = False

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._counter, name)
        if name not in {"count", "count_last"}:
            return attribute

        def counting(*args: Any) -> Any:
            if not self.raced:
                self.raced = True
                assert process_item(self._other_key, wiring.media_ports(), wiring.media_limits()) == "processed"
            return attribute(*args)

        return counting


def test_two_photos_counted_at_once_publish_the_post_once_with_both(
    api: Api, pump: EventPump, bodies: list[bytes]
) -> None:
    # Given a two-photo carousel whose second photo read the count (two to go) before the first photo was counted
    alice, bob = _followed(api)
    grant = _carousel(api, alice, bodies[:2])
    first, second = (u["fields"]["key"] for u in grant["uploads"])
    ports = wiring.media_ports()
    racing = CountedMeanwhile(ports.carousels, first)
    # When the second photo counts itself after the first did
    outcome = process_item(second, dataclasses.replace(ports, carousels=racing), wiring.media_limits())
    pump.drain()
    # Then the second photo found itself the last, and bob sees one post with both photos
    assert racing.raced and outcome == "published"
    feed = _feed(api, bob)
    assert [(p["post_id"], [m["alt_text"] for m in p["media"]]) for p in feed] == [
        (grant["target_id"], ["a harbour at dawn", "two gulls on a post"])
    ]
    assert api.call("GET", "/me", alice).json["post_count"] == 1


def _one_of_a_kind(seed: int = 1107) -> bytes:
    """A photo no other test uploads (the hash blocklist is shared by every test on this emulated AWS)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (640, 640), (250, 250, 240))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(600), rng.randrange(600)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.rectangle((x, y, x + rng.randrange(20, 200), y + rng.randrange(20, 200)), fill=colour)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _moderator(api: Api) -> Account:
    moderator = api.sign_up("mod")
    client("cognito-idp").admin_add_user_to_group(
        UserPoolId=get_settings().user_pool_id, Username=moderator.username, GroupName="moderators"
    )
    token = api.call("POST", "/auth/token", json={"username": moderator.username, "password": PASSWORD}).json
    return dataclasses.replace(moderator, token=token["id_token"])


def test_a_blocked_image_as_any_photo_refuses_the_carousel(api: Api, pump: EventPump, bodies: list[bytes]) -> None:
    # Given a photo that a moderator put on the hash blocklist
    alice, bob = _followed(api)
    moderator = _moderator(api)
    blocked = _one_of_a_kind()
    first = upload_photo(api, alice, blocked)
    pump.drain()
    body = {"post_id": first["target_id"], "reason": "spam"}
    assert api.call("POST", "/admin/blocklist", moderator, json=body).status_code == 201
    # When alice sends it again as the third photo of a carousel
    grant = _carousel(api, alice, [bodies[0], bodies[1], blocked])
    pump.drain()
    # Then the whole carousel is refused, naming the third photo and why, and bob sees only her first post
    status = api.call("GET", f"/uploads/{grant['upload_id']}", alice).json
    assert (status["status"], status["item"]) == ("rejected", 2)
    assert "removed by moderators" in status["reason"]
    assert [p["post_id"] for p in _feed(api, bob)] == [first["target_id"]]
    assert _rendered(alice, grant["target_id"]) == set()


def test_an_object_at_a_carousels_one_photo_key_publishes_nothing(
    api: Api, pump: EventPump, bodies: list[bytes]
) -> None:
    # Given a carousel granted, and an object put at the key a one-photo upload would have (no policy allows it)
    alice, bob = _followed(api)
    grant = _grant(api, alice, bodies[:2]).json
    key = f"uploads/{alice.user_id}/{grant['upload_id']}"
    wiring.media_store().write_immutable(key, bodies[0], "image/jpeg")
    # When it is processed
    assert process_object(key, wiring.media_ports(), wiring.media_limits()) == "ignored"
    pump.drain()
    # Then nothing is published and the carousel still waits for its photos
    assert _feed(api, bob) == []
    assert api.call("GET", f"/uploads/{grant['upload_id']}", alice).json["status"] == "pending"


def test_a_moderator_blocking_a_carousel_blocks_every_photo_of_it(api: Api, pump: EventPump) -> None:
    # Given a published two-photo carousel that a moderator blocks
    alice, moderator = api.sign_up("alice"), _moderator(api)
    photos = [_one_of_a_kind(seed) for seed in (2201, 2202)]
    grant = _carousel(api, alice, photos)
    pump.drain()
    body = {"post_id": grant["target_id"], "reason": "spam"}
    assert api.call("POST", "/admin/blocklist", moderator, json=body).status_code == 201
    # When its second photo comes back on its own
    again = upload_photo(api, alice, photos[1])
    pump.drain()
    # Then it is refused as the first photo would be
    status = api.call("GET", f"/uploads/{again['upload_id']}", alice).json
    assert status["status"] == "rejected" and "removed by moderators" in status["reason"]
