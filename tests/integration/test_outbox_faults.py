"""Likes, follows and comments under faults: each change is written with its event (the outbox), so whatever fails
after the commit, the count, the timeline and the notification come right, once (docs/reliability.md)."""

from __future__ import annotations

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from aperture import wiring
from aperture.adapters.redis_store.likes import likes_keys
from local.pump import EventPump
from local.seeding import Account, publish_post
from tests.faults import Broken, FailAfter, InjectedFaultError
from tests.support import Api


def _shown(api: Api, post: str, viewer: Account) -> tuple[int, int, bool]:
    seen = api.call("GET", f"/posts/{post}", viewer).json
    return seen["like_count"], seen["comment_count"], seen["liked_by_me"]


def _inbox(api: Api, who: Account) -> list[tuple[str, str]]:
    items = api.call("GET", "/notifications", who).json["items"]
    return [(n["type"], n["actor"]["username"]) for n in items]


def _feed(api: Api, viewer: Account) -> list[str]:
    return [p["post_id"] for p in api.call("GET", "/feed", viewer, query_string={"limit": 50}).json["items"]]


def test_redis_failing_in_the_middle_of_a_like_leaves_the_count_right_once_the_relay_runs(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a post whose live count Redis holds (carol's like)
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    post = publish_post(alice)
    assert api.call("PUT", f"/posts/{post}/like", carol).json == {"liked": True, "like_count": 1}
    # When Redis fails right after bob's like is committed
    likes = wiring.likes()
    monkeypatch.setattr(likes, "_cache", Broken(likes._cache, "added", RedisConnectionError("redis went away")))
    response = api.call("PUT", f"/posts/{post}/like", bob)
    # Then bob is told his like is kept, and once the relay has run everyone sees two likes, bob's among them
    assert response.status_code == 200 and response.json["liked"] is True
    pump.drain()
    assert _shown(api, post, bob) == (2, 0, True)
    assert _shown(api, post, alice)[0] == 2
    assert sorted(_inbox(api, alice)) == sorted([("like", bob.username)])  # grouped: bob and 1 other


def test_a_like_whose_request_dies_after_the_commit_is_counted_and_notified_once_when_retried(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    likes = wiring.likes()
    monkeypatch.setattr(likes, "_repo", FailAfter(likes._repo, "add"))
    # The first attempt commits and then fails; the client retries
    with pytest.raises(InjectedFaultError):  # (a 500 on AWS)
        api.call("PUT", f"/posts/{post}/like", bob)
    assert api.call("PUT", f"/posts/{post}/like", bob).json["liked"] is True  # the count follows with the relay
    pump.drain()
    assert _shown(api, post, bob) == (1, 0, True)
    assert _inbox(api, alice) == [("like", bob.username)]


def test_a_relay_that_fails_part_way_is_retried_and_nothing_doubles(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a like whose request could not reach Redis, so the relay is what counts it
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    assert _shown(api, post, alice)[0] == 0  # the count is cached
    likes = wiring.likes()
    # Redis is down for the request; the relay's first apply counts the like and dies; its retry is a no-op
    cache = Broken(FailAfter(likes._cache, "added"), "added", RedisConnectionError("redis went away"))
    monkeypatch.setattr(likes, "_cache", cache)
    relay = wiring.relay()
    publisher = FailAfter(relay._events, "publish")  # and its first publish goes out, then fails
    monkeypatch.setattr(relay, "_events", publisher)
    assert api.call("PUT", f"/posts/{post}/like", bob).status_code == 200
    pump.drain()
    assert publisher.calls >= 2  # the record was retried
    assert _shown(api, post, bob) == (1, 0, True)
    assert _inbox(api, alice) == [("like", bob.username)]


def test_unlike_then_like_relayed_late_end_where_dynamodb_ends(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a like whose request could not reach Redis, then an unlike that could
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    assert _shown(api, post, alice)[0] == 0
    likes = wiring.likes()
    monkeypatch.setattr(likes, "_cache", Broken(likes._cache, "added", RedisConnectionError("redis went away")))
    api.call("PUT", f"/posts/{post}/like", bob)
    assert api.call("DELETE", f"/posts/{post}/like", bob).json["liked"] is False
    # When the relay delivers the like after the unlike was applied, it does not bring it back
    pump.drain()
    assert _shown(api, post, bob) == (0, 0, False)
    assert wiring.like_cache().counts([int(post)]) == [0]  # the live count itself, not a clamped -1


def test_a_follow_whose_request_dies_after_the_commit_reaches_the_feed_and_notifies_once(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    graph = wiring.graph()
    monkeypatch.setattr(graph, "_follows", FailAfter(graph._follows, "follow"))
    with pytest.raises(InjectedFaultError):
        api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    assert api.call("PUT", f"/users/{alice.user_id}/follow", bob).json == {"following": True, "requested": False}
    pump.drain()
    assert post in _feed(api, bob)
    assert _inbox(api, alice) == [("follow", bob.username)]
    profile = api.call("GET", f"/users/{alice.username}", bob).json
    assert (profile["follower_count"], profile["relationship"]["following"]) == (1, True)


def test_a_follow_with_redis_down_reaches_the_timeline_through_the_relay(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    _feed(api, bob)  # bob's timeline is cached (empty)
    graph = wiring.graph()
    down = RedisConnectionError("redis went away")
    monkeypatch.setattr(graph, "_cache", Broken(graph._cache, "forget_follow", down))
    assert api.call("PUT", f"/users/{alice.user_id}/follow", bob).json == {"following": True, "requested": False}
    pump.drain()
    assert post in _feed(api, bob)


def test_a_comment_whose_request_dies_after_the_commit_is_kept_once_and_notified_once(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    assert _shown(api, post, bob)[1] == 0  # the count is cached
    comments = wiring.comments()
    monkeypatch.setattr(comments, "_repo", FailAfter(comments._repo, "add"))
    with pytest.raises(InjectedFaultError):
        api.call("POST", f"/posts/{post}/comments", bob, json={"text": "lovely"})
    pump.drain()
    listed = api.call("GET", f"/posts/{post}/comments", alice).json["items"]
    assert [c["text"] for c in listed] == ["lovely"]
    assert _shown(api, post, alice)[1] == 1
    assert _inbox(api, alice) == [("comment", bob.username)]


def test_a_like_applied_to_a_lost_cache_is_not_counted_again_by_the_relay(api: Api, pump: EventPump) -> None:
    # Given a post whose live count Redis no longer holds (expired, or lost)
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    wiring.redis_client().delete(likes_keys(int(post))[0])
    # When bob likes it (the request rebuilds the cache from DynamoDB, his like included) and the relay runs
    assert api.call("PUT", f"/posts/{post}/like", bob).json == {"liked": True, "like_count": 1}
    pump.drain()
    # Then the like is counted once
    assert wiring.like_cache().counts([int(post)]) == [1]
    assert _shown(api, post, bob) == (1, 0, True)
