"""Deleting a post: one committed event, and a cascade that removes everything hanging off it, finished by its
retry wherever it stops (docs/reliability.md)."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from aperture import wiring
from aperture.adapters.aws import dynamo_table
from aperture.cascade import Cascade
from aperture.clock import now_ms
from aperture.models.events import LikeChanged, PostDeleted
from aperture.posts import Posts
from aperture.settings import get_settings
from local.pump import EventPump
from local.seeding import Account, publish_post, publish_story
from tests.faults import FailAfter, InjectedFaultError
from tests.support import Api, jpeg_bytes


def _world(api: Api, pump: EventPump) -> tuple[dict[str, Account], str]:
    """alice's post, in bob's feed, liked and saved by bob, commented by carol mentioning dave; everything
    delivered."""
    people = {name: api.sign_up(name) for name in ("alice", "bob", "carol", "dave")}
    alice, bob, carol, dave = people.values()
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    api.call("GET", "/feed", bob)  # an active reader: the post is pushed to bob's timeline
    post = publish_post(alice, "sunset #beach")
    store = wiring.media_store()
    store.write_immutable(f"images/{alice.user_id}/{post}/640.jpg", jpeg_bytes(64, 64), "image/jpeg")
    assert api.call("PUT", f"/posts/{post}/like", bob).status_code == 200
    assert api.call("PUT", f"/posts/{post}/save", bob).status_code == 200
    comment = {"text": f"lovely @{dave.username}"}
    assert api.call("POST", f"/posts/{post}/comments", carol, json=comment).status_code == 201
    pump.drain()
    api.call("GET", f"/posts/{post}", bob)  # cached copy, preview, like state, bob's saved list
    assert [n["type"] for n in api.call("GET", "/notifications", alice).json["items"]] == ["comment", "like", "follow"]
    assert [n["type"] for n in api.call("GET", "/notifications", dave).json["items"]] == ["mention"]
    return people, post


def _left_of(post: str, people: dict[str, Account]) -> dict[str, Any]:
    """What of the post is still anywhere: DynamoDB, Redis, S3."""
    settings = get_settings()
    post_id = int(post)
    redis = wiring.redis_client()
    alice = people["alice"]
    notifications = dynamo_table(settings.table_notifications)
    return {
        "comments": dynamo_table(settings.table_comments).query(KeyConditionExpression=Key("post_id").eq(post_id))[
            "Items"
        ],
        "likes": dynamo_table(settings.table_likes).query(KeyConditionExpression=Key("post_id").eq(post_id))["Items"],
        "saves": [
            s for s in dynamo_table(settings.table_saves).scan(ConsistentRead=True)["Items"] if s["post_id"] == post_id
        ],
        "in saved lists": [
            key for key in redis.scan_iter("saved:*") if redis.type(key) == "set" and redis.sismember(key, post)
        ],
        "notifications": [
            n
            for who in people.values()
            for n in notifications.query(KeyConditionExpression=Key("user_id").eq(int(who.user_id)))["Items"]
            if n.get("post_id") == post_id
        ],
        "redis keys": sorted(redis.scan_iter(f"*{post}*")),
        "in timelines": [
            key for key in redis.scan_iter("*") if redis.type(key) == "zset" and redis.zscore(key, post.zfill(20))
        ],
        "in explore": [key for key in redis.scan_iter("xp:*") if redis.type(key) == "zset" and redis.zscore(key, post)],
        "images": list(wiring.media_store().keys_under(f"images/{alice.user_id}/{post}/")),
    }


NOTHING = {
    k: []
    for k in (
        "comments",
        "likes",
        "saves",
        "in saved lists",
        "notifications",
        "redis keys",
        "in timelines",
        "in explore",
        "images",
    )
}


def test_a_deleted_post_leaves_nothing_behind(api: Api, pump: EventPump) -> None:
    people, post = _world(api, pump)
    before = _left_of(post, people)
    assert all(before[k] for k in NOTHING if k != "in explore"), before
    assert api.call("DELETE", f"/posts/{post}", people["alice"]).status_code == 204
    pump.drain()
    assert _left_of(post, people) == NOTHING
    assert api.call("GET", f"/posts/{post}", people["bob"]).status_code == 404
    assert api.call("GET", f"/users/{people['alice'].username}", people["bob"]).json["post_count"] == 0
    assert [n["type"] for n in api.call("GET", "/notifications", people["alice"]).json["items"]] == ["follow"]


def test_a_mention_whose_comment_was_deleted_goes_with_the_post(api: Api, pump: EventPump) -> None:
    # Given dave's mention of alice's post, outliving carol's comment that made it (no comment names dave now)
    people, post = _world(api, pump)
    comment = api.call("GET", f"/posts/{post}/comments", people["alice"]).json["items"][0]
    assert api.call("DELETE", f"/posts/{post}/comments/{comment['comment_id']}", people["carol"]).status_code == 204
    dave = int(people["dave"].user_id)
    assert [n["type"] for n in _left_of(post, people)["notifications"] if n["user_id"] == dave] == ["mention"]
    # When alice deletes the post
    assert api.call("DELETE", f"/posts/{post}", people["alice"]).status_code == 204
    pump.drain()
    # Then no inbox keeps a notification about it, dave's included
    assert _left_of(post, people) == NOTHING


STEPS = [
    ("notifications", "forget_post"),
    ("comments", "purge"),
    ("likes", "purge"),
    ("saved_cache", "forget_post"),
    ("saves", "purge"),
    ("like_cache", "forget"),
    ("timeline", "remove_everywhere"),
    ("explore", "forget_post"),
    ("images", "delete_under"),
]


@pytest.mark.parametrize(("port", "step"), STEPS)
def test_a_cascade_that_dies_after_any_step_is_finished_by_its_retry(
    api: Api, pump: EventPump, port: str, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    people, post = _world(api, pump)
    # Given the deletion committed, and its cascade's first run dying right after `step`
    cascade = wiring.cascade()
    ports = cascade.ports
    failing = Cascade(dataclasses.replace(ports, **{port: FailAfter(getattr(ports, port), step)}))
    monkeypatch.setattr(wiring, "cascade", lambda: failing)
    assert api.call("DELETE", f"/posts/{post}", people["alice"]).status_code == 204
    pump.drain()  # the first run dies; the stream delivers the record again, and the retry finishes
    assert _left_of(post, people) == NOTHING


def test_a_delete_whose_request_dies_after_the_commit_is_still_cascaded(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch
) -> None:
    people, post = _world(api, pump)
    posts = wiring.posts()
    failing = Posts(dataclasses.replace(posts.ports, posts=FailAfter(posts.ports.posts, "delete")))
    monkeypatch.setattr(wiring, "posts", lambda: failing)
    with pytest.raises(InjectedFaultError):  # (a 500 on AWS)
        api.call("DELETE", f"/posts/{post}", people["alice"])
    monkeypatch.undo()
    assert api.call("DELETE", f"/posts/{post}", people["alice"]).status_code == 404  # the retry: gone already
    pump.drain()
    assert _left_of(post, people) == NOTHING


def test_a_like_delivered_after_the_cascade_notifies_nobody(api: Api, pump: EventPump) -> None:
    people, post = _world(api, pump)
    alice, carol = people["alice"], people["carol"]
    assert api.call("DELETE", f"/posts/{post}", alice).status_code == 204
    pump.drain()
    late = LikeChanged(
        event_id=uuid.uuid4().hex,
        occurred_at=now_ms(),
        post_id=int(post),
        post_author_id=int(alice.user_id),
        user_id=int(carol.user_id),
        liked=True,
    )
    assert wiring.notifier().handle(late) == 0
    assert [n["type"] for n in api.call("GET", "/notifications", alice).json["items"]] == ["follow"]


def test_a_redelivered_deletion_event_changes_nothing(api: Api, pump: EventPump) -> None:
    people, post = _world(api, pump)
    alice = people["alice"]
    assert api.call("DELETE", f"/posts/{post}", alice).status_code == 204
    pump.drain()
    record = PostDeleted(
        event_id="again", occurred_at=now_ms(), post_id=int(post), author_id=int(alice.user_id), upload_id=1
    )
    outcome = wiring.cascade().post_deleted(record)
    assert (outcome.likes, outcome.images) == (0, 0)
    assert _left_of(post, people) == NOTHING


def _story_world(api: Api, pump: EventPump) -> tuple[Account, Account, str]:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    story = publish_story(alice)
    wiring.media_store().write_immutable(f"images/{alice.user_id}/{story}/1080.jpg", jpeg_bytes(64, 64), "image/jpeg")
    assert api.call("POST", f"/stories/{story}/views", bob).status_code == 204
    pump.drain()
    assert api.call("GET", f"/stories/{story}/viewers", alice).json["view_count"] == 1
    return alice, bob, story


def _story_left(alice: Account, story: str) -> dict[str, Any]:
    views = dynamo_table(get_settings().table_story_views)
    return {
        "views": views.query(KeyConditionExpression=Key("story_id").eq(int(story)))["Items"],
        "redis keys": sorted(wiring.redis_client().scan_iter(f"*{story}*")),
        "images": list(wiring.media_store().keys_under(f"images/{alice.user_id}/{story}/")),
    }


STORY_STEPS = [("story_views", "purge"), ("highlights", "delete"), ("story_cache", "forget"), ("images", "delete")]


@pytest.mark.parametrize(("port", "step"), [(None, None), *STORY_STEPS])
def test_a_deleted_story_leaves_nothing_behind_even_if_its_cascade_dies_after_a_step(
    api: Api, pump: EventPump, port: str | None, step: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob, story = _story_world(api, pump)
    if port and step:
        ports = wiring.cascade().ports
        failing = Cascade(dataclasses.replace(ports, **{port: FailAfter(getattr(ports, port), step)}))
        monkeypatch.setattr(wiring, "cascade", lambda: failing)
    assert api.call("DELETE", f"/stories/{story}", alice).status_code == 204
    pump.drain()
    assert _story_left(alice, story) == {"views": [], "redis keys": [], "images": []}
    assert api.call("GET", "/stories/tray", bob).json["items"] == []
