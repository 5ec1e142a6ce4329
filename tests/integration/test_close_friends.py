"""Close friends: the list (idempotent, paged, refused for yourself, a missing or blocked user), and stories for close
friends seen only by those on the author's list at the time of viewing: tray, stories, highlights and views, with
nothing telling anyone else that such a story exists; exactly once under faults (docs/reliability.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from aperture import wiring
from aperture.adapters.redis_store.close_friends import close_of_keys
from aperture.close_friends import CloseFriends
from bench.round_trips import RoundTrips
from local.redis_server import free_port
from local.seeding import Account, ready_event
from tests.faults import Broken, FailAfter, InjectedFaultError
from tests.support import Api, logged_warnings, settings_env


def _story(author: Account, audience: str = "everyone") -> str:
    event = ready_event(author, "story", ("1080",), width=1080, height=1920, audience=audience)
    wiring.stories().ingest(event)
    return str(event.post_id)


def _set(api: Api, owner: Account, friend: Account | str, close: bool = True) -> Any:
    target = friend if isinstance(friend, str) else friend.user_id
    return api.call("PUT" if close else "DELETE", f"/me/close_friends/{target}", owner)


def _listed(api: Api, owner: Account, **query: Any) -> list[str]:
    response = api.call("GET", "/me/close_friends", owner, query_string=query)
    assert response.status_code == 200, response.json
    return [u["username"] for u in response.json["items"]]


def _tray(api: Api, viewer: Account) -> dict[str, tuple[int, bool]]:
    items = api.call("GET", "/stories/tray", viewer).json["items"]
    return {e["user"]["username"]: (e["story_count"], e["close_friends"]) for e in items}


def _stories(api: Api, viewer: Account, author: Account) -> dict[str, str]:
    response = api.call("GET", f"/users/{author.user_id}/stories", viewer)
    assert response.status_code == 200, response.json
    return {s["story_id"]: s["audience"] for s in response.json["items"]}


@dataclass
class World:
    alice: Account  # posts an everyone story and a close-friends story
    bob: Account  # on alice's close friends; follows her
    carol: Account  # follows her, not on the list
    everyone: str
    close: str


@pytest.fixture
def world(api: Api) -> World:
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    wiring.story_cache().mark_live_sets_intact()  # (trays are kept, as on a running platform)
    for follower in (bob, carol):
        api.call("PUT", f"/users/{alice.user_id}/follow", follower)
    assert _set(api, alice, bob).json == {"close_friend": True}
    return World(alice, bob, carol, _story(alice), _story(alice, "close_friends"))


def test_adding_twice_lists_once_and_removing_twice_leaves_nothing(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    for _ in range(2):
        assert _set(api, alice, bob).json == {"close_friend": True}
    assert _listed(api, alice) == [bob.username]
    assert _listed(api, bob) == []  # the list is the owner's: bob's own is empty
    for _ in range(2):
        assert _set(api, alice, bob, False).json == {"close_friend": False}
    assert _listed(api, alice) == []


def test_the_list_pages_without_repeats(api: Api) -> None:
    alice = api.sign_up("alice")
    friends = [api.sign_up("friend") for _ in range(3)]
    for friend in friends:
        _set(api, alice, friend)
    seen: list[str] = []
    cursor = None
    while True:
        page = api.call(
            "GET", "/me/close_friends", alice, query_string={"limit": 2, **({"cursor": cursor} if cursor else {})}
        )
        seen += [u["username"] for u in page.json["items"]]
        cursor = page.json["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(f.username for f in friends)


def test_yourself_a_missing_or_blocked_user_and_bad_input_are_refused_and_change_nothing(api: Api) -> None:
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    api.call("PUT", f"/users/{alice.user_id}/block", bob)  # bob blocks alice
    api.call("PUT", f"/users/{carol.user_id}/block", alice)  # alice blocks carol
    refused = {
        alice.user_id: (422, "invalid_input"),
        "123456": (404, "user_not_found"),
        "not-an-id": (404, "not_found"),
        bob.user_id: (404, "user_not_found"),
        carol.user_id: (403, "forbidden"),
    }
    for target, (status, code) in refused.items():
        response = _set(api, alice, target)
        assert (response.status_code, response.json["error"]["code"]) == (status, code), target
    assert _listed(api, alice) == []
    assert api.call("GET", "/me/close_friends").status_code == 401
    assert api.call("PUT", f"/me/close_friends/{bob.user_id}").status_code == 401
    for query in ({"limit": 0}, {"limit": 51}, {"cursor": "garbage"}):
        assert api.call("GET", "/me/close_friends", alice, query_string=query).status_code == 422
    # A story's audience is "everyone" or "close_friends", and for stories only
    for ask in ({"kind": "story", "audience": "friends"}, {"kind": "post", "audience": "close_friends"}):
        grant = api.call("POST", "/uploads", alice, json={"content_type": "image/jpeg", "content_length": 9, **ask})
        assert grant.status_code == 422 and "error" in grant.json, ask
    grant = api.call(
        "POST",
        "/uploads",
        alice,
        json={"kind": "story", "audience": "close_friends", "content_type": "image/jpeg", "content_length": 9},
    ).json
    assert wiring.upload_repository().get(int(grant["upload_id"])).audience == "close_friends"


def test_a_close_friends_story_is_seen_by_close_friends_only(api: Api, world: World) -> None:
    w = world
    # The close friend sees both, marked; the author sees the audience of each
    assert _tray(api, w.bob) == {w.alice.username: (2, True)}
    assert _stories(api, w.bob, w.alice) == {w.everyone: "everyone", w.close: "close_friends"}
    assert _stories(api, w.alice, w.alice) == {w.everyone: "everyone", w.close: "close_friends"}
    assert api.call("POST", f"/stories/{w.close}/views", w.bob).status_code == 204
    # Anyone else sees the everyone story alone, with nothing counting the other
    assert _tray(api, w.carol) == {w.alice.username: (1, False)}
    assert _stories(api, w.carol, w.alice) == {w.everyone: "everyone"}
    response = api.call("POST", f"/stories/{w.close}/views", w.carol)
    assert response.status_code == 404 and response.json["error"]["code"] == "story_not_found"
    # And an author whose only live story is for close friends is not in a non-friend's tray at all
    dave = api.sign_up("dave")
    api.call("PUT", f"/users/{dave.user_id}/follow", w.carol)
    _story(dave, "close_friends")
    assert dave.username not in _tray(api, w.carol)


def test_removing_a_close_friend_hides_the_stories_from_them_at_once_and_adding_brings_them_back(
    api: Api, world: World
) -> None:
    w = world
    assert _tray(api, w.bob) == {w.alice.username: (2, True)}  # (his tray is now cached)
    assert _set(api, w.alice, w.bob, False).json == {"close_friend": False}
    assert _tray(api, w.bob) == {w.alice.username: (1, False)}
    assert _stories(api, w.bob, w.alice) == {w.everyone: "everyone"}
    assert api.call("POST", f"/stories/{w.close}/views", w.bob).status_code == 404
    _set(api, w.alice, w.bob)
    assert _tray(api, w.bob) == {w.alice.username: (2, True)}
    assert w.close in _stories(api, w.bob, w.alice)


def test_kept_close_friends_stories_show_in_highlights_to_close_friends_only(api: Api, world: World) -> None:
    w = world
    api.call("PATCH", "/me", w.alice, json={"highlights_enabled": True})
    for story_id in (w.everyone, w.close):
        record = wiring.story_repository().get(int(story_id))
        assert record is not None
        wiring.highlights().put(record)  # as the expiry job archives it
    highlights = {
        who.username: {
            s["story_id"] for s in api.call("GET", f"/users/{w.alice.user_id}/highlights", who).json["items"]
        }
        for who in (w.bob, w.carol)
    }
    assert highlights == {w.bob.username: {w.everyone, w.close}, w.carol.username: {w.everyone}}


def test_with_redis_down_close_friends_stories_are_still_decided_right(api: Api, world: World) -> None:
    w = world
    with logged_warnings(), settings_env(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        assert _stories(api, w.carol, w.alice) == {w.everyone: "everyone"}
        assert w.close in _stories(api, w.bob, w.alice)
        assert _tray(api, w.carol) == {w.alice.username: (1, False)}
        assert _tray(api, w.bob) == {w.alice.username: (2, True)}


def _list_service(**replaced: Any) -> CloseFriends:
    ports: dict[str, Any] = {
        "repo": wiring.close_friends()._repo,
        "audiences": wiring.audiences(),
        "graph": wiring.graph(),
        "users": wiring.users(),
        "now_ms": wiring.now_ms,
    }
    return CloseFriends(**{**ports, **replaced})


@pytest.mark.parametrize(
    ("close", "port", "step"),
    [
        (True, "repo", "add"),
        (True, "audiences", "changed"),
        (False, "repo", "remove"),
        (False, "audiences", "changed"),
    ],
)
def test_a_list_change_that_dies_after_any_step_is_right_once_retried(
    api: Api, world: World, close: bool, port: str, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given carol's (or bob's) answer cached by a read, and alice's change naming them dying right after `step`
    w = world
    friend = w.carol if close else w.bob
    _tray(api, friend)
    real = wiring.close_friends()
    failing = _list_service(**{port: FailAfter(getattr(real, f"_{port}"), step)})
    monkeypatch.setattr(wiring, "close_friends", lambda: failing)
    with pytest.raises(InjectedFaultError):  # (a 500 on AWS; the client retries)
        _set(api, w.alice, friend, close)
    monkeypatch.setattr(wiring, "close_friends", lambda: real)
    # When the client retries
    assert _set(api, w.alice, friend, close).json == {"close_friend": close}
    # Then the list and what the friend sees agree, once
    assert (friend.username in _listed(api, w.alice)) is close
    assert (w.close in _stories(api, friend, w.alice)) is close
    assert _tray(api, friend) == {w.alice.username: (2, True) if close else (1, False)}


def test_a_removal_whose_cache_drop_fails_is_503_and_its_retry_hides_the_stories(
    api: Api, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = world
    assert _tray(api, w.bob) == {w.alice.username: (2, True)}
    broken = Broken(wiring.audiences(), "changed", RedisConnectionError("down"))
    real, failing = wiring.close_friends(), _list_service(audiences=broken)
    monkeypatch.setattr(wiring, "close_friends", lambda: failing)
    with logged_warnings():
        response = _set(api, w.alice, w.bob, False)
    assert response.status_code == 503 and response.json["error"]["code"] == "service_unavailable"
    monkeypatch.setattr(wiring, "close_friends", lambda: real)
    assert _set(api, w.alice, w.bob, False).json == {"close_friend": False}
    assert _tray(api, w.bob) == {w.alice.username: (1, False)}
    assert _stories(api, w.bob, w.alice) == {w.everyone: "everyone"}


def test_the_close_friends_check_adds_no_round_trip_to_the_tray_or_a_repeat_view(api: Api, world: World) -> None:
    # Given bob's answer and tray cached, with alice's everyone and close-friends stories in it
    w = world
    assert _tray(api, w.bob) == {w.alice.username: (2, True)}
    api.call("POST", f"/stories/{w.close}/views", w.bob)
    assert _tray(api, w.bob) == {w.alice.username: (2, True)}
    # When he reads his tray and views the close-friends story again, counting Redis round trips
    trips = RoundTrips(wiring.redis_client())
    _tray(api, w.bob)
    tray_trips = trips.count
    assert api.call("POST", f"/stories/{w.close}/views", w.bob).status_code == 204
    # Then each is one round trip, as without close friends (the answer rides in the same pipeline), besides the
    # account check every change makes before it runs (aperture.standing; a read's rides in its first batch)
    assert (tray_trips, trips.count - tray_trips) == (1, 1 + 1)


def test_a_load_that_read_before_a_removal_does_not_cache_its_older_answer(api: Api, world: World) -> None:
    # Given a load of bob's answer that read the table (alice lists him), then alice's removal committed
    w = world
    generation = wiring.redis_client().get(close_of_keys(int(w.bob.user_id))[1]) or ""
    _set(api, w.alice, w.bob, False)
    # When the load writes what it read
    written = wiring.audiences()._cache.load(int(w.bob.user_id), generation, [int(w.alice.user_id)])
    # Then it is refused, and bob does not see the close-friends story
    assert written is False
    assert _stories(api, w.bob, w.alice) == {w.everyone: "everyone"}
