"""Private accounts and follow requests: only the owner and approved followers see a private account's posts,
stories, highlights and lists; others may ask to follow, and the owner approves or declines; going public approves
every pending request."""

from __future__ import annotations

from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from aperture import wiring
from local.pump import EventPump
from local.redis_server import free_port
from local.seeding import Account, publish_post, publish_story
from tests.faults import Broken, FailAfter, InjectedFaultError
from tests.integration.test_explore import explore, like, post, refresh
from tests.support import Api, logged_warnings, settings_env


def _private(api: Api, user: Account, private: bool = True) -> Any:
    response = api.call("PATCH", "/me", user, json={"private": private})
    assert response.status_code == 200, response.json
    return response.json


def _follow(api: Api, follower: Account, followee: Account, following: bool = True) -> Any:
    return api.call("PUT" if following else "DELETE", f"/users/{followee.user_id}/follow", follower)


def _requests(api: Api, owner: Account) -> list[str]:
    response = api.call("GET", "/me/follow_requests", owner)
    assert response.status_code == 200, response.json
    return [r["username"] for r in response.json["items"]]


def _decide(api: Api, owner: Account, requester: Account, decision: str) -> Any:
    return api.call("POST", f"/me/follow_requests/{requester.user_id}/{decision}", owner)


def _notifications(api: Api, user: Account) -> list[tuple[str, str]]:
    items = api.call("GET", "/notifications", user).json["items"]
    return [(n["type"], n["actor"]["username"]) for n in items]


def _feed(api: Api, viewer: Account) -> list[str]:
    response = api.call("GET", "/feed", viewer, query_string={"order": "chronological"})
    assert response.status_code == 200, response.json
    return [p["post_id"] for p in response.json["items"]]


def _relationship(api: Api, viewer: Account, user: Account) -> dict[str, bool]:
    return api.call("GET", f"/users/{user.user_id}/relationship", viewer).json


def _content_routes(owner: Account, post_id: str, story_id: str) -> list[tuple[str, str]]:
    return [
        ("GET", f"/users/{owner.user_id}/posts"),
        ("GET", f"/users/{owner.user_id}/followers"),
        ("GET", f"/users/{owner.user_id}/following"),
        ("GET", f"/users/{owner.user_id}/stories"),
        ("GET", f"/users/{owner.user_id}/highlights"),
        ("GET", f"/posts/{post_id}"),
        ("GET", f"/posts/{post_id}/likes"),
        ("GET", f"/posts/{post_id}/comments"),
        ("POST", f"/stories/{story_id}/views"),
    ]


def test_a_private_accounts_content_is_for_the_owner_and_followers_it_had_and_its_profile_for_everyone(
    api: Api, pump: EventPump
) -> None:
    # Given alice, followed by carol, with a post and a story; bob does not follow her
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    assert _follow(api, carol, alice).status_code == 200
    post_id, story_id = publish_post(alice), publish_story(alice)
    pump.drain()
    # When alice goes private
    assert _private(api, alice)["private"] is True
    # Then bob gets 403 private_account on every route to her content, yet sees her profile and counts
    for method, path in _content_routes(alice, post_id, story_id):
        response = api.call(method, path, bob)
        assert (response.status_code, response.json["error"]["code"]) == (403, "private_account"), (method, path)
    profile = api.call("GET", f"/users/{alice.username}", bob).json
    assert (profile["private"], profile["post_count"], profile["follower_count"]) == (True, 1, 1)
    # And carol, who followed her before, and alice herself still see everything
    for viewer in (carol, alice):
        for method, path in _content_routes(alice, post_id, story_id):
            assert api.call(method, path, viewer).status_code in (200, 204), (viewer.username, method, path)
    assert _feed(api, carol) == [post_id]


def test_a_follow_request_is_made_once_notified_and_approved_as_a_follow(api: Api, pump: EventPump) -> None:
    # Given alice is private and has a post
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    _private(api, alice)
    post_id = publish_post(alice)
    pump.drain()
    # When bob asks to follow her, twice
    answers = [_follow(api, bob, alice) for _ in range(2)]
    pump.drain()
    # Then both answers say requested, alice is told once and sees bob's request; bob does not follow her yet
    assert [(a.status_code, a.json) for a in answers] == [(202, {"following": False, "requested": True})] * 2
    assert _relationship(api, bob, alice)["requested"] is True
    assert api.call("GET", f"/users/{alice.username}", bob).json["relationship"]["requested"] is True
    assert _notifications(api, alice) == [("follow_request", bob.username)]
    assert _requests(api, alice) == [bob.username]
    assert _feed(api, bob) == []
    # When alice approves it (twice: a retried request answers the same)
    answers = [_decide(api, alice, bob, "approve") for _ in range(2)]
    pump.drain()
    # Then bob follows her, her post reaches his feed, he hears "follow_accepted" and she hears no "follow"
    assert [(a.status_code, a.json) for a in answers] == [(200, {"user_id": bob.user_id, "following": True})] * 2
    assert _relationship(api, bob, alice)["following"] is True
    assert _relationship(api, bob, alice)["requested"] is False
    assert _requests(api, alice) == []
    assert _feed(api, bob) == [post_id]
    assert api.call("GET", f"/users/{alice.user_id}/posts", bob).status_code == 200
    assert _notifications(api, bob) == [("follow_accepted", alice.username)]
    assert _notifications(api, alice) == [("follow_request", bob.username)]
    assert api.call("GET", f"/users/{alice.username}", bob).json["follower_count"] == 1
    # And following her again changes nothing
    again = _follow(api, bob, alice)
    assert (again.status_code, again.json) == (200, {"following": True, "requested": False})


def test_a_withdrawn_or_declined_request_leaves_nothing_and_tells_nobody(api: Api, pump: EventPump) -> None:
    # Given alice is private and bob asked to follow her
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    _private(api, alice)
    _follow(api, bob, alice)
    # When he withdraws it
    assert _follow(api, bob, alice, False).json == {"following": False, "requested": False}
    # Then it is gone from her list and his relationship
    assert _requests(api, alice) == []
    assert _relationship(api, bob, alice)["requested"] is False
    # When he asks again and she declines, twice
    _follow(api, bob, alice)
    answers = [_decide(api, alice, bob, "decline") for _ in range(2)]
    pump.drain()
    # Then the request is gone, bob follows nobody and is told nothing; approving it now is 404
    assert [(a.status_code, a.json) for a in answers] == [(200, {"user_id": bob.user_id, "following": False})] * 2
    assert _requests(api, alice) == []
    seen = _relationship(api, bob, alice)
    assert (seen["following"], seen["requested"]) == (False, False)
    assert _notifications(api, bob) == []
    refused = _decide(api, alice, bob, "approve")
    assert (refused.status_code, refused.json["error"]["code"]) == (404, "follow_request_not_found")


def test_a_block_removes_a_pending_request_either_way(api: Api) -> None:
    # Given bob asked to follow private alice, and dave asked to follow private carol
    alice, bob, carol, dave = (api.sign_up(n) for n in ("alice", "bob", "carol", "dave"))
    _private(api, alice)
    _private(api, carol)
    _follow(api, bob, alice)
    _follow(api, dave, carol)
    # When alice blocks bob, and dave (the requester) blocks carol
    api.call("PUT", f"/users/{bob.user_id}/block", alice)
    api.call("PUT", f"/users/{carol.user_id}/block", dave)
    # Then both requests are gone, even once unblocked
    api.call("DELETE", f"/users/{bob.user_id}/block", alice)
    api.call("DELETE", f"/users/{carol.user_id}/block", dave)
    assert _requests(api, alice) == [] and _requests(api, carol) == []
    assert _relationship(api, bob, alice)["requested"] is False


def test_going_public_approves_every_pending_request_in_bounded_rounds(api: Api, pump: EventPump) -> None:
    # Given private alice with five pending requests, approved two per round
    alice = api.sign_up("alice")
    _private(api, alice)
    requesters = [api.sign_up("fan") for _ in range(5)]
    for fan in requesters:
        _follow(api, fan, alice)
    post_id = publish_post(alice)
    with settings_env(APERTURE_FOLLOW_REQUEST_BATCH="2"):
        # When she goes public (twice: the second changes nothing)
        assert _private(api, alice, False)["private"] is False
        assert _private(api, alice, False)["private"] is False
        pump.drain()
        # Then every requester follows her, with her post in their feed and a "follow_accepted" each
        assert _requests(api, alice) == []
        assert api.call("GET", f"/users/{alice.username}", alice).json["follower_count"] == 5
        for fan in requesters:
            assert _feed(api, fan) == [post_id]
            assert _notifications(api, fan) == [("follow_accepted", alice.username)]
        # And a new follower follows at once
        newcomer = api.sign_up("newcomer")
        assert (_follow(api, newcomer, alice).status_code, _follow(api, newcomer, alice).json["following"]) == (
            200,
            True,
        )


def test_a_private_celebrity_reaches_a_feed_and_tray_only_once_the_request_is_approved(
    api: Api, pump: EventPump
) -> None:
    with settings_env(APERTURE_CELEBRITY_THRESHOLD="2", APERTURE_FANOUT_JOB_SIZE="2"):
        # Given star, followed by two fans (a celebrity here: her posts are merged into feeds at read time), goes
        # private and posts, with a live story
        star, bob = api.sign_up("star"), api.sign_up("bob")
        for fan in (api.sign_up("fan"), api.sign_up("fan")):
            _follow(api, fan, star)
        _private(api, star)
        post_id = publish_post(star)
        publish_story(star)
        pump.drain()
        # When bob, who does not follow her, reads his feed and tray, and asks to follow her
        _feed(api, bob)
        _follow(api, bob, star)
        pump.drain()
        # Then neither shows her, while the request is pending
        assert _feed(api, bob) == []
        assert api.call("GET", "/stories/tray", bob).json["items"] == []
        # When she approves it, her post reaches his feed through the merge, and her story his tray
        _decide(api, star, bob, "approve")
        pump.drain()
        assert _feed(api, bob) == [post_id]
        assert [e["user"]["username"] for e in api.call("GET", "/stories/tray", bob).json["items"]] == [star.username]


def test_a_request_left_pending_by_a_direct_follow_after_going_public_is_cleared(api: Api, pump: EventPump) -> None:
    # Given bob asked to follow private alice, and she goes public
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    _private(api, alice)
    _follow(api, bob, alice)
    _private(api, alice, False)
    # When bob follows her at once, before her requests are approved
    assert _follow(api, bob, alice).json == {"following": True, "requested": False}
    pump.drain()
    # Then the approval round finds the follow made, clears the request, and counts him once
    assert _requests(api, alice) == []
    assert api.call("GET", f"/users/{alice.username}", alice).json["follower_count"] == 1
    seen = _relationship(api, bob, alice)
    assert (seen["following"], seen["requested"]) == (True, False)


def test_going_private_again_before_the_rounds_run_leaves_the_requests_pending(api: Api, pump: EventPump) -> None:
    # Given private alice with three pending requests
    alice = api.sign_up("alice")
    _private(api, alice)
    fans = [api.sign_up("fan") for _ in range(3)]
    for fan in fans:
        _follow(api, fan, alice)
    # When she goes public and private again before the approvals run
    _private(api, alice, False)
    _private(api, alice, True)
    pump.drain()
    # Then nobody was approved: the requests wait for her
    assert sorted(_requests(api, alice)) == sorted(f.username for f in fans)
    assert api.call("GET", f"/users/{alice.username}", alice).json["follower_count"] == 0


def test_an_account_gone_private_leaves_explore_at_once(api: Api, pump: EventPump) -> None:
    # Given explore shows bob alice's liked posts
    alice, bob, fan = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("fan")
    by_alice = [post(alice, "cats") for _ in range(2)]
    pump.drain()
    for p in by_alice:
        like(api, fan, p)
    refresh(pump)
    assert set(explore(api, bob)[0]) == set(by_alice)
    # When alice goes private (no refresh in between)
    _private(api, alice)
    # Then bob's explore leaves her posts out, on the list already ranked and on a new one
    assert explore(api, bob)[0] == []
    refresh(pump)
    assert explore(api, bob)[0] == []


def test_saved_posts_of_an_account_gone_private_leave_a_non_followers_list(api: Api) -> None:
    # Given bob saved alice's post
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post_id = publish_post(alice)
    assert api.call("PUT", f"/posts/{post_id}/save", bob).status_code == 200
    # When alice goes private
    _private(api, alice)
    # Then bob's saved list no longer shows it
    assert api.call("GET", "/me/saved", bob).json["items"] == []


def test_what_a_non_follower_did_before_the_account_went_private_stays_theirs_to_take_back(api: Api) -> None:
    # Given bob liked, saved and commented on alice's post while she was public
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post_id = publish_post(alice)
    assert api.call("PUT", f"/posts/{post_id}/like", bob).status_code == 200
    assert api.call("PUT", f"/posts/{post_id}/save", bob).status_code == 200
    comment = api.call("POST", f"/posts/{post_id}/comments", bob, json={"text": "nice"}).json["comment_id"]
    # When alice goes private, bob may no longer like it again or read it
    _private(api, alice)
    assert api.call("PUT", f"/posts/{post_id}/like", bob).json["error"]["code"] == "private_account"
    # Then he can still take back his like, his save and his comment
    assert api.call("DELETE", f"/posts/{post_id}/like", bob).json == {"liked": False, "like_count": 0}
    assert api.call("DELETE", f"/posts/{post_id}/save", bob).json == {"saved": False}
    assert api.call("DELETE", f"/posts/{post_id}/comments/{comment}", bob).status_code == 204
    # And alice sees neither his like nor his comment
    assert api.call("GET", f"/posts/{post_id}/likes", alice).json["items"] == []
    assert api.call("GET", f"/posts/{post_id}/comments", alice).json["items"] == []


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"private": "yes"}, "/me"),
        ({"private": None, "bio": 3}, "/me"),
    ],
)
def test_bad_privacy_input_is_422_and_changes_nothing(api: Api, body: dict[str, Any], path: str) -> None:
    alice = api.sign_up("alice")
    response = api.call("PATCH", path, alice, json=body)
    assert response.status_code == 422, response.json
    assert api.call("GET", "/me", alice).json["private"] is False


def test_bad_request_routes_input_is_a_clear_4xx(api: Api) -> None:
    alice = api.sign_up("alice")
    assert api.call("GET", "/me/follow_requests", alice, query_string={"limit": 0}).status_code == 422
    assert api.call("GET", "/me/follow_requests", alice, query_string={"cursor": "junk"}).status_code == 422
    assert api.call("POST", "/me/follow_requests/abc/approve", alice).status_code == 404
    assert api.call("POST", "/me/follow_requests/12345/decline", alice).status_code == 404
    assert _follow(api, alice, alice).status_code == 422


# Faults: each write path dies right after each step, and the client's retry (or the stream's redelivery) finishes it.


@pytest.mark.parametrize("step", ["request", "withdraw"])
def test_a_request_or_withdrawal_that_dies_after_its_write_is_finished_by_its_retry(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    # Given private alice (and, to withdraw, bob's pending request)
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    _private(api, alice)
    if step == "withdraw":
        _follow(api, bob, alice)
    service = wiring.follow_requests()
    monkeypatch.setattr(service, "_requests", FailAfter(service._requests, step))
    # When the request dies right after its transaction, and is retried
    with pytest.raises(InjectedFaultError):
        _follow(api, bob, alice, step == "request")
    retried = _follow(api, bob, alice, step == "request")
    pump.drain()
    # Then the outcome is as one call makes it, and alice is told at most once
    assert retried.json == {"following": False, "requested": step == "request"}
    assert _requests(api, alice) == ([bob.username] if step == "request" else [])
    expected = [("follow_request", bob.username)]
    assert _notifications(api, alice) == expected


@pytest.mark.parametrize("step", ["approve", "after"])
def test_an_approval_that_dies_after_each_step_is_one_follow_once_retried(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    # Given bob asked to follow private alice, who has a post
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    _private(api, alice)
    post_id = publish_post(alice)
    _follow(api, bob, alice)
    service = wiring.follow_requests()
    if step == "approve":
        monkeypatch.setattr(service, "_requests", FailAfter(service._requests, "approve"))
    else:
        monkeypatch.setattr(service, "_graph", FailAfter(service._graph, "after"))
    # When alice's approval dies after the step, and she retries
    with pytest.raises(InjectedFaultError):
        _decide(api, alice, bob, "approve")
    assert _decide(api, alice, bob, "approve").json == {"user_id": bob.user_id, "following": True}
    pump.drain()
    # Then bob follows her once, with her post in his feed and one "follow_accepted"
    assert api.call("GET", f"/users/{alice.username}", alice).json["follower_count"] == 1
    assert _feed(api, bob) == [post_id]
    assert _notifications(api, bob) == [("follow_accepted", alice.username)]


def test_a_decline_that_dies_after_its_write_is_answered_by_its_retry(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    _private(api, alice)
    _follow(api, bob, alice)
    service = wiring.follow_requests()
    monkeypatch.setattr(service, "_requests", FailAfter(service._requests, "decline"))
    with pytest.raises(InjectedFaultError):
        _decide(api, alice, bob, "decline")
    assert _decide(api, alice, bob, "decline").json == {"user_id": bob.user_id, "following": False}
    pump.drain()
    assert _requests(api, alice) == [] and _notifications(api, bob) == []


@pytest.mark.parametrize("step", ["set_private", "record"])
def test_going_public_survives_a_death_after_each_step(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    # Given private alice with five pending requests, approved two per round
    alice = api.sign_up("alice")
    _private(api, alice)
    fans = [api.sign_up("fan") for _ in range(5)]
    for fan in fans:
        _follow(api, fan, alice)
    with settings_env(APERTURE_FOLLOW_REQUEST_BATCH="2"):
        service = wiring.follow_requests()
        failing = FailAfter(service._privacy, step)
        monkeypatch.setattr(service, "_privacy", failing)
        if step == "set_private":
            # When the switch dies after its transaction, and the client retries
            with pytest.raises(InjectedFaultError):
                api.call("PATCH", "/me", alice, json={"private": False})
            assert _private(api, alice, False)["private"] is False
        else:
            # When the relay dies after writing the next round's event: the stream delivers the first round again,
            # which approves the next two and writes that same next round's event again (a no-op)
            assert _private(api, alice, False)["private"] is False
        pump.drain()
        assert failing.calls >= 2
        # Then every request is approved once: five followers, each told once
        assert _requests(api, alice) == []
        assert api.call("GET", f"/users/{alice.username}", alice).json["follower_count"] == 5
        for fan in fans:
            assert _notifications(api, fan) == [("follow_accepted", alice.username)]


@pytest.mark.parametrize("finished_by", ["retry", "relay"])
def test_going_private_reaches_a_reader_with_a_warm_cache_though_the_request_died_before_dropping_it(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch, finished_by: str
) -> None:
    # Given bob has read alice's post (her flag, public, is cached)
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post_id = publish_post(alice)
    assert api.call("GET", f"/posts/{post_id}", bob).status_code == 200
    # When alice's switch to private dies after its transaction, before the cached flag is dropped
    service = wiring.follow_requests()
    monkeypatch.setattr(service, "_privacy", FailAfter(service._privacy, "set_private"))
    with pytest.raises(InjectedFaultError):
        api.call("PATCH", "/me", alice, json={"private": True})
    # And the client retries, or only the relay runs
    if finished_by == "retry":
        assert _private(api, alice)["private"] is True
    else:
        pump.drain()
    # Then bob no longer sees the post
    assert api.call("GET", f"/posts/{post_id}", bob).status_code == 403


def test_going_private_with_redis_refusing_the_cache_drop_answers_and_the_relay_finishes(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post_id = publish_post(alice)
    assert api.call("GET", f"/posts/{post_id}", bob).status_code == 200
    graph = wiring.graph()
    monkeypatch.setattr(graph, "_privacy", Broken(graph._privacy, "forget", RedisConnectionError("redis went away")))
    assert _private(api, alice)["private"] is True
    pump.drain()
    assert api.call("GET", f"/posts/{post_id}", bob).status_code == 403


def test_with_redis_down_a_private_account_stays_private_and_requests_still_work(api: Api, pump: EventPump) -> None:
    # Given alice, followed by carol, has a post
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    _follow(api, carol, alice)
    post_id = publish_post(alice)
    # When Redis is down while she goes private, bob asks to follow and she approves
    with logged_warnings(), settings_env(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        assert _private(api, alice)["private"] is True
        # Then nothing is a 500: bob is refused and carol is not, from DynamoDB
        assert api.call("GET", f"/posts/{post_id}", bob).status_code == 403
        assert api.call("GET", f"/posts/{post_id}", carol).status_code == 200
        assert _follow(api, bob, alice).status_code == 202
        assert _decide(api, alice, bob, "approve").json["following"] is True
        assert api.call("GET", f"/users/{alice.user_id}/posts", bob).status_code == 200
    # And once Redis is back the relay brings the timeline in: her post reaches bob's feed
    pump.drain()
    assert _feed(api, bob) == [post_id]
