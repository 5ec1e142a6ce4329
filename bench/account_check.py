"""Account check benchmark: what refusing disabled (suspended or erased) accounts adds to an authenticated request,
against the same handler without the check, in the same run.

The check is a middleware of the shared resolver (`aperture.api.make_resolver(..., standing=...)`): a change is
refused before it runs, a read is checked after it, with the disabled set the read fetched in its first batch if it
did, else with a read of its own: one Redis GET of the cached set in a function with Redis, one DynamoDB GetItem of
the caller's record in a function without. Each variant is the users function's own router behind a resolver built
three ways, timed on `GET /me` (a small handler that fetches no disabled set, so the check's share is as large as it
gets), the variants interleaved request by request, so load from anything else on the machine falls on all alike:

- `no check`: `make_resolver(router)` (the baseline);
- `Redis`: `make_resolver(router, standing=wiring.standing)`, as deployed in the users function;
- `DynamoDB`: `make_resolver(router, standing=wiring.standing_from_table)`, as deployed in a function without Redis.

Run from the repository root: `python -m bench.account_check` (about a minute) or `--quick`.
Everything runs in process against the local runtime: moto for AWS, a real Redis server.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

from werkzeug.test import Client

from bench.social import Users


def _p50_p99(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def time_variants(
    client: Client, headers: dict[str, str], handler: Any, apps: dict[str, Any], samples: int
) -> dict[str, tuple[float, float]]:
    """GET /me latency (ms) through the local gateway with the handler's resolver swapped for each variant."""
    timings: dict[str, list[float]] = {label: [] for label in apps}
    original = handler.app
    try:
        for _ in range(samples + 1):
            for label, app in apps.items():
                handler.app = app
                started = time.perf_counter()
                response = client.get("/me", headers=headers)
                timings[label].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.json
    finally:
        handler.app = original
    return {label: _p50_p99(found[1:]) for label, found in timings.items()}  # (the first round warms each)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 requests a variant, for a smoke run")
    args = parser.parse_args()
    samples = 50 if args.quick else 1000
    os.environ["APERTURE_SCHEDULES"] = "manual"

    from aperture import wiring
    from aperture.api import make_resolver
    from functions.users import handler
    from local.runtime import start

    platform = start(0)
    client = Client(platform.server.app)
    _, headers = Users(client).sign_up("checked")
    apps = {
        "no check": make_resolver(handler.router),
        "Redis": make_resolver(handler.router, standing=wiring.standing),
        "DynamoDB": make_resolver(handler.router, standing=wiring.standing_from_table),
    }
    print(f"GET /me x {samples} per variant, interleaved")
    latency = time_variants(client, headers, handler, apps, samples)
    platform.shutdown()

    base = latency["no check"][0]
    print()
    print("| variant | p50 | p99 | p50 / no check | p50 added |")
    print("|---|---|---|---|---|")
    for label, (p50, p99) in latency.items():
        print(f"| {label} | {p50:.2f} ms | {p99:.2f} ms | {p50 / base:.2f} | {p50 - base:+.2f} ms |")


if __name__ == "__main__":
    main()
