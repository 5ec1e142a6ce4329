"""Erasing an account (DELETE /me): switched off at once, then every record, object, cache entry and index entry of
it deleted by the erasure worker in bounded rounds, finished by its retry wherever it stops; the username free
again, and the other users' counts right (docs/security.md, "Erasure"; docs/reliability.md)."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest

from aperture import wiring
from aperture.activity import names
from aperture.adapters.activity_archive import decode
from aperture.adapters.aws import dynamo_table
from aperture.adapters.redis_store.search import encode_id
from aperture.adapters.redis_store.standing import DISABLED_KEY
from aperture.clock import now_ms
from aperture.erasure import Erasure
from aperture.models.events import LikeChanged
from aperture.resources import ACTIVITY_LOG_PREFIX, TABLES
from aperture.settings import get_settings
from aperture.standing import ERASED_TOMBSTONE_SECONDS
from local.invoke import invoke
from local.pump import EventPump
from local.seeding import Account, publish_post, publish_story, ready_event
from tests.faults import FailAfter
from tests.support import PASSWORD, Api, jpeg_bytes

# Tables whose items name the erased user and are not deleted with the account, each for a reason:
# - outbox: the event log itself (each change's event, written with it): read once by the stream consumers, then
#   gone by TTL after OUTBOX_RETENTION_SECONDS (two days), like the events stream's own 24-hour retention.
KEPT_TABLES = {"outbox"}


def _is_tombstone(table: str, item: dict[str, Any]) -> bool:
    """The erased account's disabled record, kept (naming only its id) until its last IdToken has expired, then
    removed by the table's TTL: until then that token is refused (aperture.standing.ERASED_TOMBSTONE_SECONDS)."""
    expires_at = int(item.get("expires_at", 0))
    return (
        table == "disabled_accounts"
        and set(item) == {"user_id", "reason", "since", "expires_at"}
        and item["reason"] == "erased"
        and time.time() < expires_at <= time.time() + ERASED_TOMBSTONE_SECONDS
    )


def _plain(value: Any) -> Any:
    if isinstance(value, set | frozenset):  # (a string or number set: a queue entry's reasons)
        return sorted(str(v) for v in value)
    return str(value) if isinstance(value, Decimal) else value


def _traces_in_tables(user_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every item of every table (each declared in aperture.resources) that names the user anywhere."""
    found: dict[str, list[dict[str, Any]]] = {}
    settings = get_settings()
    for table in TABLES:
        if table.key in KEPT_TABLES:
            continue
        resource = dynamo_table(getattr(settings, table.setting))
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {"ConsistentRead": True}
        while True:
            page = resource.scan(**request)
            items += [
                i for i in page["Items"] if user_id in json.dumps(i, default=_plain) and not _is_tombstone(table.key, i)
            ]
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        if items:
            found[table.key] = items
    return found


def _value(redis: Any, key: str) -> str:
    kind = redis.type(key)
    reads = {
        "string": lambda: redis.get(key),
        "hash": lambda: redis.hgetall(key),
        "set": lambda: sorted(redis.smembers(key)),
        "zset": lambda: redis.zrange(key, 0, -1),
        "list": lambda: redis.lrange(key, 0, -1),
        "stream": lambda: redis.xrange(key),
    }
    try:
        return json.dumps(reads[kind]() if kind in reads else kind, default=str)
    except UnicodeDecodeError:
        return ""


def _traces_in_redis(user_id: str) -> list[str]:
    """Every key of the whole keyspace whose name or value names the user (as a number, or as the search index
    encodes it)."""
    redis = wiring.redis_client()
    names = (user_id, encode_id(int(user_id)))
    found = []
    for key in redis.scan_iter(count=1_000):
        if key == DISABLED_KEY:
            continue  # the cached copy of the disabled accounts, the tombstone among them (see _is_tombstone)
        if user_id in key or any(n in _value(redis, key) for n in names):
            found.append(key)
    return sorted(found)


def _traces_in_bucket(user_id: str) -> list[str]:
    """Every object whose key names the user, and every activity log object holding a record that names them."""
    store = wiring.media_store()
    logs = store.keys_under(ACTIVITY_LOG_PREFIX)
    named = [k for k in logs if any(names(r, int(user_id)) for r in decode(store.read(k)))]
    return sorted([*(k for k in store.keys_under("") if user_id in k), *named])


def _everything_of(user_id: str) -> dict[str, Any]:
    return {
        "tables": _traces_in_tables(user_id),
        "redis": _traces_in_redis(user_id),
        "bucket": _traces_in_bucket(user_id),
    }


def _endpoints_of(user_id: str) -> list[str]:
    from moto.sns.models import sns_backends

    backend = sns_backends["123456789012"][get_settings().region]
    return [arn for arn, e in backend.platform_endpoints.items() if e.custom_user_data == user_id]


NOTHING: dict[str, Any] = {"tables": {}, "redis": [], "bucket": []}


@dataclasses.dataclass
class World:
    erin: Account  # the one who leaves
    friends: dict[str, Account]
    their_post: str  # bob's post, which erin liked, saved and commented on
    erins_posts: list[str]


def _world(api: Api, pump: EventPump) -> World:
    """erin did everything: posts (one a carousel), a story and highlights, comments on others' posts, likes,
    saves, follows both ways, a pending follow request, blocks and mutes both ways, close friends both ways, a
    device, notifications both ways, story views, search entries and explore signals."""
    erin = api.sign_up("erin")
    names = ("bob", "carol", "dave", "frank", "gina", "hal")
    friends = {n: api.sign_up(n) for n in names}
    bob, carol, dave, frank, gina, hal = friends.values()
    store = wiring.media_store()
    assert api.call("PATCH", "/me", erin, json={"display_name": "Erin Example"}).status_code == 200
    # Follows both ways, and a follow request of erin's to a private account (hal) pending
    assert api.call("PATCH", "/me", hal, json={"private": True}).status_code == 200
    for follower, followee in ((erin, bob), (erin, carol), (bob, erin), (carol, erin), (dave, erin)):
        assert api.call("PUT", f"/users/{followee.user_id}/follow", follower).status_code == 200
    assert api.call("PUT", f"/users/{hal.user_id}/follow", erin).status_code == 202
    for reader in (bob, carol, erin):
        api.call("GET", "/feed", reader)  # active readers: posts are pushed to their timelines
    # erin's posts: a plain one and a three-photo carousel, with images and a hashtag
    plain = publish_post(erin, "hello #erinsworld")
    carousel_event = ready_event(erin, "post", ("150", "640", "1080"), width=1080, height=1080, caption="three")
    wiring.posts().ingest(carousel_event)
    carousel = str(carousel_event.post_id)
    for post in (plain, carousel):
        store.write_immutable(f"images/{erin.user_id}/{post}/640.jpg", jpeg_bytes(64, 64), "image/jpeg")
    # A story (viewed by bob), and two highlights: one of a live story, one whose record was purged
    story = publish_story(erin)
    store.write_immutable(f"images/{erin.user_id}/{story}/1080.jpg", jpeg_bytes(64, 64), "image/jpeg")
    assert api.call("POST", f"/stories/{story}/views", bob).status_code == 204
    kept = wiring.story_repository().get(int(story))
    assert kept is not None
    wiring.highlights().put(kept)
    old = publish_story(erin)
    old_record = wiring.story_repository().get(int(old))
    assert old_record is not None
    wiring.highlights().put(old_record)
    dynamo_table(get_settings().table_stories).delete_item(Key={"story_id": int(old)})  # purged by TTL
    # A raw upload still pending (never processed)
    pending = {"kind": "post", "content_type": "image/jpeg", "content_length": 1000}
    assert api.call("POST", "/uploads", erin, json=pending).status_code == 201
    # On bob's post: erin likes, saves and comments (mentioning carol); carol likes it too (a grouped notification)
    their_post = publish_post(bob, "bob's #sunset")
    assert api.call("PUT", f"/posts/{their_post}/like", carol).status_code == 200
    assert api.call("PUT", f"/posts/{their_post}/like", erin).status_code == 200
    assert api.call("PUT", f"/posts/{their_post}/save", erin).status_code == 200
    comment = {"text": f"lovely @{carol.username}"}
    assert api.call("POST", f"/posts/{their_post}/comments", erin, json=comment).status_code == 201
    # Others on erin's posts: bob likes and comments (erin's inbox), saves it
    assert api.call("PUT", f"/posts/{plain}/like", bob).status_code == 200
    assert api.call("PUT", f"/posts/{plain}/save", bob).status_code == 200
    assert api.call("POST", f"/posts/{plain}/comments", bob, json={"text": "nice"}).status_code == 201
    # erin views bob's story
    bobs_story = publish_story(bob)
    assert api.call("POST", f"/stories/{bobs_story}/views", erin).status_code == 204
    # Blocks and mutes both ways, close friends both ways
    assert api.call("PUT", f"/users/{frank.user_id}/block", erin).status_code == 200
    assert api.call("PUT", f"/users/{erin.user_id}/block", gina).status_code == 200
    assert api.call("PUT", f"/users/{dave.user_id}/mute", erin).status_code == 200
    assert api.call("PUT", f"/users/{erin.user_id}/mute", carol).status_code == 200
    assert api.call("PUT", f"/me/close_friends/{bob.user_id}", erin).status_code == 200
    assert api.call("PUT", f"/me/close_friends/{erin.user_id}", carol).status_code == 200
    # Reports both ways: erin reports bob's post; carol reports erin's post and erin herself
    for reporter, target in (
        (erin, {"post_id": their_post}),
        (carol, {"post_id": plain}),
        (carol, {"user_id": erin.user_id}),
    ):
        assert api.call("POST", "/reports", reporter, json={"target": target, "reason": "spam"}).status_code == 201
    # A push device
    device = api.call("POST", "/devices", erin, json={"platform": "fcm", "token": "fcm-token-erin-0123456789"})
    assert device.status_code == 201
    pump.drain()
    # Explore: erin opens it (an active viewer), and a refresh builds the model with her vector
    invoke("explore_refresh", {})
    api.call("GET", "/explore", erin)
    api.call("GET", f"/posts/{their_post}", erin)  # caches of the post as erin sees it
    api.call("GET", "/stories/tray", erin)
    api.call("GET", "/stories/tray", bob)
    api.call("GET", f"/search/users?q={erin.username[:4]}", bob)
    pump.drain()
    # The activity log: bob's ranked feed shows erin's posts, then most records go to S3 and a few stay queued
    api.call("GET", "/feed", bob, query_string={"order": "ranked"})
    invoke("activity_flush", {})
    api.call("GET", f"/users/{bob.username}", erin)  # a profile open, still in the stream
    api.call("GET", "/feed", erin, query_string={"order": "ranked"})
    queued = [_value(wiring.redis_client(), f"activity:{{{shard}}}") for shard in range(8)]
    assert any(erin.user_id in entries for entries in queued)
    return World(erin, friends, their_post, [plain, carousel])


def _erase(api: Api, pump: EventPump, erin: Account) -> None:
    assert api.call("DELETE", "/me", erin, json={"password": PASSWORD}).status_code == 202
    pump.drain()  # every round, every cascade, every event they wrote


def test_an_erased_account_leaves_nothing_in_any_table_key_or_object(api: Api, pump: EventPump) -> None:
    world = _world(api, pump)
    erin, bob, carol = world.erin, world.friends["bob"], world.friends["carol"]
    assert len(_endpoints_of(erin.user_id)) == 1
    before = _everything_of(erin.user_id)
    assert {"users", "posts", "follows", "likes", "saves", "comments", "notifications", "devices"} <= set(
        before["tables"]
    ), before["tables"].keys()
    assert before["redis"] and before["bucket"]
    # When erin erases her account, and every round of the worker has run
    _erase(api, pump, erin)
    # Then nothing anywhere names her, and her device's push endpoint is gone
    assert _endpoints_of(erin.user_id) == []
    left = _everything_of(erin.user_id)
    assert left == NOTHING, json.dumps(left, default=str)[:3000]
    # And the others' counts are right: bob and carol lost a follower and a followee, bob's post a like and a comment
    bob_now = api.call("GET", f"/users/{bob.username}", carol).json
    assert (bob_now["follower_count"], bob_now["following_count"]) == (0, 0)
    carol_now = api.call("GET", f"/users/{carol.username}", bob).json
    assert (carol_now["follower_count"], carol_now["following_count"]) == (0, 0)
    post = api.call("GET", f"/posts/{world.their_post}", carol).json
    assert (post["like_count"], post["comment_count"]) == (1, 0)
    # And bob's feed holds none of her posts, and carol's notifications none of her doing
    assert all(p["author"]["user_id"] != erin.user_id for p in api.call("GET", "/feed", bob).json["items"])
    inbox = api.call("GET", "/notifications", carol).json["items"]
    assert all(n["actor"]["user_id"] != erin.user_id for n in inbox)


def test_an_erased_users_unlike_delivered_after_the_erasure_leaves_no_trace_in_explore(
    api: Api, pump: EventPump
) -> None:
    # Given erin liked bob's post, and was erased
    erin, bob = api.sign_up("erin"), api.sign_up("bob")
    post = publish_post(bob, "#late")
    assert api.call("PUT", f"/posts/{post}/like", erin).status_code == 200
    _erase(api, pump, erin)
    # When the unlike the erasure wrote reaches explore's signals late (another consumer, another pace)
    late = LikeChanged(
        event_id=uuid.uuid4().hex,
        occurred_at=now_ms(),
        post_id=int(post),
        post_author_id=int(bob.user_id),
        user_id=int(erin.user_id),
        liked=False,
    )
    wiring.explore_signals().record([late])
    # Then it brings back nothing of her
    assert _traces_in_redis(erin.user_id) == []


def test_the_username_is_free_again_after_erasure(api: Api, pump: EventPump) -> None:
    erin = api.sign_up("erin")
    _erase(api, pump, erin)
    again = api.call(
        "POST",
        "/auth/signup",
        json={"username": erin.username, "password": PASSWORD, "email": f"{erin.username}@example.org"},
    )
    assert again.status_code == 201, again.json
    assert again.json["user_id"] != erin.user_id


def test_a_wrong_password_erases_nothing(api: Api, pump: EventPump) -> None:
    erin, bob = api.sign_up("erin"), api.sign_up("bob")
    assert api.call("PUT", f"/users/{bob.user_id}/follow", erin).status_code == 200
    answer = api.call("DELETE", "/me", erin, json={"password": "not-my-password-1"})
    assert answer.status_code == 403 and answer.json["error"]["code"] == "wrong_password"
    pump.drain()
    assert api.call("GET", f"/users/{erin.username}", bob).status_code == 200
    assert api.call("GET", "/me", erin).status_code == 200


@pytest.mark.parametrize("body", [{}, {"password": ""}, {"password": 5}, {"password": "x", "also": 1}])
def test_a_malformed_erasure_request_is_422(api: Api, body: dict[str, Any]) -> None:
    erin = api.sign_up("erin")
    answer = api.call("DELETE", "/me", erin, json=body)
    assert answer.status_code == 422 and set(answer.json["error"]) == {"code", "message"}


def test_from_the_moment_of_erasure_the_profile_is_gone_and_the_token_refused(api: Api, pump: EventPump) -> None:
    erin, bob = api.sign_up("erin"), api.sign_up("bob")
    post = publish_post(erin, "soon gone")
    assert api.call("PUT", f"/users/{erin.user_id}/follow", bob).status_code == 200
    assert api.call("DELETE", "/me", erin, json={"password": PASSWORD}).status_code == 202
    # Before the worker has run at all
    assert api.call("GET", f"/users/{erin.username}", bob).status_code == 404
    assert api.call("GET", f"/posts/{post}", bob).status_code == 404
    # A second DELETE (a client's retry) is refused like every request of a switched-off account
    again = api.call("DELETE", "/me", erin, json={"password": PASSWORD})
    assert again.status_code == 401 and again.json["error"]["code"] == "account_disabled"
    pump.drain()


def test_a_user_with_more_than_a_batch_is_erased_over_several_rounds(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch
) -> None:
    erin, bob = api.sign_up("erin"), api.sign_up("bob")
    posts = [publish_post(bob) for _ in range(7)]
    for post in posts:
        assert api.call("PUT", f"/posts/{post}/like", erin).status_code == 200
    pump.drain()
    small = Erasure(wiring.erasure().ports, batch=3)
    rounds: list[int] = []

    def counting() -> Erasure:
        rounds.append(1)
        return small

    monkeypatch.setattr(wiring, "erasure", counting)
    _erase(api, pump, erin)
    assert len(rounds) >= 4  # 3 + 3 + 1 likes, then the round that finds nothing and finishes
    assert _everything_of(erin.user_id) == NOTHING
    assert all(api.call("GET", f"/posts/{p}", bob).json["like_count"] == 0 for p in posts)


STEPS = [
    ("posts", "take_down"),
    ("stories", "take_down"),
    ("comments", "delete"),
    ("likes", "set_liked"),
    ("saves", "remove"),
    ("follows", "unfollow"),
    ("graph", "after"),
    ("records", "delete_block"),
    ("records", "delete_mute"),
    ("close_friends", "remove"),
    ("records", "drop_actor"),
    ("records", "delete_notifications"),
    ("devices", "delete"),
    ("records", "delete_views"),
    ("records", "delete_uploads"),
    ("images", "delete_under"),
    ("user_index", "replace"),
    ("traces", "forget_keys"),
    ("activity", "drop_queued"),
    ("activity", "rewrite_objects"),
    ("records", "delete_profile"),
]


@pytest.mark.parametrize(("port", "step"), STEPS)
def test_an_erasure_that_dies_after_any_step_is_finished_by_its_retry(
    api: Api, pump: EventPump, port: str, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = _world(api, pump)
    ports = wiring.erasure().ports
    failing = Erasure(dataclasses.replace(ports, **{port: FailAfter(getattr(ports, port), step)}), 100)
    monkeypatch.setattr(wiring, "erasure", lambda: failing)
    _erase(api, pump, world.erin)  # the first run dies after the step; the stream redelivers, the retry finishes
    assert getattr(failing.ports, port).calls >= 1, "the step never ran"
    assert _everything_of(world.erin.user_id) == NOTHING
    bob = world.friends["bob"]
    post = api.call("GET", f"/posts/{world.their_post}", bob).json
    assert (post["like_count"], post["comment_count"]) == (1, 0)  # nothing counted twice
    assert api.call("GET", f"/users/{bob.username}", world.friends["carol"]).json["follower_count"] == 0


def test_an_account_with_two_step_sign_in_and_a_data_export_is_erased_with_both(api: Api, pump: EventPump) -> None:
    # Given erin, who turned on two-step sign-in and downloaded her data
    from tests.integration.test_sessions import _enable_totp

    erin = api.sign_up("erin")
    publish_post(erin)
    _enable_totp(api, erin)
    export_id = api.call("POST", "/me/export", erin).json["export_id"]
    pump.drain()
    assert api.call("GET", f"/me/exports/{export_id}", erin).json["status"] == "ready"
    assert any(key.startswith(f"exports/{erin.user_id}/") for key in _traces_in_bucket(erin.user_id))
    # When she erases her account with her password (Cognito would ask for her code next: the password was right)
    assert api.call("DELETE", "/me", erin, json={"password": PASSWORD}).status_code == 202
    pump.drain()
    # Then nothing of her is left, her export's ZIP and records included
    assert _everything_of(erin.user_id) == NOTHING


def test_a_token_issued_before_the_erasure_stays_refused_after_it_finished(api: Api, pump: EventPump) -> None:
    # Given erin erased, every round of the worker run, and her IdToken still within its hour
    erin, bob = api.sign_up("erin"), api.sign_up("bob")
    post_id = publish_post(bob)
    pump.drain()
    _erase(api, pump, erin)
    # When the old token likes, follows and signs out
    answers = [
        api.call("PUT", f"/posts/{post_id}/like", erin),
        api.call("PUT", f"/users/{bob.user_id}/follow", erin),
        api.call("POST", "/auth/signout", erin),
    ]
    # Then each is refused, and nothing of hers appears
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert api.call("GET", f"/posts/{post_id}", bob).json["like_count"] == 0
    assert _everything_of(erin.user_id) == NOTHING
