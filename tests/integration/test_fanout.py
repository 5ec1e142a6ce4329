"""Hybrid fanout: pushes below the celebrity threshold, request-time merges above it, and activity-aware timelines."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from aperture import wiring
from aperture.adapters.redis_store.client import PipelineBatch
from aperture.adapters.redis_store.timeline import Timeline, active_key, timeline_key
from aperture.fanout import Fanout
from aperture.models.events import CelebrityJob, FanoutJob
from aperture.settings import get_settings
from bench.round_trips import RoundTrips
from local.pump import EventPump
from local.redis_server import free_port
from local.seeding import Account, publish_post
from tests.fakes import MemoryJobs
from tests.support import Api, logged_warnings, settings_env


def _feed(api: Api, viewer: Account) -> list[str]:
    return [p["post_id"] for p in api.call("GET", "/feed", viewer, query_string={"limit": 50}).json["items"]]


def _timeline(viewer: Account) -> list[int]:
    return wiring.timeline().page(int(viewer.user_id), None, 100)


@pytest.fixture
def small_world(api: Api) -> Iterator[None]:
    with settings_env(APERTURE_CELEBRITY_THRESHOLD="3", APERTURE_FANOUT_JOB_SIZE="2"):
        yield


def test_a_post_is_pushed_to_active_followers_in_jobs(api: Api, pump: EventPump, small_world: None) -> None:
    # Given an author with two active followers (the threshold is three)
    author, fans = api.sign_up("author"), [api.sign_up("fan") for _ in range(2)]
    for fan in fans:
        api.call("PUT", f"/users/{author.user_id}/follow", fan)
        _feed(api, fan)  # reading the feed makes them active
    # When the author posts
    post = publish_post(author)
    pump.drain()
    # Then the post is in both timelines, pushed, before anyone asks
    for fan in fans:
        assert _timeline(fan) == [int(post)]


def test_a_retried_fanout_job_changes_nothing(api: Api, small_world: None) -> None:
    author, fan = api.sign_up("author"), api.sign_up("fan")
    _feed(api, fan)
    job = FanoutJob(
        post_id=123, author_id=int(author.user_id), published_ms=1_800_000_000_000, follower_ids=(int(fan.user_id),)
    )
    for _ in range(3):
        wiring.fanout().run(job)
    assert _timeline(fan) == [123]


def test_followers_are_split_into_jobs_of_the_configured_size(api: Api, small_world: None) -> None:
    author = api.sign_up("author")
    for fan in [api.sign_up("fan") for _ in range(2)]:
        api.call("PUT", f"/users/{author.user_id}/follow", fan)
    assert wiring.fanout().publish(int(author.user_id), 999, 1_800_000_000_000) == 1  # 2 followers, jobs of 2


def test_a_celebritys_posts_are_not_pushed_but_merged_when_read(api: Api, pump: EventPump, small_world: None) -> None:
    # Given an author past the threshold (three followers)
    star, fans = api.sign_up("star"), [api.sign_up("fan") for _ in range(3)]
    for fan in fans:
        _feed(api, fan)
        api.call("PUT", f"/users/{star.user_id}/follow", fan)
    pump.drain()
    # When the star posts, nothing is pushed
    assert wiring.fanout().publish(int(star.user_id), 1, 1) == 0
    post = publish_post(star)
    pump.drain()
    assert int(post) not in _timeline(fans[0])
    # But every follower's feed shows it, merged at request time
    for fan in fans:
        assert post in _feed(api, fan)


def test_crossing_the_threshold_either_way_keeps_feeds_whole(api: Api, pump: EventPump, small_world: None) -> None:
    star, fans = api.sign_up("star"), [api.sign_up("fan") for _ in range(3)]
    for fan in fans:
        _feed(api, fan)
    before = publish_post(star)
    for fan in fans:
        api.call("PUT", f"/users/{star.user_id}/follow", fan)  # the third follow crosses the threshold
    pump.drain()
    during = publish_post(star)  # not pushed: the star is a celebrity now
    pump.drain()
    assert {before, during} <= set(_feed(api, fans[0]))
    api.call("DELETE", f"/users/{star.user_id}/follow", fans[2])  # back under the threshold
    pump.drain()
    after = publish_post(star)  # pushed again
    pump.drain()
    for fan in fans[:2]:
        assert [p for p in _feed(api, fan) if p in {before, during, after}] == [after, during, before]
        assert int(during) in _timeline(fan)  # merged in when the star came back under
    assert _feed(api, fans[2]) == []


def test_a_follower_away_for_two_weeks_gets_no_pushes_and_no_empty_feed(api: Api, pump: EventPump) -> None:
    author, fan = api.sign_up("author"), api.sign_up("fan")
    api.call("PUT", f"/users/{author.user_id}/follow", fan)
    pump.drain()  # the follow's event is relayed (its timeline merge done again) long before two weeks pass
    _feed(api, fan)
    wiring.redis_client().delete(active_key(int(fan.user_id)), timeline_key(int(fan.user_id)))  # 14 days pass
    post = publish_post(author)
    pump.drain()
    assert _timeline(fan) == []  # skipped while away
    assert _feed(api, fan) == [post]  # rebuilt on the first request back


def test_following_merges_recent_posts_and_unfollowing_takes_them_out(api: Api) -> None:
    author, fan = api.sign_up("author"), api.sign_up("fan")
    _feed(api, fan)
    posts = [publish_post(author) for _ in range(3)]
    api.call("PUT", f"/users/{author.user_id}/follow", fan)
    assert _feed(api, fan) == posts[::-1]
    api.call("DELETE", f"/users/{author.user_id}/follow", fan)
    assert _feed(api, fan) == []


def test_with_redis_down_the_feed_comes_from_dynamodb_not_a_500(api: Api, capfd: pytest.CaptureFixture[str]) -> None:
    # Given a follower and some posts, made while Redis was up
    author, other, fan = api.sign_up("author"), api.sign_up("other"), api.sign_up("fan")
    for followee in (author, other):
        api.call("PUT", f"/users/{followee.user_id}/follow", fan)
    posts = [publish_post(author if i % 2 else other) for i in range(5)]
    api.call("PUT", f"/posts/{posts[0]}/like", fan)
    # When Redis goes away
    with logged_warnings() as warnings, settings_env(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        first = api.call("GET", "/feed", fan, query_string={"limit": 3})
        second = api.call("GET", "/feed", fan, query_string={"limit": 3, "cursor": first.json["next_cursor"]})
    # Then the feed still answers, newest first, pages and all, with a warning and a metric
    assert first.status_code == second.status_code == 200
    assert [p["post_id"] for p in first.json["items"] + second.json["items"]] == posts[::-1]
    liked = next(p for p in second.json["items"] if p["post_id"] == posts[0])
    assert liked["liked_by_me"] is True
    assert [r.getMessage() for r in warnings] == ["feed built without Redis"] * 2
    assert '"FeedDegraded":[1.0]' in capfd.readouterr().out


def test_with_redis_down_paging_reaches_every_older_post(api: Api) -> None:
    # Given a follower of an author with more posts than a few pages hold
    author, fan = api.sign_up("author"), api.sign_up("fan")
    api.call("PUT", f"/users/{author.user_id}/follow", fan)
    posts = [publish_post(author) for _ in range(14)]
    # When Redis is down and the fan pages through the whole feed, three at a time
    seen: list[str] = []
    with logged_warnings(), settings_env(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        cursor = None
        for _ in range(10):
            query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = api.call("GET", "/feed", fan, query_string=query).json
            seen += [p["post_id"] for p in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
    # Then every post comes once, newest first, however deep the cursor goes
    assert seen == posts[::-1]


def test_a_warm_feed_page_takes_at_most_three_redis_round_trips(api: Api, pump: EventPump, small_world: None) -> None:
    # Given a viewer following a few accounts and one celebrity, all of whom posted, with likes, comments and saves
    viewer, star = api.sign_up("viewer"), api.sign_up("star")
    friends = [api.sign_up("friend") for _ in range(3)]
    for fan in [api.sign_up("fan") for _ in range(2)] + [viewer]:
        api.call("PUT", f"/users/{star.user_id}/follow", fan)
    for friend in friends:
        api.call("PUT", f"/users/{friend.user_id}/follow", viewer)
    api.call("GET", "/feed", viewer)
    posts = [publish_post(author) for author in [star, *friends] for _ in range(3)]
    pump.drain()
    api.call("PUT", f"/posts/{posts[0]}/like", viewer)
    api.call("POST", f"/posts/{posts[1]}/comments", viewer, json={"text": "nice"})
    shown = api.call("GET", "/feed", viewer, query_string={"limit": 10}).json["items"]
    saved = shown[3]["post_id"]
    api.call("PUT", f"/posts/{saved}/save", viewer)
    first = api.call("GET", "/feed", viewer, query_string={"limit": 10}).json  # warms the caches
    # When the same page is read again, counting every Redis round trip
    trips = RoundTrips(wiring.redis_client())
    again = api.call("GET", "/feed", viewer, query_string={"limit": 10}).json
    # Then it is the same page, hydrated, in three round trips, and one more that logs its impressions
    assert again == first and len(again["items"]) == 10
    assert any(p["author"]["user_id"] == star.user_id for p in again["items"])  # merged, not pushed
    assert [p["post_id"] for p in again["items"] if p["saved_by_me"]] == [saved]  # saves ride along
    assert trips.besides("XADD") <= 3, trips.trips
    assert trips.count == trips.besides("XADD") + 1, trips.trips


def test_an_author_wobbling_around_the_threshold_is_announced_only_when_crossing_the_band(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    with settings_env(APERTURE_CELEBRITY_THRESHOLD="10", APERTURE_CELEBRITY_EXIT_RATIO="0.9"):
        # Given the fanout queue in memory, to see each announcement to the star's followers
        jobs = MemoryJobs()
        settings = get_settings()
        fanout = Fanout(
            timeline=wiring.timeline(),
            follows=wiring.follows(),
            users=wiring.users(),
            jobs=jobs,
            threshold=settings.celebrity_threshold,
            job_size=settings.fanout_job_size,
            posts=wiring.post_repository(),
            exit_ratio=settings.celebrity_exit_ratio,
        )
        monkeypatch.setattr(wiring, "fanout", lambda: fanout)
        star, fans = api.sign_up("star"), [api.sign_up("fan") for _ in range(10)]

        def announced() -> list[bool]:
            return [job.celebrity for job in jobs.jobs if isinstance(job, CelebrityJob)]

        def follow(fan: Account, following: bool) -> None:
            method = "PUT" if following else "DELETE"
            assert api.call(method, f"/users/{star.user_id}/follow", fan).status_code == 200

        # When the tenth follower makes the star a celebrity: announced once
        for fan in fans:
            follow(fan, True)
        assert announced() == [True]
        # The tenth follow toggled back and forth (9, 10, 9, ...): within the band, nothing is announced
        for _ in range(3):
            follow(fans[-1], False)
            follow(fans[-1], True)
        follow(fans[-1], False)
        assert announced() == [True]
        assert fanout.is_celebrity(int(star.user_id))  # 9 followers: still one
        # Below 0.9 of the threshold (8), the star stops being one: announced once
        follow(fans[-2], False)
        assert announced() == [True, False]
        assert not fanout.is_celebrity(int(star.user_id))
        # Back to 9, toggling: not one again until the threshold itself
        for _ in range(3):
            follow(fans[-2], True)
            follow(fans[-2], False)
        follow(fans[-2], True)
        assert announced() == [True, False]
        follow(fans[-1], True)
        assert announced() == [True, False, True]


def test_a_push_keeps_the_cap_and_survives_a_server_that_forgot_its_script(redis: Any) -> None:
    timeline = Timeline(redis, cap=3, slack=2)
    followers = list(range(30_001, 30_051))
    for post in range(1, 5):
        timeline.push(followers, post_id=post, ms=post)
    assert {tuple(timeline.page(f, None, 10)) for f in followers} == {(4, 3, 2, 1)}  # within cap + slack
    redis.script_flush()  # a restarted server has no scripts
    timeline.push(followers, post_id=5, ms=5)
    timeline.push(followers, post_id=6, ms=6)  # past cap + slack: trimmed back to the newest three
    assert {tuple(timeline.page(f, None, 10)) for f in followers} == {(6, 5, 4)}
    assert all(redis.ttl(timeline_key(f)) > 0 for f in followers)


def test_a_pushed_timeline_lives_its_time_after_its_owners_last_read_not_after_the_last_post(redis: Any) -> None:
    timeline = Timeline(redis, cap=800, active_seconds=1_000)  # a timeline lives 1,000 s + a day after a read
    timeline.push([40_001], post_id=1, ms=1)
    assert 87_000 < redis.ttl(timeline_key(40_001)) <= 87_400  # a timeline a push created gets its time
    redis.expire(timeline_key(40_001), 50)  # ...most of which has passed without a read
    timeline.push([40_001], post_id=2, ms=2)
    assert redis.ttl(timeline_key(40_001)) <= 50  # a post does not keep an unread timeline
    batch = PipelineBatch(redis)
    timeline.queue_open(batch, 40_001, None, 10)
    batch.execute()
    assert redis.ttl(timeline_key(40_001)) > 87_000  # the owner's read does
