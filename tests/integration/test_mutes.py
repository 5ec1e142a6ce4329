"""Mutes: a muted account's posts and stories leave the muter's feed, tray and explore, and nothing else changes;
the muted account is told nothing and sees no difference."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from aperture import wiring
from bench.round_trips import RoundTrips
from local.pump import EventPump
from local.redis_server import free_port
from local.seeding import Account, publish_post, publish_story
from tests.faults import FailAfter, InjectedFaultError
from tests.integration.test_explore import explore, like, post, refresh
from tests.support import Api, logged_warnings, settings_env


def _feed(api: Api, viewer: Account) -> list[str]:
    response = api.call("GET", "/feed", viewer, query_string={"limit": 50, "order": "chronological"})
    assert response.status_code == 200, response.json
    return [p["post_id"] for p in response.json["items"]]


def _tray(api: Api, viewer: Account) -> list[str]:
    response = api.call("GET", "/stories/tray", viewer)
    assert response.status_code == 200, response.json
    return [e["user"]["username"] for e in response.json["items"]]


def _bob_follows_alice_and_carol(api: Api, pump: EventPump) -> tuple[Account, Account, Account, str, str]:
    """Bob, an active reader, follows alice and carol, who have each posted and have a live story; (alice, bob,
    carol, alice's post, carol's post)."""
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    for followee in (alice, carol):
        api.call("PUT", f"/users/{followee.user_id}/follow", bob)
    _feed(api, bob)
    by_alice, by_carol = publish_post(alice), publish_post(carol)
    publish_story(alice)
    publish_story(carol)
    pump.drain()
    return alice, bob, carol, by_alice, by_carol


def _mute(api: Api, muter: Account, muted: Account, muting: bool = True) -> Any:
    return api.call("PUT" if muting else "DELETE", f"/users/{muted.user_id}/mute", muter)


@pytest.fixture
def small_world(api: Api) -> Iterator[None]:
    with settings_env(APERTURE_CELEBRITY_THRESHOLD="3", APERTURE_FANOUT_JOB_SIZE="2"):
        yield


def test_muting_twice_or_unmuting_twice_answers_the_same_and_shows_in_the_muters_relationship(api: Api) -> None:
    # Given bob follows alice
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    # When bob mutes alice twice
    answers = [_mute(api, bob, alice) for _ in range(2)]
    # Then both answers say muting, and bob's view of alice says so, the follow untouched
    assert [(a.status_code, a.json) for a in answers] == [(200, {"muting": True})] * 2
    profile = api.call("GET", f"/users/{alice.username}", bob).json
    assert profile["relationship"] == {
        "following": True,
        "followed_by": False,
        "blocking": False,
        "muting": True,
        "requested": False,
    }
    assert profile["follower_count"] == 1
    assert api.call("GET", f"/users/{alice.user_id}/relationship", bob).json["muting"] is True
    # When he unmutes her twice, the same again the other way
    answers = [_mute(api, bob, alice, False) for _ in range(2)]
    assert [(a.status_code, a.json) for a in answers] == [(200, {"muting": False})] * 2
    assert api.call("GET", f"/users/{alice.username}", bob).json["relationship"]["muting"] is False


def test_the_muted_user_sees_no_difference_anywhere(api: Api) -> None:
    # Given alice and bob follow each other, and bob has a post with a comment of alice's
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    api.call("PUT", f"/users/{bob.user_id}/follow", alice)
    post_id = publish_post(bob)
    api.call("POST", f"/posts/{post_id}/comments", alice, json={"text": "hi"})

    def alices_view() -> list[Any]:
        return [
            api.call("GET", f"/users/{bob.username}", alice).json,
            api.call("GET", f"/users/{bob.user_id}/relationship", alice).json,
            api.call("GET", f"/users/{bob.user_id}/posts", alice).json,
            api.call("GET", f"/posts/{post_id}", alice).json,
            _feed(api, alice),
            api.call("GET", "/me", alice).json,
        ]

    before = alices_view()
    # When bob mutes alice
    assert _mute(api, bob, alice).json == {"muting": True}
    # Then alice sees exactly what she saw before, and has not been notified
    assert alices_view() == before
    assert all(n["actor"]["user_id"] != bob.user_id for n in api.call("GET", "/notifications", alice).json["items"])


def test_muting_yourself_is_422_a_missing_or_blocking_user_404_and_no_token_401(api: Api) -> None:
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    yourself = api.call("PUT", f"/users/{alice.user_id}/mute", alice)
    assert yourself.status_code == 422 and yourself.json["error"]["code"] == "invalid_input"
    assert api.call("PUT", "/users/12345/mute", alice).status_code == 404
    assert api.call("PUT", "/users/not-an-id/mute", alice).status_code == 404
    api.call("PUT", f"/users/{alice.user_id}/block", bob)  # bob blocks alice
    assert api.call("PUT", f"/users/{bob.user_id}/mute", alice).status_code == 404
    api.call("PUT", f"/users/{carol.user_id}/block", alice)  # alice blocks carol
    assert api.call("DELETE", f"/users/{carol.user_id}/mute", alice).status_code == 404
    assert api.call("PUT", f"/users/{bob.user_id}/mute").status_code == 401


def test_a_muted_accounts_posts_leave_the_feed_and_come_back_when_unmuted_and_stay_open_directly(
    api: Api, pump: EventPump
) -> None:
    # Given bob follows alice and carol, who have both posted, and alice comments on carol's post
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    for followee in (alice, carol):
        api.call("PUT", f"/users/{followee.user_id}/follow", bob)
    _feed(api, bob)
    by_alice, by_carol = publish_post(alice), publish_post(carol)
    pump.drain()
    api.call("POST", f"/posts/{by_carol}/comments", alice, json={"text": "lovely"})
    assert _feed(api, bob) == [by_carol, by_alice]
    # When bob mutes alice
    _mute(api, bob, alice)
    # Then her post leaves his feed; her profile, her posts opened directly and her comment stay
    assert _feed(api, bob) == [by_carol]
    assert api.call("GET", f"/posts/{by_alice}", bob).status_code == 200
    posts = api.call("GET", f"/users/{alice.user_id}/posts", bob).json["items"]
    assert [p["post_id"] for p in posts] == [by_alice]
    comments = api.call("GET", f"/posts/{by_carol}/comments", bob).json["items"]
    assert [c["author"]["user_id"] for c in comments] == [alice.user_id]
    [shown] = api.call("GET", "/feed", bob).json["items"]
    assert [c["author"]["user_id"] for c in shown["comment_preview"]] == [alice.user_id]
    # And a new post of hers does not reach it either, until he unmutes her
    later = publish_post(alice)
    pump.drain()
    assert _feed(api, bob) == [by_carol]
    _mute(api, bob, alice, False)
    assert _feed(api, bob) == [later, by_carol, by_alice]


def test_a_muted_celebritys_posts_leave_the_merged_feed(api: Api, pump: EventPump, small_world: None) -> None:
    # Given a star past the celebrity threshold, whose posts are merged into feeds when read
    star, fans = api.sign_up("star"), [api.sign_up("fan") for _ in range(3)]
    for fan in fans:
        _feed(api, fan)
        api.call("PUT", f"/users/{star.user_id}/follow", fan)
    pump.drain()
    post_id = publish_post(star)
    pump.drain()
    assert post_id in _feed(api, fans[0])
    # When one fan mutes the star, the post leaves that fan's feed only; unmuted, it is back
    _mute(api, fans[0], star)
    assert post_id not in _feed(api, fans[0])
    assert post_id in _feed(api, fans[1])
    _mute(api, fans[0], star, False)
    assert post_id in _feed(api, fans[0])


def test_a_muted_accounts_stories_leave_the_tray_but_open_from_their_profile(api: Api) -> None:
    # Given bob follows alice and carol, who both have a live story, and his tray is cached
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    for followee in (alice, carol):
        api.call("PUT", f"/users/{followee.user_id}/follow", bob)
    publish_story(alice)
    publish_story(carol)
    assert sorted(_tray(api, bob)) == sorted([alice.username, carol.username])
    # When bob mutes alice
    _mute(api, bob, alice)
    # Then she leaves his tray at once, and her stories still open from her profile
    assert _tray(api, bob) == [carol.username]
    assert len(api.call("GET", f"/users/{alice.user_id}/stories", bob).json["items"]) == 1
    _mute(api, bob, alice, False)
    assert sorted(_tray(api, bob)) == sorted([alice.username, carol.username])


def test_a_muted_accounts_posts_leave_explore(api: Api, pump: EventPump) -> None:
    # Given posts by carol and dave on alice's explore, ranked before she mutes carol
    alice, carol, dave, erin = (api.sign_up(n) for n in ("alice", "carol", "dave", "erin"))
    for key in wiring.redis_client().scan_iter("xp:*", count=1000):  # (explore starts empty, as in test_explore)
        wiring.redis_client().delete(key)
    by_carol, by_dave = post(carol, "cats"), post(dave, "dogs")
    pump.drain()
    for post_id in (by_carol, by_dave):
        like(api, erin, post_id)
    refresh(pump)
    wiring.explore().rank(int(alice.user_id))
    # When alice mutes carol
    _mute(api, alice, carol)
    # Then the precomputed page leaves carol out, and so does a list ranked afresh
    assert explore(api, alice)[0] == [by_dave]
    ranked = wiring.explore().rank(int(alice.user_id))
    assert ranked is not None and by_carol not in ranked[1]


def test_a_warm_feed_with_mutes_still_takes_three_redis_round_trips(
    api: Api, pump: EventPump, small_world: None
) -> None:
    # Given a viewer who follows two celebrities and four friends, all of whom posted, and mutes a celebrity (the
    # newest posts) and a friend (older ones)
    viewer, star, loud = api.sign_up("viewer"), api.sign_up("star"), api.sign_up("loud")
    friends = [api.sign_up("friend") for _ in range(4)]
    for celebrity in (star, loud):
        for fan in [api.sign_up("fan") for _ in range(2)] + [viewer]:
            api.call("PUT", f"/users/{celebrity.user_id}/follow", fan)
    for friend in friends:
        api.call("PUT", f"/users/{friend.user_id}/follow", viewer)
    api.call("GET", "/feed", viewer)
    muted_posts = [publish_post(friends[0]) for _ in range(3)]
    shown_posts = [publish_post(author) for author in [star, *friends[1:]] for _ in range(3)]
    muted_posts += [publish_post(loud) for _ in range(3)]
    pump.drain()
    _mute(api, viewer, friends[0])
    _mute(api, viewer, loud)
    first = api.call("GET", "/feed", viewer, query_string={"limit": 10}).json  # warms the caches
    # When the same page is read again, counting every Redis round trip
    trips = RoundTrips(wiring.redis_client())
    again = api.call("GET", "/feed", viewer, query_string={"limit": 10}).json
    # Then it is the same full page, without the muted accounts, in three round trips: the muted set is read with
    # the blocked one, and a muted celebrity's posts are left out before the merge, so no refill is needed
    assert again == first and len(again["items"]) == 10
    assert {p["post_id"] for p in again["items"]} <= set(shown_posts)
    assert set(muted_posts).isdisjoint(p["post_id"] for p in again["items"])
    # (and a fourth, after the page is built, appends its impressions to the activity log)
    assert trips.besides("XADD") <= 3, trips.trips  # (and one more, the impressions' append)


def test_with_redis_down_muting_the_feed_and_the_tray_still_work(api: Api, pump: EventPump) -> None:
    # Given bob follows alice and carol, who have posted and have stories
    alice, bob, carol, by_alice, by_carol = _bob_follows_alice_and_carol(api, pump)
    # When Redis is down, bob mutes alice, reads his feed and tray, then unmutes her
    with logged_warnings(), settings_env(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        assert _mute(api, bob, alice).json == {"muting": True}
        assert api.call("GET", f"/users/{alice.username}", bob).json["relationship"]["muting"] is True
        # Then nothing is a 500: the feed and tray come from DynamoDB, without alice
        assert _feed(api, bob) == [by_carol]
        assert _tray(api, bob) == [carol.username]
        assert _mute(api, bob, alice, False).json == {"muting": False}
        assert _feed(api, bob) == [by_carol, by_alice]
    # And once Redis is back, what it cached before agrees with DynamoDB
    assert _feed(api, bob) == [by_carol, by_alice]


@pytest.mark.parametrize("step", ["write", "forget_mutes", "forget_trays"])
@pytest.mark.parametrize("muting", [True, False])
def test_a_mute_that_fails_after_each_step_is_right_once_retried(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch, step: str, muting: bool
) -> None:
    # Given bob follows alice and carol (posts and stories), his feed, tray and cached mutes warm; for an unmute,
    # he mutes alice first
    alice, bob, carol, by_alice, by_carol = _bob_follows_alice_and_carol(api, pump)
    if not muting:
        _mute(api, bob, alice)
    _feed(api, bob), _tray(api, bob)
    # When the request dies right after the step (the mute stored, the cached set or the tray dropped)
    graph = wiring.graph()
    if step == "write":
        monkeypatch.setattr(graph, "_mutes", FailAfter(graph._mutes, "mute" if muting else "unmute"))
    elif step == "forget_mutes":
        monkeypatch.setattr(graph, "_cache", FailAfter(graph._cache, "forget_mutes"))
    else:
        failing = FailAfter(wiring.story_cache(), "forget_trays")
        monkeypatch.setattr(wiring, "story_cache", lambda: failing)
    with pytest.raises(InjectedFaultError):  # (a 500 on AWS)
        _mute(api, bob, alice, muting)
    # And the client retries
    assert _mute(api, bob, alice, muting).json == {"muting": muting}
    # Then bob's feed and tray are as the mute says, once each
    if muting:
        assert (_feed(api, bob), _tray(api, bob)) == ([by_carol], [carol.username])
    else:
        assert _feed(api, bob) == [by_carol, by_alice]
        assert sorted(_tray(api, bob)) == sorted([alice.username, carol.username])
    assert api.call("GET", f"/users/{alice.username}", bob).json["relationship"]["muting"] is muting
