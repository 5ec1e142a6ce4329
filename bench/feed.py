"""Feed benchmark, against a real Redis, in one run: fanout pipelined against one ZADD at a time, fanning out a
9,999-follower post, GET /feed handler latency and Redis round trips for a viewer following 200 accounts (3 of
them celebrities), the same handler with and without its impressions logged (the ranking loop), and requests per
second through the local gateway under concurrent load.

Run from the repository root: `python -m bench.feed` (a few minutes) or `python -m bench.feed --quick`.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import statistics
import threading
import time
from typing import Any

import requests
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from aperture import wiring
from aperture.adapters.redis_store.timeline import active_key, timeline_key
from aperture.routes import ROUTES
from bench import lift_rate_limits
from bench.round_trips import RoundTrips
from local.gateway import http_api_event
from local.invoke import invoke
from local.seeding import Account, publish_post

PASSWORD = "Bench-pass-1!"


def _percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def fanout_rates(followers: int) -> tuple[float, float]:
    """Timeline inserts per second: pipelined batches of ZADD, against one ZADD (and trim) per round trip."""
    client, timeline = wiring.redis_client(), wiring.timeline()
    ids = list(range(5_000_000, 5_000_000 + followers))
    started = time.perf_counter()
    timeline.push(ids, post_id=1 << 40, ms=1)
    pipelined = followers / (time.perf_counter() - started)
    started = time.perf_counter()
    member = str(1 << 41).zfill(20)
    for user in ids:
        client.zadd(timeline_key(user), {member: 2})
        client.zremrangebyrank(timeline_key(user), 0, -801)
    one_by_one = followers / (time.perf_counter() - started)
    return pipelined, one_by_one


def _sign_up(client: Any, name: str) -> Account:
    user = requests.post(
        f"{client}/auth/signup",
        json={"username": name, "password": PASSWORD, "email": f"{name}@example.com"},
        timeout=10,
    ).json()
    token = requests.post(f"{client}/auth/token", json={"username": name, "password": PASSWORD}, timeout=10).json()
    return Account(user["user_id"], name, token["id_token"])


def big_fanout(base: str, platform: Any, followers: int) -> float:
    """Seconds from publishing a post to its last fanout job done, for an author just under the threshold."""
    author = _sign_up(base, "bigauthor")
    table, users = wiring.follows(), wiring.redis_client()
    ids = list(range(7_000_000, 7_000_000 + followers))
    dynamo = table._table  # the benchmark writes its edges in bulk, skipping per-follow transactions
    with dynamo.batch_writer() as writer:
        for follower in ids:
            writer.put_item(Item={"follower_id": follower, "followee_id": int(author.user_id), "created_at": 0})
    wiring.users()._table.update_item(
        Key={"user_id": int(author.user_id)},
        UpdateExpression="SET follower_count = :n",
        ExpressionAttributeValues={":n": followers},
    )
    pipe = users.pipeline(transaction=False)
    for follower in ids:
        pipe.set(active_key(follower), 1, ex=3600)
    pipe.execute()
    started = time.perf_counter()
    post = publish_post(author)
    platform.pump.drain()
    elapsed = time.perf_counter() - started
    assert users.zscore(timeline_key(ids[-1]), post.zfill(20)) is not None
    return elapsed


def feed_world(base: str, platform: Any, followees: int, celebrities: int) -> Account:
    """A viewer following `followees` accounts, `celebrities` of them past the threshold, everyone with posts."""
    viewer = _sign_up(base, "viewer")
    authors = [_sign_up(base, f"author{i:03}") for i in range(followees)]
    fans = [_sign_up(base, f"fan{i}") for i in range(int(os.environ["APERTURE_CELEBRITY_THRESHOLD"]))]
    headers = {"Authorization": f"Bearer {viewer.token}"}
    for star in authors[:celebrities]:
        for fan in fans:
            requests.put(
                f"{base}/users/{star.user_id}/follow", headers={"Authorization": f"Bearer {fan.token}"}, timeout=10
            )
    requests.get(f"{base}/feed", headers=headers, timeout=10)  # active
    for author in authors:
        requests.put(f"{base}/users/{author.user_id}/follow", headers=headers, timeout=10)
    for index, author in enumerate(authors):
        publish_post(author)
        if index % 3 == 0:
            publish_post(author)
    platform.pump.drain()
    return viewer


def feed_event(viewer: Account, limit: int) -> dict[str, Any]:
    route = next(r for r in ROUTES if r.route_key == "GET /feed")
    request = Request(EnvironBuilder(path="/feed", query_string={"limit": str(limit)}).get_environ())
    claims = {"custom:user_id": viewer.user_id, "cognito:username": viewer.username, "token_use": "id"}
    return http_api_event(request, route, {}, claims)


def use_python_protocol(client: Any, python: bool) -> None:
    """Have the client's new connections pack commands and parse replies in pure Python (as without hiredis), or
    go back to the defaults (hiredis when installed), and drop the connections it has."""
    from redis._parsers import _RESP2Parser, _RESP3Parser
    from redis.connection import DefaultParser, PythonRespSerializer

    kwargs = client.connection_pool.connection_kwargs
    if python:
        parser = _RESP3Parser if kwargs.get("protocol") in (3, "3") else _RESP2Parser
        kwargs["parser_class"] = parser
        kwargs["command_packer"] = PythonRespSerializer(6000, client.get_encoder().encode)
    else:
        kwargs["parser_class"] = DefaultParser
        kwargs.pop("command_packer", None)
    client.connection_pool.disconnect()
    client.connection_pool.reset()  # (new connection objects, made with these arguments)


def handler_latency(viewer: Account, requests_count: int) -> tuple[list[float], int, list[float] | None]:
    """Warm GET /feed handler latencies and round trips; and, when hiredis is installed, latencies in the same run
    with the pure-Python protocol code (rounds of each, interleaved, so a loaded machine weighs on both alike)."""
    from redis.utils import HIREDIS_AVAILABLE

    event = feed_event(viewer, 20)
    for _ in range(20):  # warm every cache
        assert invoke("feed", event)["statusCode"] == 200
    client = wiring.redis_client()
    trips = RoundTrips(client)
    invoke("feed", event)
    round_trips = trips.besides("XADD")  # (building the page; the impressions' append is one more)
    samples: list[float] = []
    python: list[float] = []
    rounds = 5 if HIREDIS_AVAILABLE else 1
    for round_index in range(2 * rounds if HIREDIS_AVAILABLE else 1):
        pure = round_index % 2 == 1
        if HIREDIS_AVAILABLE:
            use_python_protocol(client, pure)
            invoke("feed", event)  # (a new connection, not timed)
        for _ in range(requests_count // rounds):
            started = time.perf_counter()
            response = invoke("feed", event)
            (python if pure else samples).append((time.perf_counter() - started) * 1000)
            assert response["statusCode"] == 200
    use_python_protocol(client, False)
    return samples, round_trips, python or None


class _NoLog:
    """An activity log that drops everything: the feed as it was before impressions were logged."""

    def record(self, records: Any) -> None:
        return None


def logging_latency(viewer: Account, requests_count: int) -> tuple[list[float], list[float]]:
    """Warm GET /feed handler latencies with its impressions logged (the real log: one pipelined XADD per page) and
    without (a log that drops them), in interleaved rounds so a loaded machine weighs on both alike."""
    event = feed_event(viewer, 20)
    feed = wiring.feed()
    logged_ports = feed.ports
    unlogged_ports = dataclasses.replace(logged_ports, activity=_NoLog())
    with_log: list[float] = []
    without_log: list[float] = []
    rounds = 10
    for round_index in range(2 * rounds):
        logged = round_index % 2 == 0
        feed.ports = logged_ports if logged else unlogged_ports
        invoke("feed", event)  # (not timed)
        for _ in range(requests_count // rounds):
            started = time.perf_counter()
            response = invoke("feed", event)
            (with_log if logged else without_log).append((time.perf_counter() - started) * 1000)
            assert response["statusCode"] == 200
    feed.ports = logged_ports
    return with_log, without_log


def load(base: str, viewer: Account, total: int, concurrency: int) -> float:
    """Requests per second for `total` GET /feed requests from `concurrency` client threads."""
    headers = {"Authorization": f"Bearer {viewer.token}"}
    remaining = iter(range(total))
    lock = threading.Lock()

    def worker() -> None:
        session = requests.Session()
        while True:
            with lock:
                if next(remaining, None) is None:
                    return
            assert session.get(f"{base}/feed", headers=headers, timeout=30).status_code == 200

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return total / (time.perf_counter() - started)


def main() -> None:
    lift_rate_limits()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    parser.add_argument("--feed-only", action="store_true", help="only the GET /feed handler latency")
    args = parser.parse_args()
    followers, big, followees, samples, total = (
        (1_000, 999, 20, 50, 100) if args.quick else (10_000, 9_999, 200, 500, 1_000)
    )
    os.environ["APERTURE_CELEBRITY_THRESHOLD"] = "10000"
    os.environ["APERTURE_SCHEDULES"] = "manual"
    from local.runtime import start

    platform = start(0)
    threading.Thread(target=platform.serve_forever, daemon=True).start()
    time.sleep(0.5)  # let the gateway thread start accepting before the first request
    base = platform.base_url
    if not args.feed_only:
        print(f"fanout: {followers:,} timeline inserts, pipelined and one at a time")
        pipelined, one_by_one = fanout_rates(followers)
        print(f"fanout: a post to {big:,} active followers (jobs over SQS, run by the fanout function)")
        big_seconds = big_fanout(base, platform, big)
    threshold = int(os.environ["APERTURE_CELEBRITY_THRESHOLD"])
    os.environ["APERTURE_CELEBRITY_THRESHOLD"] = "5"  # celebrities of this small world need only a few fans
    wiring.reset()
    print(f"feed: a viewer following {followees} accounts, 3 of them celebrities")
    viewer = feed_world(base, platform, followees, 3)
    # A Lambda process runs the handler alone: stop the event pump's pollers (they share this process's interpreter
    # lock with the handler timed here), and freeze the heap built so far (moto's tables and this world, which a
    # Lambda's heap does not hold) so the collector's full passes do not walk it on the handler's time.
    platform.stop_event.set()
    platform.pump.nudge()
    gc.collect()
    gc.freeze()
    latencies, round_trips, python = handler_latency(viewer, samples)
    print("feed: the same handler with and without its impressions logged, interleaved rounds")
    with_log, without_log = logging_latency(viewer, samples)
    if not args.feed_only:
        print(f"load: {total} GET /feed through the gateway, 8 client threads")
        rate = load(base, viewer, total, 8)
    platform.shutdown()
    os.environ["APERTURE_CELEBRITY_THRESHOLD"] = str(threshold)

    print()
    print("| measure | value |")
    print("|---|---|")
    if not args.feed_only:
        print(f"| fanout, pipelined (timeline inserts/s) | {pipelined:,.0f} |")
        print(f"| fanout, one ZADD per round trip (inserts/s) | {one_by_one:,.0f} |")
        print(f"| pipelined / one by one | {pipelined / one_by_one:.1f}x |")
        print(f"| fan out one post to {big:,} followers (publish to last job done) | {big_seconds * 1000:,.0f} ms |")
    print(f"| GET /feed handler, 20 posts, p50 | {statistics.median(latencies):.1f} ms |")
    print(f"| GET /feed handler, 20 posts, p99 | {_percentile(latencies, 99):.1f} ms |")
    if python:
        print(f"| same, pure-Python protocol (no hiredis), p50 | {statistics.median(python):.1f} ms |")
        print(f"| same, pure-Python protocol (no hiredis), p99 | {_percentile(python, 99):.1f} ms |")
        ratio = _percentile(python, 99) / _percentile(latencies, 99)
        print(
            f"| pure Python / hiredis, p50; p99 | {statistics.median(python) / statistics.median(latencies):.1f}x; "
            f"{ratio:.1f}x |"
        )
    print(f"| Redis round trips per warm feed request (to build the page; +1 to log its impressions) | {round_trips} |")
    print(
        f"| GET /feed handler, impressions logged, p50; p99 | {statistics.median(with_log):.1f}; "
        f"{_percentile(with_log, 99):.1f} ms |"
    )
    print(
        f"| GET /feed handler, not logged, p50; p99 | {statistics.median(without_log):.1f}; "
        f"{_percentile(without_log, 99):.1f} ms |"
    )
    print(
        f"| logged / not logged, p50; p99 | {statistics.median(with_log) / statistics.median(without_log):.2f}x; "
        f"{_percentile(with_log, 99) / _percentile(without_log, 99):.2f}x |"
    )
    if not args.feed_only:
        print(f"| GET /feed through the local gateway, 8 concurrent clients | {rate:.0f} requests/s |")


if __name__ == "__main__":
    main()
