"""What operators see, read from what the functions print as they run locally (as on Lambda, where it is their
log): the business metrics as EMF lines, and each request's correlation id on the log lines of the consumers that
handled what it caused."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from aperture import wiring
from aperture.observability import logger
from bench.round_trips import RoundTrips
from local.invoke import invoke
from local.pump import EventPump
from local.scheduler import scheduled_event
from local.seeding import publish_post, publish_story
from tests.faults import FailAfter
from tests.support import Api, jpeg_bytes, settings_env, upload_photo


@dataclass(frozen=True)
class Printed:
    """The JSON lines the functions printed: log lines (with a message) and EMF documents (with `_aws`)."""

    lines: list[dict[str, Any]]

    @classmethod
    def parse(cls, out: str) -> Printed:
        found = []
        for line in out.splitlines():
            try:
                parsed = json.loads(line)
            except ValueError:
                continue  # (not one of ours)
            if isinstance(parsed, dict):
                found.append(parsed)
        return cls(found)

    def logged(self, message: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("message") == message]

    def metric(self, name: str) -> list[dict[str, Any]]:
        """The EMF documents of metric `name`, each checked to declare it in the Aperture namespace."""
        documents = [line for line in self.lines if "_aws" in line and name in line]
        for document in documents:
            (declared,) = document["_aws"]["CloudWatchMetrics"]
            assert declared["Namespace"] == "Aperture"
            assert [m["Name"] for m in declared["Metrics"]] == [name]
            # Every dimension it declares is on the line (CloudWatch drops a line that lacks one)
            assert all(dimension in document for dimension in declared["Dimensions"][0])
        return documents

    def values(self, name: str) -> list[float]:
        return [value for document in self.metric(name) for value in document[name]]

    def unit(self, name: str) -> str:
        units = {m["Unit"] for d in self.metric(name) for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
        (unit,) = units
        return unit


class _CurrentStdout:
    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def printed(capfd: pytest.CaptureFixture[str]) -> Iterator[Callable[[], Printed]]:
    """What the functions printed since the last call, with their log at INFO, the level they log at on AWS."""
    # The Logger writes to the stdout there was when it was made (pytest's, by now closed): for the test, to the one
    # there is at each write, as print() does (set, not setStream, which would flush the closed one)
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    level, stream = logger.log_level, handler.stream
    handler.stream = _CurrentStdout()
    logger.setLevel("INFO")
    capfd.readouterr()
    try:
        yield lambda: Printed.parse(capfd.readouterr().out)
    finally:
        logger.setLevel(level)
        handler.stream = stream


def test_a_requests_id_is_on_the_line_of_the_consumer_that_handled_its_event(
    api: Api, pump: EventPump, printed: Callable[[], Printed]
) -> None:
    # Given alice
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    pump.drain()
    printed()
    # When bob follows her (the request's id comes back as API Gateway sends it) and the pump delivers the follow's
    # event: from the outbox through the relay to the events stream, then to notify
    followed = api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    assert followed.status_code == 200
    request_id = followed.headers["apigw-requestid"]
    pump.drain()
    # Then notify's line about the follow carries that id, and so does the notification's metric
    out = printed()
    notified = [line for line in out.logged("notified") if line["event_type"] == "follow_changed"]
    assert [line["correlation_id"] for line in notified] == [request_id]
    assert [line["function_name"] for line in notified] == ["aperture-notify"]
    assert [d["correlation_id"] for d in out.metric("NotificationsSent")] == [request_id]
    assert out.values("NotificationsSent") == [1.0]


def test_a_record_that_fails_is_logged_under_the_id_of_the_request_that_caused_it(
    api: Api, pump: EventPump, printed: Callable[[], Printed], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given notify fails on its first try at the next event
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    pump.drain()
    notifier = FailAfter(wiring.notifier(), "handle")
    monkeypatch.setattr(wiring, "notifier", lambda: notifier)
    printed()
    # When bob follows alice and the pump delivers the follow (the failed record is retried)
    request_id = api.call("PUT", f"/users/{alice.user_id}/follow", bob).headers["apigw-requestid"]
    pump.drain()
    # Then the failure is logged, with its error, under the follow request's id; and the retry notified alice
    (failed,) = printed().logged("record failed; reported for a retry")
    assert (failed["correlation_id"], failed["function_name"]) == (request_id, "aperture-notify")
    assert "InjectedFaultError" in failed["exception"]
    assert notifier.calls == 2
    assert [n["type"] for n in api.call("GET", "/notifications", alice).json["items"]] == ["follow"]


def test_an_upload_is_measured_on_its_way_to_a_followers_feed_and_followed_by_its_id(
    api: Api, pump: EventPump, printed: Callable[[], Printed]
) -> None:
    # Given bob, who follows alice and has read his feed lately (so fanout pushes to him)
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    assert api.call("PUT", f"/users/{alice.user_id}/follow", bob).status_code == 200
    assert api.call("GET", "/feed", bob).status_code == 200
    pump.drain()
    printed()
    # When alice uploads a photo and the platform processes it
    grant = upload_photo(api, alice, jpeg_bytes(800, 600))
    pump.drain()
    out = printed()
    # Then the upload was accepted, its post published and pushed to one follower's timeline, each counted once
    assert out.values("UploadsAccepted") == [1.0]
    assert out.values("PostsPublished") == [1.0]
    assert out.values("FanoutSize") == [1.0]
    assert len(out.values("FanoutDuration")) == 1 and out.unit("FanoutDuration") == "Milliseconds"
    assert out.values("UploadsRefused") == out.values("UploadsFailed") == []
    # And every function on the way logged it under the upload's id: the post's event and the fanout job, made by
    # consumers while handling the upload's event, carried it on
    upload = f"upload-{grant['upload_id']}"
    for message in ("upload processed", "post ingested", "fanout job done"):
        assert [line["correlation_id"] for line in out.logged(message)] == [upload], message

    # When bob reads his feed, counting its Redis round trips
    trips = RoundTrips(wiring.redis_client())
    feed = api.call("GET", "/feed", bob)
    out = printed()
    # Then the page shows the post, and its latency and round trips were measured under the request's id
    assert [p["post_id"] for p in feed.json["items"]] == [grant["target_id"]]
    assert out.values("FeedRoundTrips") == [float(trips.count)]
    (latency,) = out.metric("FeedLatency")
    assert out.unit("FeedLatency") == "Milliseconds" and latency["FeedLatency"][0] > 0
    assert latency["correlation_id"] == feed.headers["apigw-requestid"]


def test_a_refused_upload_and_a_rate_limited_follow_are_counted(
    api: Api, pump: EventPump, printed: Callable[[], Printed]
) -> None:
    # Given alice, bob and carol, and at most one follow an hour
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    pump.drain()
    with settings_env(APERTURE_LIMIT_FOLLOWS="1/3600"):
        printed()
        # When alice uploads a text file as a JPEG, and follows bob, then carol
        upload_photo(api, alice, b"this is not a picture at all")
        pump.drain()
        assert api.call("PUT", f"/users/{bob.user_id}/follow", alice).status_code == 200
        assert api.call("PUT", f"/users/{carol.user_id}/follow", alice).status_code == 429
        out = printed()
    # Then the refusal is counted once, and the refused follow under its action
    assert out.values("UploadsRefused") == [1.0]
    assert out.values("UploadsAccepted") == []
    (limited,) = out.metric("RateLimited")
    assert (limited["RateLimited"], limited["action"]) == ([1.0], "follows")
    assert "action" in limited["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]


def test_story_views_and_explore_cache_hits_and_misses_are_counted(
    api: Api, pump: EventPump, printed: Callable[[], Printed]
) -> None:
    # Given a live story of alice's, a post of hers, and explore refreshed since
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    story = publish_story(alice)
    publish_post(alice)
    pump.drain()
    assert invoke("explore_refresh", scheduled_event("explore_refresh", "us-east-1"))["generation"] is not None
    pump.drain()
    printed()
    # When bob views the story twice, and opens explore twice (its list is ranked on the first visit)
    for _ in range(2):
        assert api.call("POST", f"/stories/{story}/views", bob).status_code == 204
    for _ in range(2):
        assert api.call("GET", "/explore", bob).status_code == 200
    out = printed()
    # Then one view counted (a viewer counts once), the first page missed the lists and the second found bob's
    assert out.values("StoryViews") == [1.0]
    assert out.values("ExploreCacheMiss") == [1.0]
    assert out.values("ExploreCacheHit") == [1.0]
