"""Stories benchmark, against a real Redis and moto, in one run: GET /stories/tray handler latency and round trips
for a viewer following 200 accounts (50 with live stories), warm (tray cached) against cold (rebuilt); the
POST /stories/{id}/views handler rate for distinct viewers of one story (with repeats, which must not count);
and viewer-list writes to DynamoDB, BatchWriteItem 25 at a time against one PutItem per view.

Run from the repository root: `python -m bench.stories` (about 75 s on 2 cores) or
`python -m bench.stories --quick`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Request

from aperture import wiring
from aperture.adapters.redis_store.graph import blocked_key
from aperture.clock import now_ms
from aperture.models.records import StoryView
from aperture.routes import ROUTES
from aperture.settings import get_settings
from bench import lift_rate_limits
from bench.feed import PASSWORD, _percentile
from bench.round_trips import RoundTrips
from local.gateway import http_api_event
from local.invoke import invoke
from local.seeding import Account, publish_story

FOLLOWEES, WITH_STORIES, SEEN_AUTHORS = 200, 50, 10


def _sign_up(client: Client, name: str) -> Account:
    """Sign up and sign in through the gateway in process (Cognito on moto), as bench/feed.py does over HTTP."""
    body = {"username": name, "password": PASSWORD, "email": f"{name}@example.com"}
    user = client.post("/auth/signup", json=body).json
    token = client.post("/auth/token", json={"username": name, "password": PASSWORD}).json
    assert user is not None and token is not None
    return Account(user["user_id"], name, token["id_token"])


def _event(account: Account, route_key: str, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
    """The HTTP API event for a request by `account`, as the gateway builds it after checking the JWT."""
    route = next(r for r in ROUTES if r.route_key == route_key)
    request = Request(EnvironBuilder(path=path, method=route.method).get_environ())
    claims = {"custom:user_id": account.user_id, "cognito:username": account.username, "token_use": "id"}
    return http_api_event(request, route, params or {}, claims)


def _view_event(viewer: Account, story_id: str) -> dict[str, Any]:
    return _event(viewer, "POST /stories/{story_id}/views", f"/stories/{story_id}/views", {"story_id": story_id})


class AwsRequests:
    """Counts the HTTP requests a boto3 client sends (retries included) and the seconds spent in its calls."""

    def __init__(self, client: Any) -> None:
        self.count, self.seconds, self._started = 0, 0.0, 0.0
        client.meta.events.register("before-send", self._sent)
        client.meta.events.register("before-call", self._call)
        client.meta.events.register("after-call", self._called)

    # Each handler returns None, which lets the call go ahead unchanged.
    def _sent(self, **_: Any) -> None:
        self.count += 1

    def _call(self, **_: Any) -> None:
        self._started = time.perf_counter()

    def _called(self, **_: Any) -> None:
        self.seconds += time.perf_counter() - self._started


def _dynamo_requests() -> AwsRequests:
    return AwsRequests(wiring.users()._table.meta.client)  # every table shares the one DynamoDB resource


def stories_world(client: Client, followees: int, with_stories: int, seen_authors: int) -> tuple[Account, Account, int]:
    """A viewer following `followees` accounts; the first `with_stories` post 1-3 stories each, and the viewer
    has watched every story of the first `seen_authors` of those. Returns the viewer, an author and the number of
    live stories."""
    viewer = _sign_up(client, "viewer")
    authors = [_sign_up(client, f"author{i:03}") for i in range(followees)]
    # As bench/feed.py does, the edges are written in bulk, skipping per-follow transactions (and their counts).
    with wiring.follows()._table.batch_writer() as writer:
        for author in authors:
            writer.put_item(
                Item={"follower_id": int(viewer.user_id), "followee_id": int(author.user_id), "created_at": 0}
            )
    stories = [[publish_story(a) for _ in range(1 + i % 3)] for i, a in enumerate(authors[:with_stories])]
    for story_id in (s for posted in stories[:seen_authors] for s in posted):
        assert invoke("stories", _view_event(viewer, story_id))["statusCode"] == 204
    return viewer, authors[0], sum(len(posted) for posted in stories)


def tray_latency(viewer: Account, samples: int) -> dict[str, Any]:
    """GET /stories/tray, interleaved: the tray dropped then rebuilt (cold), then served as cached (warm)."""
    event, cache = _event(viewer, "GET /stories/tray", "/stories/tray?limit=50"), wiring.story_cache()
    cache.mark_live_sets_intact()  # as the story_expiry job leaves it: trays are cached only then
    for _ in range(10):  # warm the process: imports, connections, the relationship cache
        cache.forget_trays([int(viewer.user_id)])
        assert invoke("stories", event)["statusCode"] == 200
    trips, dynamo = RoundTrips(wiring.redis_client()), _dynamo_requests()
    found: dict[str, Any] = {
        k: {"ms": [], "outside_ms": [], "trips": set(), "dynamo": set(), "body": set()} for k in ("cold", "warm")
    }
    for _ in range(samples):
        cache.forget_trays([int(viewer.user_id)])  # not timed, not counted
        for kind in ("cold", "warm"):
            before_trips, before_dynamo, in_dynamo = trips.count, dynamo.count, dynamo.seconds
            started = time.perf_counter()
            response = invoke("stories", event)
            elapsed = time.perf_counter() - started
            found[kind]["ms"].append(elapsed * 1000)
            found[kind]["outside_ms"].append((elapsed - dynamo.seconds + in_dynamo) * 1000)
            assert response["statusCode"] == 200
            found[kind]["trips"].add(trips.count - before_trips)
            found[kind]["dynamo"].add(dynamo.count - before_dynamo)
            found[kind]["body"].add(response["body"])
    assert found["cold"]["body"] == found["warm"]["body"] and len(found["warm"]["body"]) == 1
    return found


def view_rate(author: Account, distinct: int) -> dict[str, Any]:
    """POST /stories/{id}/views from `distinct` viewers on one story, every fourth followed by a repeat view.

    The viewers are ids in the claims (the handler reads no profile); their block lists are cached beforehand,
    as an active user's are, so each first view is the view path alone."""
    story_id = publish_story(author)
    viewers = [Account(str(9_000_000 + i), f"watcher{i}", "") for i in range(distinct)]
    order = [v for i, viewer in enumerate(viewers) for v in ([viewer, viewers[i - 2]] if i % 4 == 3 else [viewer])]
    pipe = wiring.redis_client().pipeline(transaction=False)
    for viewer in viewers:  # what hidden_from caches for a user with no blocks
        pipe.set(blocked_key(int(viewer.user_id)), "[]", ex=get_settings().relationship_cache_seconds)
    pipe.execute()
    trips, dynamo = RoundTrips(wiring.redis_client()), _dynamo_requests()
    kinesis = AwsRequests(wiring.story_view_events()._kinesis)
    found: dict[str, Any] = {k: {"ms": [], "trips": set(), "aws": set()} for k in ("first", "repeat")}
    seen: set[str] = set()
    started = time.perf_counter()
    for viewer in order:
        before = (trips.count, dynamo.count + kinesis.count)
        began = time.perf_counter()
        assert invoke("stories", _view_event(viewer, story_id))["statusCode"] == 204
        kind = found["repeat" if viewer.user_id in seen else "first"]
        kind["ms"].append((time.perf_counter() - began) * 1000)
        kind["trips"].add(trips.count - before[0])
        kind["aws"].add(dynamo.count + kinesis.count - before[1])
        seen.add(viewer.user_id)
    rate = len(order) / (time.perf_counter() - started)
    path = f"/stories/{story_id}/viewers"
    listing = invoke("stories", _event(author, "GET /stories/{story_id}/viewers", path, {"story_id": story_id}))
    live = int(json.loads(listing["body"])["view_count"])
    return {"story_id": story_id, "repeats": len(order) - distinct, "rate": rate, "live": live, **found}


def viewer_list_writes(views: int, rounds: int = 5) -> dict[str, float]:
    """Rows/s and DynamoDB requests: put_many (BatchWriteItem, 25 a request) against one PutItem per view, on two
    stories, in interleaved rounds so both see the same load."""
    repository, counter = wiring.story_views(), _dynamo_requests()
    table, keep = repository._table, repository._keep  # put_many's item, written one at a time
    batched_story, single_story = 1 << 50, (1 << 50) + 1
    expires = now_ms() + get_settings().story_ttl_seconds * 1000
    seconds = {"batched": 0.0, "single": 0.0}
    requests = {"batched": 0, "single": 0}
    per_round = views // rounds
    for round_index in range(rounds):
        viewer_ids = range(round_index * per_round, (round_index + 1) * per_round)
        rows = [(StoryView(story_id=batched_story, viewer_id=v, viewed_at=expires - v), expires) for v in viewer_ids]
        before, started = counter.count, time.perf_counter()
        repository.put_many(rows)
        seconds["batched"] += time.perf_counter() - started
        requests["batched"] += counter.count - before
        before, started = counter.count, time.perf_counter()
        for v in viewer_ids:
            item = {
                **StoryView(story_id=single_story, viewer_id=v, viewed_at=expires - v).model_dump(),
                "purge_at": expires // 1000 + keep,
            }
            table.put_item(Item=item)
        seconds["single"] += time.perf_counter() - started
        requests["single"] += counter.count - before
    written = per_round * rounds
    assert repository.count(batched_story) == written and repository.count(single_story) == written
    return {
        "views": written,
        **{f"{k}_rate": written / s for k, s in seconds.items()},
        **{f"{k}_requests": n for k, n in requests.items()},
    }


def _one(values: set[int]) -> str:
    return "/".join(str(v) for v in sorted(values))


def main() -> None:
    lift_rate_limits()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    args = parser.parse_args()
    followees, with_stories, seen_authors, samples, distinct, writes = (
        (40, 10, 2, 30, 100, 1_000) if args.quick else (FOLLOWEES, WITH_STORIES, SEEN_AUTHORS, 200, 600, 5_000)
    )
    os.environ["APERTURE_SCHEDULES"] = "manual"
    from local.runtime import start

    platform = start(0)
    client = Client(platform.server.app)  # the gateway in process: real JWT checks, no HTTP server
    print(f"tray: a viewer following {followees} accounts, {with_stories} of them with 1-3 live stories")
    viewer, author, live_stories = stories_world(client, followees, with_stories, seen_authors)
    platform.pump.drain()  # the setup's events (follows, views) are handled before anything is timed
    tray = tray_latency(viewer, samples)
    print(f"views: {distinct} distinct viewers of one story, every fourth followed by a repeat")
    views = view_rate(author, distinct)
    platform.pump.drain()  # the story-views consumer writes the viewer list (BatchWriteItem)
    listed = wiring.story_views().count(int(views["story_id"]))
    print(f"viewer lists: {writes:,} views written with put_many (BatchWriteItem) and one PutItem each")
    lists = viewer_list_writes(writes)
    platform.shutdown()

    cold, warm = tray["cold"], tray["warm"]
    cold_p50, warm_p50 = statistics.median(cold["ms"]), statistics.median(warm["ms"])
    cold_p99, warm_p99 = _percentile(cold["ms"], 99), _percentile(warm["ms"], 99)
    entries = [e["has_unseen"] for e in json.loads(next(iter(warm["body"])))["items"]]
    assert entries == [True] * (with_stories - seen_authors) + [False] * seen_authors, "unseen first, then seen"
    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| tray: followees / authors in the tray / live stories | {followees} / {len(entries)} / {live_stories} |")
    print(f"| GET /stories/tray handler, warm (cached tray), p50 | {warm_p50:.1f} ms |")
    print(f"| same, p99 | {warm_p99:.1f} ms |")
    print(f"| GET /stories/tray handler, cold (tray rebuilt), p50 | {cold_p50:.1f} ms |")
    print(f"| same, p99 | {cold_p99:.1f} ms |")
    print(
        f"| cold, time outside DynamoDB (moto) calls, p50 / p99 | {statistics.median(cold['outside_ms']):.1f} / "
        f"{_percentile(cold['outside_ms'], 99):.1f} ms |"
    )
    print(f"| cold / warm, p50 | {cold_p50 / warm_p50:.1f}x |")
    print(f"| cold / warm, p99 | {cold_p99 / warm_p99:.1f}x |")
    print(f"| Redis round trips per tray request, warm / cold | {_one(warm['trips'])} / {_one(cold['trips'])} |")
    print(f"| DynamoDB requests per tray request, warm / cold | {_one(warm['dynamo'])} / {_one(cold['dynamo'])} |")
    print(
        f"| POST /stories/{{id}}/views handler, {distinct} distinct viewers + {views['repeats']} repeats "
        f"| {views['rate']:.0f} views/s |"
    )
    for kind in ("first", "repeat"):
        ms = views[kind]["ms"]
        print(f"| {kind} view, p50 / p99 | {statistics.median(ms):.1f} / {_percentile(ms, 99):.1f} ms |")
    print(
        f"| Redis round trips per view, first / repeat | {_one(views['first']['trips'])} / "
        f"{_one(views['repeat']['trips'])} |"
    )
    print(
        f"| AWS requests per view (DynamoDB + Kinesis), first / repeat | {_one(views['first']['aws'])} / "
        f"{_one(views['repeat']['aws'])} |"
    )
    print(f"| live view count afterwards (distinct viewers: {distinct}) | {views['live']} |")
    print(f"| viewer-list rows in DynamoDB after the consumer ran | {listed} |")
    batched, single = lists["batched_rate"], lists["single_rate"]
    print(f"| viewer-list writes, put_many (BatchWriteItem x25), {lists['views']:,} views | {batched:,.0f} rows/s |")
    print(f"| viewer-list writes, one PutItem per view | {single:,.0f} rows/s |")
    print(f"| put_many / PutItem, rows/s (moto) | {batched / single:.1f}x |")
    print(
        f"| DynamoDB requests, put_many / PutItem | {lists['batched_requests']:,} / {lists['single_requests']:,} "
        f"({lists['single_requests'] / lists['batched_requests']:.0f}x fewer) |"
    )
    assert views["live"] == distinct, f"live count {views['live']} for {distinct} distinct viewers"
    assert listed == distinct, f"{listed} viewer-list rows for {distinct} distinct viewers"


if __name__ == "__main__":
    main()
