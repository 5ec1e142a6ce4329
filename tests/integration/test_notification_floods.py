"""Notification floods bounded (issue 12): one follow notification per pair per day however often it is toggled, and
at most a few users notified by one comment or caption, whatever it names."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aperture import clock, wiring
from aperture.clock import ShiftedClock, SystemClock
from local.pump import EventPump
from local.seeding import Account, publish_post, ready_event
from tests.faults import FailAfter, InjectedFaultError
from tests.support import Api, follow_event, settings_env

DAY = 86_400


@pytest.fixture
def shifted() -> Iterator[ShiftedClock]:
    moved = ShiftedClock()
    clock.use_clock(moved)
    yield moved
    clock.use_clock(SystemClock())


def _inbox(api: Api, who: Account) -> list[tuple[str, str]]:
    response = api.call("GET", "/notifications", who)
    assert response.status_code == 200, response.json
    return [(n["type"], n["actor"]["username"]) for n in response.json["items"]]


def _toggle_follow(api: Api, fan: Account, star: Account, times: int) -> None:
    for _ in range(times):
        assert api.call("PUT", f"/users/{star.user_id}/follow", fan).status_code in {200, 202}
        assert api.call("DELETE", f"/users/{star.user_id}/follow", fan).status_code == 200


def test_toggling_a_follow_notifies_once_a_day(api: Api, pump: EventPump, shifted: ShiftedClock) -> None:
    # Given bob following and unfollowing alice five times, then following her
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    _toggle_follow(api, bob, alice, 5)
    assert api.call("PUT", f"/users/{alice.user_id}/follow", bob).status_code == 200
    pump.drain()
    # Then alice was told once; another follower is told of as usual
    assert _inbox(api, alice) == [("follow", bob.username)]
    api.call("PUT", f"/users/{alice.user_id}/follow", carol)
    pump.drain()
    assert _inbox(api, alice) == [("follow", carol.username), ("follow", bob.username)]
    # When bob unfollows and follows again just short of a day later: still nothing new
    shifted.advance(DAY - 60)
    _toggle_follow(api, bob, alice, 1)
    pump.drain()
    assert len(_inbox(api, alice)) == 2
    # A day after the first notification, a follow notifies again
    shifted.advance(120)
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    pump.drain()
    assert _inbox(api, alice)[0] == ("follow", bob.username)
    assert len(_inbox(api, alice)) == 3


def test_toggling_a_follow_request_to_a_private_account_notifies_once(api: Api, pump: EventPump) -> None:
    owner, fan = api.sign_up("owner"), api.sign_up("fan")
    assert api.call("PATCH", "/me", owner, json={"private": True}).status_code == 200
    _toggle_follow(api, fan, owner, 4)
    pump.drain()
    assert _inbox(api, owner) == [("follow_request", fan.username)]


def test_a_comment_naming_many_users_notifies_only_the_first_few(api: Api, pump: EventPump) -> None:
    with settings_env(APERTURE_MAX_MENTIONS_NOTIFIED="3"):
        # Given a comment naming five users
        alice, bob = api.sign_up("alice"), api.sign_up("bob")
        named = [api.sign_up("named") for _ in range(5)]
        post = publish_post(alice)
        text = "look " + " ".join(f"@{n.username}" for n in named)
        assert api.call("POST", f"/posts/{post}/comments", bob, json={"text": text}).status_code == 201
        pump.drain()
        # Then the first three are told, the other two are not; the comment keeps every name
        assert [bool(_inbox(api, n)) for n in named] == [True, True, True, False, False]
        assert api.call("GET", f"/posts/{post}/comments", alice).json["items"][0]["text"] == text
        # And the post's author hears of the comment, as always
        assert _inbox(api, alice) == [("comment", bob.username)]


def test_a_caption_and_its_edits_notify_no_more_users_than_the_cap(api: Api, pump: EventPump) -> None:
    with settings_env(APERTURE_MAX_MENTIONS_NOTIFIED="2"):
        alice = api.sign_up("alice")
        named = [api.sign_up("named") for _ in range(5)]
        # (as the upload named them: the caption's existing users, in order)
        event = ready_event(
            alice,
            "post",
            ("150", "640", "1080"),
            caption=" ".join(f"@{n.username}" for n in named[:3]),
            mentioned_ids=tuple(int(n.user_id) for n in named[:3]),
            width=1080,
            height=1080,
        )
        wiring.posts().ingest(event)
        post = str(event.post_id)
        pump.drain()
        assert [bool(_inbox(api, n)) for n in named] == [True, True, False, False, False]
        # An edit naming two more notifies nobody: the caption has used its two
        caption = " ".join(f"@{n.username}" for n in named)
        assert api.call("PATCH", f"/posts/{post}", alice, json={"caption": caption}).status_code == 200
        pump.drain()
        assert [bool(_inbox(api, n)) for n in named] == [True, True, False, False, False]


@pytest.mark.parametrize("step", ["claim_key_until", "create"])
def test_a_follow_notification_failing_after_each_step_is_delivered_once_by_the_retry(api: Api, step: str) -> None:
    from tests.integration.test_notify_faults import _notifier

    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    first = follow_event(bob, alice)
    # Given the delivery fails right after `step`
    with pytest.raises(InjectedFaultError):
        _notifier(repo=FailAfter(wiring.notification_repository(), step)).handle(first)
    # When it is retried, and bob's follow is toggled again meanwhile (a new event)
    assert _notifier().handle(first) == 1
    assert _notifier().handle(follow_event(bob, alice)) == 0
    # Then alice has one notification
    assert _inbox(api, alice) == [("follow", bob.username)]
