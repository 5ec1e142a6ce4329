"""The real redis-server killed (SIGKILL) in the middle of a feed read, a like and a fanout: nothing a user sees is
lost or doubled, and once a fresh, empty Redis is back everything is whole again (docs/reliability.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from aperture import wiring
from aperture.models.events import FanoutJob
from local.pump import EventPump
from local.redis_server import RedisServer
from local.seeding import Account, publish_post
from tests.support import Api, logged_warnings, settings_env


class KillAt:
    """Kills the server just before the client's `at`-th round trip (a command, or a pipeline executed)."""

    def __init__(self, client: Any, server: RedisServer, at: int) -> None:
        self.trips = 0
        send, make_pipeline = client.execute_command, client.pipeline

        def trip() -> None:
            self.trips += 1
            if self.trips == at:
                server.kill()

        def execute_command(*args: Any, **kwargs: Any) -> Any:
            trip()
            return send(*args, **kwargs)

        def pipeline(*args: Any, **kwargs: Any) -> Any:
            pipe = make_pipeline(*args, **kwargs)
            run = pipe.execute

            def execute(*a: Any, **k: Any) -> Any:
                trip()
                return run(*a, **k)

            pipe.execute = execute
            return pipe

        client.execute_command, client.pipeline = execute_command, pipeline


@pytest.fixture
def own_redis(api: Api) -> Iterator[RedisServer]:
    """A redis-server of this test's own, which the test may kill; the platform uses it."""
    server = RedisServer()
    with settings_env(REDIS_URL=server.url):
        yield server
    server.stop()


def _restart(server: RedisServer) -> RedisServer:
    """A fresh, empty redis-server where the killed one was (as ElastiCache replaces a failed node)."""
    return RedisServer(port=server.port)


def _feed(api: Api, viewer: Account) -> list[str]:
    response = api.call("GET", "/feed", viewer, query_string={"limit": 50})
    assert response.status_code == 200, response.json
    return [p["post_id"] for p in response.json["items"]]


@pytest.mark.parametrize("at", [1, 2, 3])
def test_redis_killed_during_a_feed_read_the_feed_still_answers_whole(
    api: Api, own_redis: RedisServer, at: int
) -> None:
    # Given a follower whose feed is warm in Redis
    author, fan = api.sign_up("author"), api.sign_up("fan")
    api.call("PUT", f"/users/{author.user_id}/follow", fan)
    posts = [publish_post(author) for _ in range(4)]
    assert _feed(api, fan) == posts[::-1]
    # When redis-server dies before the read's `at`-th round trip (a warm read takes at most three)
    KillAt(wiring.redis_client(), own_redis, at)
    with logged_warnings():
        shown = _feed(api, fan)
    # Then the feed still shows every post once, newest first, and again once a fresh Redis is back
    assert shown == posts[::-1]
    restarted = _restart(own_redis)
    try:
        assert _feed(api, fan) == posts[::-1]
    finally:
        restarted.stop()


@pytest.mark.parametrize("at", [1, 2, 3])
def test_redis_killed_during_a_like_the_like_is_kept_and_counted_once(
    api: Api, pump: EventPump, own_redis: RedisServer, at: int
) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    assert api.call("GET", f"/posts/{post}", bob).json["like_count"] == 0  # counts are live in Redis
    # When redis-server dies before the like's `at`-th round trip
    KillAt(wiring.redis_client(), own_redis, at)
    response = api.call("PUT", f"/posts/{post}/like", bob)
    # Then the like was committed (200), or refused as a whole (503: the client retries it)
    assert response.status_code in {200, 503}, response.json
    restarted = _restart(own_redis)
    try:
        if response.status_code == 503:
            assert api.call("PUT", f"/posts/{post}/like", bob).json["liked"] is True
        pump.drain()
        # With a fresh, empty Redis the post shows one like, bob's, and alice was told once
        seen = api.call("GET", f"/posts/{post}", bob).json
        assert (seen["like_count"], seen["liked_by_me"]) == (1, True)
        items = api.call("GET", "/notifications", alice).json["items"]
        assert [(n["type"], n["actor"]["username"]) for n in items] == [("like", bob.username)]
    finally:
        restarted.stop()


@pytest.mark.parametrize("at", [1, 2])
def test_redis_killed_during_a_fanout_job_its_retry_completes_it(api: Api, own_redis: RedisServer, at: int) -> None:
    author, fans = api.sign_up("author"), [api.sign_up("fan") for _ in range(3)]
    for fan in fans:
        api.call("PUT", f"/users/{author.user_id}/follow", fan)
        _feed(api, fan)  # active readers: the job pushes to them
    post = publish_post(author)
    job = FanoutJob(
        post_id=int(post) + 1,  # a second post, whose fanout job dies
        author_id=int(author.user_id),
        published_ms=1_900_000_000_000,
        follower_ids=tuple(int(f.user_id) for f in fans),
    )
    KillAt(wiring.redis_client(), own_redis, at)
    with pytest.raises(RedisConnectionError):  # the job fails; its queue delivers it again
        wiring.fanout().run(job)
    restarted = _restart(own_redis)
    try:
        wiring.fanout().run(job)  # the retry, against a fresh Redis
        for fan in fans:
            assert _feed(api, fan).count(post) == 1
    finally:
        restarted.stop()


def test_after_redis_is_lost_a_followed_celebritys_new_posts_still_reach_the_feed(
    api: Api, own_redis: RedisServer
) -> None:
    with settings_env(APERTURE_CELEBRITY_THRESHOLD="2"):
        star, fan, other = api.sign_up("star"), api.sign_up("fan"), api.sign_up("other")
        for follower in (fan, other):
            api.call("PUT", f"/users/{star.user_id}/follow", follower)  # two followers: a celebrity
        before = publish_post(star)
        assert _feed(api, fan) == [before]
        # When Redis is lost and replaced by an empty one
        own_redis.kill()
        restarted = _restart(own_redis)
        try:
            after = publish_post(star)  # not pushed (a celebrity's never are): merged when the fan reads
            assert _feed(api, fan) == [after, before]
        finally:
            restarted.stop()
