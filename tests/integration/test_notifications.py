"""Notifications: from follows, likes, comments and mentions to the in-app feed and to push, once each."""

from __future__ import annotations

import base64
import json

from aperture import wiring
from aperture.models.events import LikeChanged
from aperture.settings import get_settings
from local.invoke import invoke
from local.pump import EventPump
from local.seeding import Account, publish_post
from tests.support import Api, jpeg_bytes, upload_photo


def _inbox(api: Api, who: Account) -> dict:
    response = api.call("GET", "/notifications", who)
    assert response.status_code == 200, response.json
    return response.json


def test_a_follow_notifies_the_followed(api: Api, pump: EventPump) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    pump.drain()
    inbox = _inbox(api, alice)
    assert [(n["type"], n["actor"]["username"], n["read"]) for n in inbox["items"]] == [("follow", bob.username, False)]
    assert inbox["unread_count"] == 1
    assert _inbox(api, bob)["items"] == []


def test_acting_on_your_own_post_notifies_nobody(api: Api, pump: EventPump) -> None:
    alice = api.sign_up("alice")
    post = publish_post(alice)
    api.call("PUT", f"/posts/{post}/like", alice)
    api.call("POST", f"/posts/{post}/comments", alice, json={"text": f"me, @{alice.username}"})
    pump.drain()
    assert _inbox(api, alice)["items"] == []


def test_likes_of_one_post_group_into_one_notification(api: Api, pump: EventPump) -> None:
    alice = api.sign_up("alice")
    fans = [api.sign_up("fan") for _ in range(4)]
    post = publish_post(alice)
    for fan in fans:
        api.call("PUT", f"/posts/{post}/like", fan)
    pump.drain()
    items = _inbox(api, alice)["items"]
    assert len(items) == 1
    assert (items[0]["type"], items[0]["post_id"], items[0]["others_count"]) == ("like", post, 3)
    assert items[0]["actor"]["username"] == fans[-1].username  # "dave and 3 others": the latest first


def test_a_comment_notifies_the_author_and_each_mentioned_user(api: Api, pump: EventPump) -> None:
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    post = publish_post(alice)
    api.call("POST", f"/posts/{post}/comments", bob, json={"text": f"@{carol.username} and @{alice.username} look"})
    pump.drain()
    assert [n["type"] for n in _inbox(api, alice)["items"]] == ["comment"]
    mention = _inbox(api, carol)["items"]
    assert [(n["type"], n["actor"]["username"], n["post_id"]) for n in mention] == [("mention", bob.username, post)]


def test_a_caption_notifies_each_existing_user_it_mentions_once(api: Api, pump: EventPump) -> None:
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    api.call("PUT", f"/users/{carol.user_id}/block", alice)  # carol blocks alice
    # Given alice posts a photo whose caption names bob (twice), carol, herself and nobody in particular
    caption = f"Picnic with @{bob.username} and @{carol.username}! @{alice.username} @nobody_here cc @{bob.username}"
    grant = upload_photo(api, alice, jpeg_bytes(), caption=caption)
    pump.drain()
    # Then bob is told once, about the post; carol (who blocks her), alice and nobody are not
    mentions = _inbox(api, bob)["items"]
    assert [(n["type"], n["actor"]["username"], n["post_id"]) for n in mentions] == [
        ("mention", alice.username, grant["target_id"])
    ]
    assert _inbox(api, carol)["items"] == []
    assert _inbox(api, alice)["items"] == []


def test_a_duplicate_delivery_notifies_once(api: Api, pump: EventPump) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    event = LikeChanged(
        event_id="dup-1",
        occurred_at=1,
        post_id=int(post),
        post_author_id=int(alice.user_id),
        user_id=int(bob.user_id),
        liked=True,
    )
    record = {
        "kinesis": {
            "data": base64.b64encode(event.model_dump_json().encode()).decode(),
            "sequenceNumber": "1",
            "partitionKey": post,
        },
        "eventSource": "aws:kinesis",
        "eventID": "shardId-000000000000:1",
    }
    for _ in range(3):
        assert invoke("notify", {"Records": [record]}) == {"batchItemFailures": []}
    assert len(_inbox(api, alice)["items"]) == 1


def test_marking_read_covers_that_one_and_every_older_one(api: Api, pump: EventPump) -> None:
    alice = api.sign_up("alice")
    followers = [api.sign_up("f") for _ in range(3)]
    for follower in followers:
        api.call("PUT", f"/users/{alice.user_id}/follow", follower)
    pump.drain()
    items = _inbox(api, alice)["items"]
    assert len(items) == 3
    middle = items[1]["notification_id"]
    marked = api.call("POST", "/notifications/read", alice, json={"up_to": middle})
    assert marked.json == {"unread_count": 1}
    assert [n["read"] for n in _inbox(api, alice)["items"]] == [False, True, True]
    # Marking an older one later does not unread anything
    api.call("POST", "/notifications/read", alice, json={"up_to": items[2]["notification_id"]})
    assert _inbox(api, alice)["unread_count"] == 1
    # An id past the newest marks what exists, and nothing that comes later
    assert api.call("POST", "/notifications/read", alice, json={"up_to": "9" * 19}).json == {"unread_count": 0}
    api.call("PUT", f"/users/{alice.user_id}/follow", api.sign_up("late"))
    pump.drain()
    assert [n["read"] for n in _inbox(api, alice)["items"]][:2] == [False, True]


def test_nobody_is_notified_by_someone_they_block(api: Api, pump: EventPump) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    api.call("PUT", f"/posts/{post}/like", bob)
    api.call("PUT", f"/users/{bob.user_id}/block", alice)
    pump.drain()
    assert _inbox(api, alice)["items"] == []


def test_notifications_from_someone_who_blocks_you_later_disappear(api: Api, pump: EventPump) -> None:
    # Given bob followed alice (she was notified), and then bob blocks alice
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    pump.drain()
    assert [n["actor"]["username"] for n in _inbox(api, alice)["items"]] == [bob.username]
    api.call("PUT", f"/users/{alice.user_id}/block", bob)
    # Then alice no longer sees anything of bob in her notifications
    assert _inbox(api, alice)["items"] == []


def _sent_to(endpoint_arn: str) -> list[dict]:
    from moto.sns.models import sns_backends

    backend = sns_backends["123456789012"][get_settings().region]
    return [json.loads(m) for m in backend.platform_endpoints[endpoint_arn].messages.values()]


def test_a_registered_device_gets_a_push(api: Api, pump: EventPump) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    device = api.call("POST", "/devices", alice, json={"platform": "fcm", "token": "fcm-token-0123456789"})
    assert device.status_code == 201 and device.json["platform"] == "fcm"
    again = api.call("POST", "/devices", alice, json={"platform": "fcm", "token": "fcm-token-0123456789"})
    assert again.json["device_id"] == device.json["device_id"]  # registering twice is one device
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    pump.drain()
    [stored] = wiring.devices().of_user(int(alice.user_id))
    [message] = _sent_to(stored.endpoint_arn)
    assert message["default"] == f"{bob.username} started following you"
    assert json.loads(message["GCM"])["data"]["type"] == "follow"


def test_a_device_is_removed_only_by_its_owner(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    device = api.call("POST", "/devices", alice, json={"platform": "apns", "token": "apns-token-abcdef0123"}).json
    assert api.call("DELETE", f"/devices/{device['device_id']}", bob).status_code == 404
    assert api.call("DELETE", f"/devices/{device['device_id']}", alice).status_code == 204
    assert wiring.devices().of_user(int(alice.user_id)) == []


def test_a_phone_that_changes_accounts_pushes_only_to_the_new_one(api: Api, pump: EventPump) -> None:
    # Given alice's phone, later signed in as carol (same push token)
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    token = {"platform": "apns", "token": "shared-phone-token-42"}
    assert api.call("POST", "/devices", alice, json=token).status_code == 201
    assert api.call("POST", "/devices", carol, json=token).status_code == 201
    # When bob follows alice, then the phone (now carol's) gets nothing, and alice's stale record is dropped
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    pump.drain()
    [device] = wiring.devices().of_user(int(carol.user_id))
    assert _sent_to(device.endpoint_arn) == []
    assert wiring.devices().of_user(int(alice.user_id)) == []
