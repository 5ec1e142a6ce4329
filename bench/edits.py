"""Post editing benchmark, against a real Redis and moto, in one run: the PATCH /posts/{id} handler (caption and
place, with an @mention every tenth edit) against GET /posts/{id} of the same post as the baseline; Redis round trips
and DynamoDB requests per request; and, after every edit, whether a follower's next read shows it (it must, always).

Run from the repository root: `python -m bench.edits` (about 30 s on 2 cores) or `python -m bench.edits --quick`.
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
from aperture.routes import ROUTES
from bench.feed import _percentile
from bench.round_trips import RoundTrips
from bench.stories import _dynamo_requests, _one, _sign_up
from local.gateway import http_api_event
from local.invoke import invoke
from local.seeding import Account, publish_post


def _event(account: Account, route_key: str, post_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    route = next(r for r in ROUTES if r.route_key == route_key)
    request = Request(EnvironBuilder(path=f"/posts/{post_id}", method=route.method, json=body).get_environ())
    claims = {"custom:user_id": account.user_id, "cognito:username": account.username, "token_use": "id"}
    return http_api_event(request, route, {"post_id": post_id}, claims)


def measure(author: Account, follower: Account, mentioned: Account, post_id: str, samples: int) -> dict[str, Any]:
    """Edits and reads interleaved: each edit, then the follower's read of the post (the baseline, and the check)."""
    read = _event(follower, "GET /posts/{post_id}", post_id)
    for i in range(10):  # warm the process: imports, connections, the relationship cache
        assert (
            invoke("posts", _event(author, "PATCH /posts/{post_id}", post_id, {"caption": f"warm {i}"}))["statusCode"]
            == 200
        )
        assert invoke("posts", read)["statusCode"] == 200
    trips, dynamo = RoundTrips(wiring.redis_client()), _dynamo_requests()
    found: dict[str, Any] = {k: {"ms": [], "outside_ms": [], "trips": set(), "dynamo": set()} for k in ("edit", "read")}
    shown = 0
    for i in range(samples):
        caption = f"edit {i}" + (f" with @{mentioned.username}" if i % 10 == 0 else "")
        edit = _event(author, "PATCH /posts/{post_id}", post_id, {"caption": caption, "location": f"place {i}"})
        for kind, event in (("edit", edit), ("read", read)):
            before_trips, before_dynamo, in_dynamo = trips.count, dynamo.count, dynamo.seconds
            started = time.perf_counter()
            response = invoke("posts", event)
            elapsed = time.perf_counter() - started
            found[kind]["ms"].append(elapsed * 1000)
            found[kind]["outside_ms"].append((elapsed - dynamo.seconds + in_dynamo) * 1000)
            assert response["statusCode"] == 200, response
            found[kind]["trips"].add(trips.count - before_trips)
            found[kind]["dynamo"].add(dynamo.count - before_dynamo)
            if kind == "read":
                shown += json.loads(response["body"])["caption"] == caption
    found["shown"] = shown
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    samples = 40 if parser.parse_args().quick else 300
    os.environ["APERTURE_SCHEDULES"] = "manual"
    from local.runtime import start

    platform = start(0)
    client = Client(platform.server.app)
    author, follower, mentioned = (_sign_up(client, name) for name in ("author", "follower", "named"))
    post_id = publish_post(author, "as posted")
    platform.pump.drain()
    print(f"{samples} edits of one post, each followed by a follower's read of it")
    found = measure(author, follower, mentioned, post_id, samples)
    platform.shutdown()
    edit, read = found["edit"]["ms"], found["read"]["ms"]
    edit_p50, read_p50 = statistics.median(edit), statistics.median(read)
    edit_p99, read_p99 = _percentile(edit, 99), _percentile(read, 99)
    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| PATCH /posts/{{id}} handler, p50 / p99 | {edit_p50:.1f} / {edit_p99:.1f} ms |")
    print(f"| GET /posts/{{id}} handler (baseline, same post), p50 / p99 | {read_p50:.1f} / {read_p99:.1f} ms |")
    outside = found["edit"]["outside_ms"]
    print(
        f"| edit, time outside DynamoDB (moto) calls, p50 / p99 | {statistics.median(outside):.1f} / "
        f"{_percentile(outside, 99):.1f} ms |"
    )
    print(f"| edit / read, p50 / p99 | {edit_p50 / read_p50:.1f}x / {edit_p99 / read_p99:.1f}x |")
    print(f"| Redis round trips, edit / read | {_one(found['edit']['trips'])} / {_one(found['read']['trips'])} |")
    print(f"| DynamoDB requests, edit / read | {_one(found['edit']['dynamo'])} / {_one(found['read']['dynamo'])} |")
    print(f"| reads right after an edit that showed it | {found['shown']} / {samples} |")


if __name__ == "__main__":
    main()
