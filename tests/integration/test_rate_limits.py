"""Rate limits through the HTTP API (API.md, "Rate limits per user"): past a limit a write is 429 `rate_limited`
with Retry-After, and nothing of it is kept; the bucket refills with time; an idempotent retry is not charged again;
with Redis down the limits are skipped, not the writes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr

from aperture import clock, wiring
from aperture.adapters.aws import dynamo_table
from aperture.adapters.redis_store.likes import likes_keys
from aperture.adapters.redis_store.limits import bucket_key
from aperture.clock import ShiftedClock, SystemClock
from aperture.errors import RateLimitedError
from aperture.settings import get_settings
from bench.round_trips import RoundTrips
from local.pump import EventPump
from local.redis_server import RedisServer
from local.seeding import Account, publish_post
from tests.integration.test_reports import _moderator, _queue
from tests.support import PASSWORD, Api, logged_warnings, settings_env

UPLOAD = {"kind": "post", "content_type": "image/jpeg", "content_length": 1000, "caption": "hi"}


@pytest.fixture
def shifted() -> Iterator[ShiftedClock]:
    moved = ShiftedClock()
    clock.use_clock(moved)
    yield moved
    clock.use_clock(SystemClock())


# When the running test began: every bucket it charges was charged after this
_STARTED = [0.0]


@pytest.fixture(autouse=True)
def _test_started() -> None:
    _STARTED[0] = time.monotonic()


def _refused(response: Any, retry_after: int) -> None:
    """A 429 in the API's error shape, naming when to come back."""
    assert response.status_code == 429, response.get_data(as_text=True)
    assert response.json["error"]["code"] == "rate_limited"
    assert "too often" in response.json["error"]["message"]
    # (the bucket refills while the test runs: the wait is shorter by the time since the test began charging it,
    # which a loaded machine can make many seconds; the test's own clock bounds it)
    elapsed = time.monotonic() - _STARTED[0]
    assert retry_after - elapsed - 1 <= int(response.headers["Retry-After"]) <= retry_after


def _uploads_of(user: Account) -> list[dict[str, Any]]:
    table = dynamo_table(get_settings().table_uploads)
    items: list[dict[str, Any]] = table.scan(FilterExpression=Attr("user_id").eq(int(user.user_id)))["Items"]
    return items


def test_the_third_post_in_an_hour_past_a_limit_of_two_is_refused_and_nothing_is_kept(api: Api) -> None:
    with settings_env(APERTURE_LIMIT_POSTS="2/3600"):
        # Given a user who posted twice within the hour, their limit
        alice = api.sign_up("alice")
        for _ in range(2):
            assert api.call("POST", "/uploads", alice, json=UPLOAD).status_code == 201
        # When they ask for a third upload
        refused = api.call("POST", "/uploads", alice, json=UPLOAD)
        # Then it is 429, come back when the bucket has room for one (an hour over two: 30 minutes)
        _refused(refused, 1800)
        # And no upload record was written for it
        assert len(_uploads_of(alice)) == 2
        # While stories, a limit of their own, are still granted
        story = api.call("POST", "/uploads", alice, json={**UPLOAD, "kind": "story"})
        assert story.status_code == 201, story.json


def test_the_story_past_its_limit_is_refused_while_posts_are_still_granted(api: Api) -> None:
    with settings_env(APERTURE_LIMIT_STORIES="1/3600"):
        alice = api.sign_up("alice")
        story = {**UPLOAD, "kind": "story"}
        assert api.call("POST", "/uploads", alice, json=story).status_code == 201
        _refused(api.call("POST", "/uploads", alice, json=story), 3600)
        assert [u["kind"] for u in _uploads_of(alice)] == ["story"]
        assert api.call("POST", "/uploads", alice, json=UPLOAD).status_code == 201


def test_a_refused_request_charges_nothing_and_the_bucket_refills_with_time(api: Api, shifted: ShiftedClock) -> None:
    with settings_env(APERTURE_LIMIT_POSTS="2/3600"):
        alice = api.sign_up("alice")
        for _ in range(2):
            assert api.call("POST", "/uploads", alice, json=UPLOAD).status_code == 201
        # Refused twice in a row: the second is told the same wait, so the first was not charged
        _refused(api.call("POST", "/uploads", alice, json=UPLOAD), 1800)
        shifted.advance(600)
        _refused(api.call("POST", "/uploads", alice, json=UPLOAD), 1200)
        # Half an hour on, there is room for one; an hour on, for the whole burst again
        shifted.advance(1200)
        assert api.call("POST", "/uploads", alice, json=UPLOAD).status_code == 201
        _refused(api.call("POST", "/uploads", alice, json=UPLOAD), 1800)
        shifted.advance(3600)
        assert [api.call("POST", "/uploads", alice, json=UPLOAD).status_code for _ in range(3)] == [201, 201, 429]
        assert len(_uploads_of(alice)) == 5


def test_limits_are_per_user(api: Api) -> None:
    with settings_env(APERTURE_LIMIT_POSTS="1/3600"):
        alice, bob = api.sign_up("alice"), api.sign_up("bob")
        assert api.call("POST", "/uploads", alice, json=UPLOAD).status_code == 201
        _refused(api.call("POST", "/uploads", alice, json=UPLOAD), 3600)
        assert api.call("POST", "/uploads", bob, json=UPLOAD).status_code == 201


def test_an_idempotent_retry_is_not_charged_again_and_a_refused_key_keeps_nothing(api: Api) -> None:
    with settings_env(APERTURE_LIMIT_POSTS="2/3600"):
        alice = api.sign_up("alice")
        key = {"Idempotency-Key": uuid.uuid4().hex}
        first = api.call("POST", "/uploads", alice, json=UPLOAD, headers=key)
        # The client retries the same request three times: the same answer, and only the first was charged
        for _ in range(3):
            again = api.call("POST", "/uploads", alice, json=UPLOAD, headers=key)
            assert (again.status_code, again.json) == (201, first.json)
        assert api.call("POST", "/uploads", alice, json=UPLOAD).status_code == 201
        # Past the limit, a new key is refused, and keeps neither a claim nor reserved ids: the same key sent
        # once the bucket has room is a request like any other
        idempotency = dynamo_table(get_settings().table_idempotency)
        kept = idempotency.scan(Select="COUNT")["Count"]
        late = {"Idempotency-Key": uuid.uuid4().hex}
        _refused(api.call("POST", "/uploads", alice, json=UPLOAD, headers=late), 1800)
        assert len(_uploads_of(alice)) == 2
        assert idempotency.scan(Select="COUNT")["Count"] == kept


def test_the_comment_past_the_limit_is_429_and_not_written(api: Api, pump: EventPump) -> None:
    with settings_env(APERTURE_LIMIT_COMMENTS="3/600"):
        alice, bob = api.sign_up("alice"), api.sign_up("bob")
        post = publish_post(alice)
        for n in range(3):
            sent = api.call("POST", f"/posts/{post}/comments", bob, json={"text": f"nice {n}"})
            assert sent.status_code == 201, sent.json
        _refused(api.call("POST", f"/posts/{post}/comments", bob, json={"text": "one too many"}), 200)
        pump.drain()
        texts = [c["text"] for c in api.call("GET", f"/posts/{post}/comments", alice).json["items"]]
        assert texts == ["nice 0", "nice 1", "nice 2"]
        assert api.call("GET", f"/posts/{post}", alice).json["comment_count"] == 3
        assert (
            len(
                dynamo_table(get_settings().table_comments).query(
                    KeyConditionExpression="post_id = :p", ExpressionAttributeValues={":p": int(post)}
                )["Items"]
            )
            == 3
        )


def test_a_comment_retried_with_its_key_past_the_limit_answers_as_the_first_time(api: Api) -> None:
    with settings_env(APERTURE_LIMIT_COMMENTS="1/600"):
        alice, bob = api.sign_up("alice"), api.sign_up("bob")
        post = publish_post(alice)
        key = {"Idempotency-Key": uuid.uuid4().hex}
        first = api.call("POST", f"/posts/{post}/comments", bob, json={"text": "hi"}, headers=key)
        assert first.status_code == 201
        # The bucket is empty now, but the retry of the answered request is a replay, not a new comment
        again = api.call("POST", f"/posts/{post}/comments", bob, json={"text": "hi"}, headers=key)
        assert (again.status_code, again.json) == (201, first.json)
        _refused(api.call("POST", f"/posts/{post}/comments", bob, json={"text": "new"}), 600)


def test_the_like_past_the_limit_is_429_and_counts_nothing(api: Api, redis: Any) -> None:
    with settings_env(APERTURE_LIMIT_LIKES="2/3600"):
        alice, bob = api.sign_up("alice"), api.sign_up("bob")
        posts = [publish_post(alice) for _ in range(3)]
        for post in posts[:2]:
            assert api.call("PUT", f"/posts/{post}/like", bob).status_code == 200
        _refused(api.call("PUT", f"/posts/{post}/like", bob), 1800)
        # Neither the post's count, nor its likers in DynamoDB, nor Redis's live count moved
        third = api.call("GET", f"/posts/{posts[2]}", bob).json
        assert (third["like_count"], third["liked_by_me"]) == (0, False)
        likes = dynamo_table(get_settings().table_likes)
        assert "Item" not in likes.get_item(Key={"post_id": int(posts[2]), "user_id": int(bob.user_id)})
        assert redis.get(likes_keys(int(posts[2]))[0]) in {None, "0"}
        # Taking a like back is never limited
        assert api.call("DELETE", f"/posts/{posts[0]}/like", bob).status_code == 200


def test_the_follow_past_the_limit_is_429_and_follows_nobody(api: Api) -> None:
    with settings_env(APERTURE_LIMIT_FOLLOWS="2/3600"):
        fan = api.sign_up("fan")
        stars = [api.sign_up("star") for _ in range(3)]
        for star in stars[:2]:
            assert api.call("PUT", f"/users/{star.user_id}/follow", fan).status_code == 200
        _refused(api.call("PUT", f"/users/{stars[2].user_id}/follow", fan), 1800)
        follows = dynamo_table(get_settings().table_follows)
        assert "Item" not in follows.get_item(
            Key={"follower_id": int(fan.user_id), "followee_id": int(stars[2].user_id)}
        )
        profile = api.call("GET", f"/users/{stars[2].username}", fan).json
        assert profile["follower_count"] == 0
        # Unfollowing is never limited
        assert api.call("DELETE", f"/users/{stars[0].user_id}/follow", fan).status_code == 200


def test_a_follow_request_to_a_private_account_counts_as_a_follow(api: Api) -> None:
    with settings_env(APERTURE_LIMIT_FOLLOWS="1/3600"):
        fan, private, other = api.sign_up("fan"), api.sign_up("private"), api.sign_up("other")
        assert api.call("PATCH", "/me", private, json={"private": True}).status_code == 200
        assert api.call("PUT", f"/users/{private.user_id}/follow", fan).status_code == 202
        _refused(api.call("PUT", f"/users/{other.user_id}/follow", fan), 3600)


def test_sign_ups_past_the_limit_from_one_address_are_refused_and_create_no_account(api: Api) -> None:
    address = {"REMOTE_ADDR": f"198.51.100.{uuid.uuid4().int % 250 + 1}"}
    with settings_env(APERTURE_LIMIT_SIGNUPS="2/3600"):
        names = [f"flood{uuid.uuid4().hex[:10]}" for _ in range(3)]
        answers = [
            api.call(
                "POST",
                "/auth/signup",
                json={"username": name, "password": PASSWORD, "email": f"{name}@example.com"},
                environ_base=address,
            )
            for name in names
        ]
        assert [a.status_code for a in answers[:2]] == [201, 201]
        assert answers[2].status_code == 429, answers[2].json
        assert answers[2].json["error"]["code"] == "rate_limited"
        assert 0 < int(answers[2].headers["Retry-After"]) <= 3600
        # No account: it cannot sign in, and its username is free
        token = api.call("POST", "/auth/token", json={"username": names[2], "password": PASSWORD})
        assert token.status_code == 401
        assert wiring.users().get_by_username(names[2]) is None
        # Another address signs up as usual
        other = api.call(
            "POST",
            "/auth/signup",
            json={"username": names[2], "password": PASSWORD, "email": f"{names[2]}@example.com"},
            environ_base={"REMOTE_ADDR": "203.0.113.9"},
        )
        assert other.status_code == 201, other.json


def test_reports_have_a_limit_of_their_own(api: Api, redis: Any) -> None:
    # POST /reports is another branch's route; its limit is here, checked where the route will call it
    with settings_env(APERTURE_LIMIT_REPORTS="2/3600"):
        limiter = wiring.limiter()
        limiter.take("42", "reports")
        limiter.take("42", "reports")
        with pytest.raises(RateLimitedError) as refused:
            limiter.take("42", "reports")
        assert refused.value.retry_after == 1800
        assert redis.exists(bucket_key("42", "reports"))
        limiter.take("42", "likes")  # other actions are other buckets


def test_with_redis_down_writes_go_ahead_unlimited_with_a_warning_and_a_metric(
    api: Api, capfd: pytest.CaptureFixture[str]
) -> None:
    alice = api.sign_up("alice")
    server = RedisServer()
    try:
        with settings_env(REDIS_URL=server.url, APERTURE_LIMIT_POSTS="1/3600"):
            assert api.call("POST", "/uploads", alice, json=UPLOAD).status_code == 201
            server.kill()
            with logged_warnings() as warned:
                answers = [api.call("POST", "/uploads", alice, json=UPLOAD).status_code for _ in range(2)]
            # The uploads need no Redis: with the limit's store gone, they are granted (fail open)
            assert answers == [201, 201]
            assert any("rate limit not checked" in r.getMessage() for r in warned)
            assert '"RateLimiterUnavailable":[1.0]' in capfd.readouterr().out
    finally:
        server.stop()


def test_a_limit_check_is_one_redis_round_trip(api: Api) -> None:
    alice = api.sign_up("alice")
    assert api.call("POST", "/uploads", alice, json=UPLOAD).status_code == 201  # (the script is loaded once)
    trips = RoundTrips(wiring.redis_client())
    assert api.call("POST", "/uploads", alice, json=UPLOAD).status_code == 201
    # The upload grant itself needs no Redis: one is the limit's check and charge, the other the account check
    # every change makes first (aperture.standing)
    assert trips.count == 1 + 1


def test_the_report_past_its_limit_is_refused_and_files_nothing(api: Api, pump: EventPump) -> None:
    with settings_env(APERTURE_LIMIT_REPORTS="1/3600"):
        # Given a reporter who reported one post within the hour, their limit
        alice, bob = api.sign_up("alice"), api.sign_up("bob")
        first, second = publish_post(bob), publish_post(bob)
        pump.drain()
        body = {"target": {"post_id": first}, "reason": "spam"}
        assert api.call("POST", "/reports", alice, json=body).status_code == 201
        # When they report another
        refused = api.call("POST", "/reports", alice, json={"target": {"post_id": second}, "reason": "spam"})
        # Then it is 429, and nothing of it is in the moderators' queue
        _refused(refused, 3600)
        reported = [e["target"].get("post_id") for e in _queue(api, _moderator(api))]
        assert first in reported and second not in reported
