"""Fanout benchmark against a real redis-server, in one run: `Timeline.push` (one script call per thousand
timelines: ZADD, a trim only past the cap, EXPIRE) against the way it was done before (pipelined ZADD +
ZREMRANGEBYRANK + EXPIRE per timeline) and against redis-benchmark's pipelined ZADD on the same server, the
machine's ceiling for one ZADD per insert.

Run from the repository root: `python -m bench.fanout` (about a minute). redis-benchmark comes with Redis
(`apt-get install redis-tools`); set REDIS_BENCHMARK to its path if it is not on PATH. Without it the ratio to
redis-benchmark is left out.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import time
from typing import Any

import redis

from aperture.adapters.redis_store.client import queue_capped_add
from aperture.adapters.redis_store.timeline import Timeline, timeline_key
from local.redis_server import RedisServer

CAP = 800
SLACK = 64  # settings.timeline_slack
SECONDS = 15 * 86_400


def old_push(client: Any, user_ids: list[int], member: str, score: int, batch_size: int = 500) -> None:
    """The push as it was before (2026-11-24): ZADD, ZREMRANGEBYRANK and EXPIRE per timeline, pipelined."""
    pipe = client.pipeline(transaction=False)
    for index, user_id in enumerate(user_ids, 1):
        queue_capped_add(pipe, timeline_key(user_id), {member: score}, CAP, SECONDS)
        if index % batch_size == 0:
            pipe.execute()
    pipe.execute()


def redis_benchmark_zadd(port: int, requests: int) -> float | None:
    """redis-benchmark's pipelined ZADD (16 commands per round trip, one client) on the same server, per second."""
    binary = os.environ.get("REDIS_BENCHMARK") or shutil.which("redis-benchmark")
    if binary is None:
        return None
    output = subprocess.run(
        [binary, "-p", str(port), "-c", "1", "-P", "16", "-n", str(requests), "-r", "100000", "-t", "zadd", "-q"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.findall(r"ZADD: ([\d.]+) requests per second", output.replace("\r", "\n"))
    return float(found[-1]) if found else None


def rates(client: Any, timeline: Timeline, followers: int, round_index: int) -> tuple[float, float]:
    """Inserts per second for one post to `followers` timelines that already hold CAP posts, new way and old."""
    ids = list(range(1_000_000, 1_000_000 + followers))
    post = (1 << 40) + round_index * 2
    started = time.perf_counter()
    timeline.push(ids, post_id=post, ms=10_000 + round_index)
    new = followers / (time.perf_counter() - started)
    started = time.perf_counter()
    old_push(client, ids, str(post + 1).zfill(20), 10_000 + round_index)
    old = followers / (time.perf_counter() - started)
    return new, old


def fill(client: Any, followers: int) -> None:
    """Every timeline at its cap, so the trims the old way does are real work, as in a warm system."""
    pipe = client.pipeline(transaction=False)
    for user_id in range(1_000_000, 1_000_000 + followers):
        pipe.zadd(timeline_key(user_id), {str(n).zfill(20): n for n in range(CAP)})
        if user_id % 200 == 0:
            pipe.execute()
    pipe.execute()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    server = RedisServer()
    try:
        client = redis.Redis(port=server.port, decode_responses=True)
        timeline = Timeline(client, cap=CAP, slack=SLACK)
        fill(client, args.followers)
        timeline.push([1], post_id=1, ms=1)  # load the script (not timed)
        new_rates, old_rates, baselines = [], [], []
        for round_index in range(args.rounds):
            new, old = rates(client, timeline, args.followers, round_index)
            new_rates.append(new)
            old_rates.append(old)
            baseline = redis_benchmark_zadd(server.port, 200_000)
            if baseline is not None:
                baselines.append(baseline)
            print(f"round {round_index + 1}: push {new:,.0f}/s, before {old:,.0f}/s, redis-benchmark {baseline}")
        sizes = {client.zcard(timeline_key(u)) for u in range(1_000_000, 1_000_000 + args.followers, 97)}
        assert sizes and max(sizes) <= CAP + SLACK, sizes
    finally:
        server.stop()
    print()
    print("| measure | best | median |")
    print("|---|---|---|")
    print(f"| `Timeline.push`, timeline inserts/s | {max(new_rates):,.0f} | {statistics.median(new_rates):,.0f} |")
    print(f"| before (ZADD + trim + EXPIRE pipelined) | {max(old_rates):,.0f} | {statistics.median(old_rates):,.0f} |")
    ratios = [n / o for n, o in zip(new_rates, old_rates, strict=True)]
    print(f"| push / before, same round | {max(ratios):.1f}x | {statistics.median(ratios):.1f}x |")
    if baselines:
        best, median = max(baselines), statistics.median(baselines)
        print(f"| redis-benchmark pipelined ZADD (-P 16), /s | {best:,.0f} | {median:,.0f} |")
        share = [n / b for n, b in zip(new_rates, baselines, strict=True)]
        print(f"| push / redis-benchmark, same round | {max(share):.2f} | {statistics.median(share):.2f} |")


if __name__ == "__main__":
    main()
