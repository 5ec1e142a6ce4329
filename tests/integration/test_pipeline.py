"""From presigned upload to a follower's feed, through S3 notifications and Kinesis, run by the pump."""

from __future__ import annotations

import base64
import time

from aperture import wiring
from aperture.adapters.aws import client
from aperture.clock import now_ms
from aperture.models.events import FollowChanged, PostReady
from aperture.settings import get_settings
from local.invoke import invoke
from local.pump import EventPump
from tests.support import Api, jpeg_bytes, upload_photo


def test_tags_in_a_caption_file_the_post_under_them_and_count_for_explore(api: Api, pump: EventPump) -> None:
    # Given alice posts from a client that sends no hashtags, with tags in her caption
    alice = api.sign_up("alice")
    grant = upload_photo(api, alice, jpeg_bytes(), caption="Low tide #Beach #sunset_walk", hashtags=["Lisbon"])
    pump.drain()
    # Then the post is filed under what was sent and the caption's tags
    post = api.call("GET", f"/posts/{grant['target_id']}", alice).json
    assert post["hashtags"] == ["Lisbon", "beach", "sunset_walk"]
    # And explore counts it under those topics, as it does sent hashtags
    assert {"beach", "sunset_walk", "lisbon"} <= set(wiring.explore_store().topics(now_ms(), 10))


def test_a_photo_reaches_a_followers_feed_with_every_rendition(api: Api, pump: EventPump) -> None:
    # Given bob follows alice
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    # When alice uploads a JPEG and the platform processes it
    grant = upload_photo(api, alice, jpeg_bytes(), caption="first light", location="Lisbon", hashtags=["sunrise"])
    pump.drain()
    # Then her upload is ready and bob's feed shows the post, hydrated
    status = api.call("GET", f"/uploads/{grant['upload_id']}", alice).json
    assert status["status"] == "ready", status
    feed = api.call("GET", "/feed", bob).json
    assert [p["post_id"] for p in feed["items"]] == [grant["target_id"]]
    post = feed["items"][0]
    assert post["author"] == {"user_id": alice.user_id, "username": alice.username}
    assert (post["caption"], post["location"], post["hashtags"]) == ("first light", "Lisbon", ["sunrise"])
    assert (post["width"], post["height"]) == (1080, 810)
    # And each of the nine images is stored, immutable, under its deterministic key
    s3 = client("s3")
    bucket = get_settings().media_bucket
    for size in ("150", "640", "1080"):
        for fmt, ext, mime in (
            ("jpeg", "jpg", "image/jpeg"),
            ("webp", "webp", "image/webp"),
            ("avif", "avif", "image/avif"),
        ):
            key = f"images/{alice.user_id}/{grant['target_id']}/{size}.{ext}"
            assert post["images"][size][fmt] == f"https://cdn.test/{key}"
            head = s3.head_object(Bucket=bucket, Key=key)
            assert head["ContentType"] == mime
            assert head["CacheControl"] == "public, max-age=31536000, immutable"
    # And the post is readable on its own, and counted on alice's profile
    assert api.call("GET", f"/posts/{grant['target_id']}", bob).json == post
    assert api.call("GET", "/me", alice).json["post_count"] == 1


def test_a_text_file_declared_as_jpeg_is_rejected_and_reaches_no_feed(api: Api, pump: EventPump) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    grant = upload_photo(api, alice, b"this is not a picture at all")
    pump.drain()
    status = api.call("GET", f"/uploads/{grant['upload_id']}", alice).json
    assert status["status"] == "rejected"
    assert "not a JPEG, PNG or HEIC" in status["reason"]
    assert api.call("GET", "/feed", bob).json["items"] == []
    assert api.call("GET", f"/posts/{grant['target_id']}", bob).status_code == 404


def test_a_redelivered_post_ready_event_makes_one_post(api: Api, pump: EventPump) -> None:
    # Given a processed upload
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    grant = upload_photo(api, alice, jpeg_bytes(640, 640))
    pump.drain()
    # When its 'post ready' record is delivered again, twice
    post = api.call("GET", f"/posts/{grant['target_id']}", bob).json
    event = PostReady(
        event_id=f"{grant['upload_id']}:ready",
        occurred_at=int(time.time() * 1000),
        upload_id=int(grant["upload_id"]),
        post_id=int(post["post_id"]),
        author_id=int(alice.user_id),
        kind="post",
        width=640,
        height=640,
        images={"640": {"jpeg": f"images/{alice.user_id}/{post['post_id']}/640.jpg"}},
    )
    record = {
        "kinesis": {
            "data": base64.b64encode(event.model_dump_json().encode()).decode(),
            "sequenceNumber": "1",
            "partitionKey": alice.user_id,
        },
        "eventSource": "aws:kinesis",
        "eventID": "shardId-000000000000:1",
    }
    for _ in range(2):
        assert invoke("post_ingest", {"Records": [record]}) == {"batchItemFailures": []}
    # Then there is still one post, counted once, once in the feed
    assert api.call("GET", "/me", alice).json["post_count"] == 1
    assert [p["post_id"] for p in api.call("GET", "/feed", bob).json["items"]] == [grant["target_id"]]


def test_a_redelivered_s3_notification_renders_nothing_twice(api: Api, pump: EventPump) -> None:
    alice = api.sign_up("alice")
    grant = upload_photo(api, alice, jpeg_bytes(400, 300))
    pump.drain()
    key = grant["fields"]["key"]
    event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Post",
                "s3": {"bucket": {"name": get_settings().media_bucket}, "object": {"key": key, "size": 1}},
            }
        ]
    }
    assert invoke("media_process", event) == {"outcomes": {key: "done"}}
    pump.drain()
    assert api.call("GET", "/me", alice).json["post_count"] == 1


def test_a_malformed_kinesis_record_is_reported_alone(api: Api, pump: EventPump) -> None:
    other = FollowChanged(event_id="e", occurred_at=1, follower_id=1, followee_id=2, following=True)
    good_and_bad = {
        "Records": [
            {
                "kinesis": {
                    "data": base64.b64encode(other.model_dump_json().encode()).decode(),
                    "sequenceNumber": "6",
                    "partitionKey": "x",
                },
                "eventSource": "aws:kinesis",
                "eventID": "shardId-000000000000:6",
            },
            {
                "kinesis": {
                    "data": base64.b64encode(b"{not json").decode(),
                    "sequenceNumber": "7",
                    "partitionKey": "x",
                },
                "eventSource": "aws:kinesis",
                "eventID": "shardId-000000000000:7",
            },
        ]
    }
    assert invoke("post_ingest", good_and_bad) == {"batchItemFailures": [{"itemIdentifier": "7"}]}
