"""notify under faults: whatever step fails, the retry delivers; nothing shows twice (docs/reliability.md)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from aperture import wiring
from aperture.clock import now_ms
from aperture.models.events import AnyEvent, CommentCreated, LikeChanged, PostPublished
from aperture.notifications import Notifier
from aperture.settings import get_settings
from local.invoke import LocalContext
from local.seeding import Account, publish_post
from tests.fakes import MemoryPush
from tests.faults import FailAfter, InjectedFaultError
from tests.support import Api, follow_event


def _notifier(repo: Any = None, push: Any = None) -> Notifier:
    """notify's logic with these ports, as one invocation of the function runs it."""
    settings = get_settings()
    wiring.once().register(LocalContext(function_name="aperture-notify", memory_limit_in_mb=256))
    return Notifier(
        repo=repo or wiring.notification_repository(),
        users=wiring.users(),
        devices=wiring.devices(),
        push=push or wiring.push(),
        hidden_from=lambda user_id: wiring.blocks().blocked_either_way(user_id),
        once=wiring.once(),
        ttl_days=settings.notification_ttl_days,
        group_window_seconds=settings.like_group_window_seconds,
    )


def _inbox(api: Api, who: Account) -> list[dict]:
    response = api.call("GET", "/notifications", who)
    assert response.status_code == 200, response.json
    return list(response.json["items"])


def _with_device(api: Api, who: Account) -> None:
    token = f"device-{uuid.uuid4().hex}"
    assert api.call("POST", "/devices", who, json={"platform": "fcm", "token": token}).status_code == 201


def _like(post_id: str, author: Account, liker: Account) -> LikeChanged:
    return LikeChanged(
        event_id=uuid.uuid4().hex,
        occurred_at=now_ms(),
        post_id=int(post_id),
        post_author_id=int(author.user_id),
        user_id=int(liker.user_id),
        liked=True,
    )


def _comment(post_id: str, author: Account, commenter: Account, mentioned: Account) -> CommentCreated:
    return CommentCreated(
        event_id=uuid.uuid4().hex,
        occurred_at=now_ms(),
        post_id=int(post_id),
        post_author_id=int(author.user_id),
        comment_id=now_ms(),
        author_id=int(commenter.user_id),
        excerpt="look",
        mentioned_ids=(int(mentioned.user_id),),
    )


def _fails_then_retries(event: AnyEvent, repo: Any = None, push: Any = None) -> int:
    """The consumer's first delivery fails part way; the record is retried with the platform's own ports."""
    with pytest.raises(InjectedFaultError):
        _notifier(repo, push).handle(event)
    return _notifier().handle(event)


def test_a_follow_notification_fails_after_it_is_written_and_the_retry_delivers_it_once(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    event = follow_event(bob, alice)
    _fails_then_retries(event, repo=FailAfter(wiring.notification_repository(), "create"))
    assert [(n["type"], n["actor"]["username"]) for n in _inbox(api, alice)] == [("follow", bob.username)]


def _phone(api: Api, who: Account) -> MemoryPush:
    """`who`'s phone, registered through the API, behind a push service in memory that records what it is sent."""
    _with_device(api, who)
    push = MemoryPush()
    for device in wiring.devices().of_user(int(who.user_id)):
        push.endpoints[device.endpoint_arn] = int(who.user_id)
    return push


def _pushed(push: MemoryPush) -> list[tuple[str, dict[str, str]]]:
    return [(sent.body, sent.data) for sent in push.sent]


def test_a_push_the_push_service_refused_is_sent_by_the_retry_and_the_notification_stays_one(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    push = _phone(api, alice)
    # Given the push service refuses the first send
    push.fail("send")
    event = follow_event(bob, alice)
    with pytest.raises(InjectedFaultError):
        _notifier(push=push).handle(event)
    # When the record is retried
    assert _notifier(push=push).handle(event) == 1
    # Then alice's phone got the push once, and her inbox holds one notification
    assert _pushed(push) == [(f"{bob.username} started following you", {"type": "follow"})]
    assert len(_inbox(api, alice)) == 1


def test_a_delivery_that_dies_right_after_its_push_pushes_once_more_at_most(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    push = _phone(api, alice)
    # Given the push went out and then the function died, before it could mark the record done
    push.fail("send", after=True)
    event = follow_event(bob, alice)
    with pytest.raises(InjectedFaultError):
        _notifier(push=push).handle(event)
    # When the record is retried, and delivered once more after that
    assert _notifier(push=push).handle(event) == 1
    assert _notifier(push=push).handle(event) == 1
    # Then the phone got it twice (at least once: a push cannot be taken back), never three times, and the inbox once
    assert _pushed(push) == [(f"{bob.username} started following you", {"type": "follow"})] * 2
    assert len(_inbox(api, alice)) == 1


@pytest.mark.parametrize("step", ["claim_key", "create"])
def test_the_first_like_of_a_group_fails_after_each_step_and_the_group_still_counts_right(api: Api, step: str) -> None:
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    post = publish_post(alice)
    # Given bob's like, whose delivery fails after `step`, then is retried
    _fails_then_retries(_like(post, alice, bob), repo=FailAfter(wiring.notification_repository(), step))
    # When carol likes it too
    assert _notifier().handle(_like(post, alice, carol)) == 1
    # Then alice sees one notification: carol and 1 other
    (notification,) = _inbox(api, alice)
    assert (notification["type"], notification["actor"]["username"], notification["others_count"]) == (
        "like",
        carol.username,
        1,
    )


@pytest.mark.parametrize("step", ["claim_key", "read_marker", "add_actor"])
def test_a_like_joining_a_group_fails_after_each_step_and_the_retry_counts_it_once(api: Api, step: str) -> None:
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    post = publish_post(alice)
    _notifier().handle(_like(post, alice, bob))
    _fails_then_retries(_like(post, alice, carol), repo=FailAfter(wiring.notification_repository(), step))
    (notification,) = _inbox(api, alice)
    assert (notification["actor"]["username"], notification["others_count"]) == (carol.username, 1)


def test_a_like_that_arrives_before_its_groups_first_delivery_is_written_waits_for_it(api: Api) -> None:
    # Given bob's like delivery that claimed the group and died before writing (its record will be retried)
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    post = publish_post(alice)
    first = _like(post, alice, bob)
    with pytest.raises(InjectedFaultError):
        _notifier(repo=FailAfter(wiring.notification_repository(), "claim_key")).handle(first)
    # When carol's like comes meanwhile, it fails too (to be retried), rather than joining nothing
    second = _like(post, alice, carol)
    with pytest.raises(Exception, match="not written yet"):
        _notifier().handle(second)
    # Then, both retried, alice has one notification counting both
    _notifier().handle(first)
    _notifier().handle(second)
    (notification,) = _inbox(api, alice)
    assert (notification["actor"]["username"], notification["others_count"]) == (carol.username, 1)


def test_a_comment_and_its_mention_fail_part_way_and_each_is_delivered_once(api: Api) -> None:
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    post = publish_post(alice)
    event = _comment(post, alice, bob, carol)
    # The post author's notification is written, then the mention's write fails: the retry finishes the mention
    repo = FailAfter(wiring.notification_repository(), "create", times=2)
    with pytest.raises(InjectedFaultError):
        _notifier(repo=repo).handle(event)
    _notifier().handle(event)
    assert [n["type"] for n in _inbox(api, alice)] == ["comment"]
    assert [n["type"] for n in _inbox(api, carol)] == ["mention"]


def test_a_redelivered_event_notifies_nobody_twice_and_pushes_once(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    push = _phone(api, alice)
    event = follow_event(bob, alice)
    assert _notifier(push=push).handle(event) == 1
    assert _notifier(push=push).handle(event) == 1  # the saved result, without doing the work again
    assert _pushed(push) == [(f"{bob.username} started following you", {"type": "follow"})]
    assert len(_inbox(api, alice)) == 1


def test_a_caption_mention_is_pushed_as_a_mention_in_a_post(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    push = _phone(api, bob)
    event = PostPublished(
        event_id=uuid.uuid4().hex,
        occurred_at=now_ms(),
        post_id=int(post),
        author_id=int(alice.user_id),
        mentioned_ids=(int(bob.user_id),),
    )
    assert _notifier(push=push).handle(event) == 1
    assert _pushed(push) == [(f"{alice.username} mentioned you in a post", {"type": "mention", "post_id": post})]
