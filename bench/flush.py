"""Ranking loop, the activity log's flush: one `ActivityFlush` run over N records queued in a real redis-server, into
an in-memory bucket, with the declared batch against the earlier 5,000 (the baseline) in the same run: the run's
CPU a record (client) and Redis's own, and what that makes of the declared capacity at a million daily users.

    PYTHONPATH=layers/core/python:. python -m bench.flush [--records 100000]

CPU times, not wall: on a shared machine the wall time is mostly waiting for a core. One record in 30 is an
engagement, the rest feed impressions of four features, as the feed logs them.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

from aperture.activity import Engagement, Impression, Record
from aperture.activity_flush import ActivityFlush
from aperture.adapters.redis_store.activity import ActivityStreams, RedisActivityLog
from aperture.settings import Settings
from bench import cost
from bench.training import _Bucket

BASELINE_BATCH = 5_000
AT = 1_796_669_082_267


def queued(client: Any, records: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    log = RedisActivityLog(client, max_length=10 * records)
    page: list[Record] = []
    for i in range(records):
        if i % 30 == 29:
            page.append(Engagement("like", rng.randrange(10**6), rng.randrange(10**5), AT + i, rng.randrange(10**12)))
        else:
            features = {"recency": rng.random(), "author_affinity": 3 * rng.random(), "engagement": rng.random()}
            features["topic_affinity"] = 2 * rng.random()
            viewer, post, author = rng.randrange(10**6), rng.randrange(10**12), rng.randrange(10**5)
            page.append(Impression("feed", viewer, post, author, i % 20, AT + i, "default", features, f"r{i // 20}"))
        if len(page) == 1000:
            log.record(page)
            page = []
    log.record(page)


def _redis_cpu(client: Any) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def measure(client: Any, records: int, batch: int) -> dict[str, float]:
    client.flushall()
    queued(client, records)
    flush = ActivityFlush(ActivityStreams(client), _Bucket(), batch_size=batch, rounds=10**6)
    redis_before, cpu_before = _redis_cpu(client), time.process_time()
    outcome = flush.run()
    client_cpu, redis_cpu = time.process_time() - cpu_before, _redis_cpu(client) - redis_before
    assert outcome.records == records and outcome.backlog == 0
    return {"client_us": client_cpu / records * 1e6, "redis_us": redis_cpu / records * 1e6, "objects": outcome.objects}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    import redis

    from local.redis_server import RedisServer

    server = RedisServer()
    try:
        client = redis.Redis.from_url(server.url)
        declared = Settings().activity_flush_batch
        results = {batch: measure(client, args.records, batch) for batch in (BASELINE_BATCH, declared)}
    finally:
        server.stop()
    for batch, found in results.items():
        print(
            f"batch {batch:>6,}: client CPU {found['client_us']:.1f} us a record, Redis {found['redis_us']:.1f} us, "
            f"{found['objects']:.0f} objects"
        )
    ours, base = results[declared], results[BASELINE_BATCH]
    per_record = ours["client_us"] + ours["redis_us"]
    print(f"declared / baseline batch, client CPU: {ours['client_us'] / base['client_us']:.2f}x")
    arriving = cost.activity_records_a_day() / 1440
    capacity = cost.flush_capacity_a_run()
    print(
        f"at {per_record:.1f} us a record (bench/cost.py assumes {cost.FLUSH_CPU_US_PER_RECORD:g}): a minute's "
        f"{arriving:,.0f} records at a million daily users take {arriving * per_record / 1e6:.1f} s of one vCPU; "
        f"a full run ({capacity:,} records) {capacity * per_record / 1e6:.1f} s"
    )


if __name__ == "__main__":
    main()
