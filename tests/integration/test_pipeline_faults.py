"""Post ingest and fanout under faults: an exception after each step, then the retry; one post, in every feed
once, counted once (docs/reliability.md)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from aperture import wiring
from aperture.fanout import Fanout
from aperture.models.events import FanoutJob
from aperture.posts import Posts
from aperture.settings import get_settings
from local.pump import EventPump
from local.seeding import Account, ready_event
from tests.fakes import MemoryJobs
from tests.faults import FailAfter, InjectedFaultError
from tests.support import Api, settings_env


def _feed(api: Api, viewer: Account) -> list[str]:
    return [p["post_id"] for p in api.call("GET", "/feed", viewer, query_string={"limit": 50}).json["items"]]


def _ingest(event: Any, **ports: Any) -> bool:
    """post_ingest's handling of the 'ready' event with these ports (the platform's own for the rest)."""
    return Posts(dataclasses.replace(wiring.posts().ports, **ports)).ingest(event)


@pytest.mark.parametrize(
    ("port", "step"),
    [("posts", "publish"), ("like_cache", "start"), ("fanout", "publish")],
)
def test_post_ingest_dies_after_each_step_and_the_retry_publishes_the_post_once(
    api: Api, pump: EventPump, port: str, step: str
) -> None:
    author, fan = api.sign_up("author"), api.sign_up("fan")
    api.call("PUT", f"/users/{author.user_id}/follow", fan)
    _feed(api, fan)  # an active reader: the post is pushed to her timeline
    event = ready_event(author, "post", ("150", "640", "1080"), caption="once", width=1080, height=1080)
    original = {"posts": wiring.post_repository(), "like_cache": wiring.like_cache(), "fanout": wiring.fanout()}[port]
    with pytest.raises(InjectedFaultError):
        _ingest(event, **{port: FailAfter(original, step)})
    _ingest(event)  # the record is delivered again
    pump.drain()
    post = str(event.post_id)
    assert _feed(api, fan) == [post]
    assert [p["post_id"] for p in api.call("GET", f"/users/{author.user_id}/posts", fan).json["items"]] == [post]
    assert api.call("GET", f"/users/{author.username}", fan).json["post_count"] == 1
    assert api.call("GET", f"/posts/{post}", fan).json["like_count"] == 0


@pytest.mark.parametrize("after", [False, True], ids=["refused", "sent-then-died"])
def test_fanout_jobs_the_queue_failed_on_are_queued_by_the_retry_and_the_post_lands_once(api: Api, after: bool) -> None:
    with settings_env(APERTURE_CELEBRITY_THRESHOLD="100", APERTURE_FANOUT_JOB_SIZE="2"):
        author, fans = api.sign_up("author"), [api.sign_up("fan") for _ in range(5)]
        for fan in fans:
            api.call("PUT", f"/users/{author.user_id}/follow", fan)
            _feed(api, fan)
        # Given the fanout queue (in memory here) that fails its first batch of jobs
        jobs = MemoryJobs()
        jobs.fail("enqueue", after=after)
        settings = get_settings()
        fanout = Fanout(
            timeline=wiring.timeline(),
            follows=wiring.follows(),
            users=wiring.users(),
            jobs=jobs,
            threshold=settings.celebrity_threshold,
            job_size=settings.fanout_job_size,
            posts=wiring.post_repository(),
        )
        event = ready_event(author, "post", ("150", "640", "1080"), width=1080, height=1080)
        with pytest.raises(InjectedFaultError):
            _ingest(event, fanout=fanout)
        # When the ready event is delivered again, and the fanout workers run every job queued
        _ingest(event, fanout=fanout)
        for job in jobs.jobs:
            wiring.fanout().run(job)
        # Then every fan sees the post once (three jobs of two followers; sent twice when the first batch went out)
        assert len(jobs.jobs) == (6 if after else 3)
        for fan in fans:
            assert _feed(api, fan).count(str(event.post_id)) == 1


def test_post_ingest_dying_after_the_write_still_notifies_whom_the_caption_mentions_once(
    api: Api, pump: EventPump
) -> None:
    author, friend = api.sign_up("author"), api.sign_up("friend")
    event = ready_event(
        author, "post", ("150", "640", "1080"), width=1080, height=1080, mentioned_ids=(int(friend.user_id),)
    )
    # Given post ingest dies right after its transaction (the post, its count and its 'published' event)
    with pytest.raises(InjectedFaultError):
        _ingest(event, posts=FailAfter(wiring.post_repository(), "publish"))
    # When the record is delivered again, and every event after it
    _ingest(event)
    pump.drain()
    # Then the friend was told of the post once
    mentions = api.call("GET", "/notifications", friend).json["items"]
    assert [(n["type"], n["post_id"]) for n in mentions] == [("mention", str(event.post_id))]


class DiesHalfWay:
    """A timeline whose push reaches the first half of the followers, then the worker dies."""

    def __init__(self, timeline: Any) -> None:
        self._timeline = timeline

    def __getattr__(self, name: str) -> Any:
        return getattr(self._timeline, name)

    def push(self, user_ids: Any, post_id: int, ms: int | None = None, batch_size: int = 500) -> int:
        users = list(user_ids)
        self._timeline.push(users[: len(users) // 2], post_id, ms)
        raise InjectedFaultError("the fanout worker died half way through its job")


def test_a_fanout_worker_that_dies_half_way_is_completed_exactly_by_the_retry(api: Api) -> None:
    with settings_env(APERTURE_CELEBRITY_THRESHOLD="100"):
        author, fans = api.sign_up("author"), [api.sign_up("fan") for _ in range(6)]
        for fan in fans:
            api.call("PUT", f"/users/{author.user_id}/follow", fan)
            _feed(api, fan)
        event = ready_event(author, "post", ("150", "640", "1080"), width=1080, height=1080)
        job = FanoutJob(
            post_id=event.post_id,
            author_id=int(author.user_id),
            published_ms=event.occurred_at,
            follower_ids=tuple(int(f.user_id) for f in fans),
        )
        fanout = wiring.fanout()
        real = fanout._timeline
        fanout._timeline = DiesHalfWay(real)
        try:
            with pytest.raises(InjectedFaultError):
                fanout.run(job)
        finally:
            fanout._timeline = real
        fanout.run(job)  # the job's message comes back after its visibility timeout
        for fan in fans:
            assert wiring.timeline().page(int(fan.user_id), None, 50).count(event.post_id) == 1
