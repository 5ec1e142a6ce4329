"""A 10-photo carousel of 12 MP JPEGs: last photo uploaded to visible in a follower's feed, photos processed in
parallel (one media invocation each, as S3 notifications fan out on AWS) against one after another, in one run.

The local runtime runs in process with its event pump in the background (post ingest, fanout), except for S3
notifications: here the bench is S3, invoking `media_process` with each photo's notification itself, in worker
processes (one per photo, as Lambda gives each notification its own instance), either all at once or one after
another. Rounds alternate the two orders so that both see the same machine. A machine with fewer cores than
photos cannot show all of the parallel gain, so the bench also prints what one vCPU per photo (AWS) would give,
modelled from the same run's one-photo times.

    python -m bench.carousel [--photos 10] [--rounds 2] [--quick]
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import statistics
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import requests
from PIL import Image
from werkzeug.test import Client

from aperture import wiring
from aperture.adapters.redis_store.timeline import timeline_key
from aperture.settings import get_settings
from bench import lift_rate_limits
from bench.publish import PASSWORD, percentile, twelve_megapixel_jpegs
from local.invoke import invoke
from local.runtime import LocalPlatform

POLL_SECONDS = 0.01


def small_jpegs(count: int) -> list[bytes]:
    """Quick mode's photos: 1 MP, so a smoke run takes seconds."""
    photos = []
    for i in range(count):
        out = io.BytesIO()
        Image.new("RGB", (1200, 900), (40 + 20 * i, 90, 160)).save(out, "JPEG", quality=90)
        photos.append(out.getvalue())
    return photos


def _account(api: Client, name: str) -> tuple[str, dict[str, str]]:
    user = api.post("/auth/signup", json={"username": name, "password": PASSWORD, "email": f"{name}@example.com"})
    token = api.post("/auth/token", json={"username": name, "password": PASSWORD}).json
    return str(user.json["user_id"]), {"Authorization": f"Bearer {token['id_token']}"}


def _notification(key: str) -> dict[str, Any]:
    bucket = get_settings().media_bucket
    record = {"eventSource": "aws:s3", "eventName": "ObjectCreated:Post"}
    return {"Records": [{**record, "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 1}}}]}


def _wait(check: Any, timeout: float = 600.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if check():
            return time.perf_counter()
        time.sleep(POLL_SECONDS)
    raise TimeoutError("the carousel never arrived")


def _process(key: str) -> float:
    """One photo's media_process invocation (in a worker process: its own interpreter, as a Lambda has); seconds.

    Retried as Lambda retries an S3 notification's failed invocation (twice): moto's DynamoDB is not safe under
    concurrent writes to one item (real DynamoDB is), and may answer one of the photos' counts with a 500.
    """
    started = time.perf_counter()
    for attempt in range(3):
        try:
            invoke("media_process", _notification(key))
            break
        except Exception:
            if attempt == 2:
                raise
    return time.perf_counter() - started


def _warm(_: int) -> None:
    """A worker's cold start, before the clock runs: imports, clients, encoders."""
    from aperture.media.render import render  # noqa: F401


def one_carousel(
    platform: LocalPlatform,
    pool: ProcessPoolExecutor,
    author: dict[str, str],
    follower_id: str,
    photos: list[bytes],
    parallel: bool,
) -> tuple[float, list[float]]:
    """Seconds from the last photo stored to the post in the follower's timeline, and each photo's invocation."""
    items = [
        {"content_type": "image/jpeg", "content_length": len(photo), "alt_text": f"photo {i}"}
        for i, photo in enumerate(photos)
    ]
    api = Client(platform.server.app)
    grant = api.post("/uploads", headers=author, json={"items": items}).json
    for upload, photo in zip(grant["uploads"], photos, strict=True):
        file = {"file": ("p.jpg", photo, "image/jpeg")}
        sent = requests.post(upload["url"], data=upload["fields"], files=file, timeout=60)
        assert sent.status_code in {200, 204}, sent.text
    uploaded = time.perf_counter()
    keys = [u["fields"]["key"] for u in grant["uploads"]]
    durations: list[float] = []
    done = threading.Event()

    def run() -> None:
        # All at once (one worker per photo), or one after another (the next starts when the last is done)
        waves = [keys] if parallel else [[key] for key in keys]
        for wave in waves:
            futures = [pool.submit(_process, key) for key in wave]
            durations.extend(f.result() for f in futures)
            platform.pump.nudge()  # as the pump does after a delivery: its stream pollers look at once
        done.set()

    worker = threading.Thread(target=run)
    worker.start()
    member = str(grant["target_id"]).zfill(20)

    def arrived() -> bool:
        if not worker.is_alive() and not done.is_set():
            raise RuntimeError("a photo's processing failed; see above")
        return wiring.redis_client().zscore(timeline_key(int(follower_id)), member) is not None

    visible = _wait(arrived)
    worker.join()
    post = api.get(f"/posts/{grant['target_id']}", headers=author).json
    assert len(post["media"]) == len(photos), "the post does not carry every photo"
    return visible - uploaded, durations


def main() -> None:
    lift_rate_limits()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="three 1 MP photos, one round: a smoke run")
    args = parser.parse_args()
    count, rounds = (3, 1) if args.quick else (args.photos, args.rounds)

    from local.runtime import start

    platform = start(0)
    # The bench delivers S3 notifications itself: the pump's own S3 poller is held off for the run.
    s3_poller = platform.pump.hold("s3:media_process")
    stop = threading.Event()
    platform.pump.run_in_background(stop, 0.01)
    api = Client(platform.server.app)
    photos = small_jpegs(count) if args.quick else twelve_megapixel_jpegs(count)
    megapixels = Image.open(io.BytesIO(photos[0])).size
    print(f"{rounds} rounds of a {count}-photo carousel, {megapixels[0]}x{megapixels[1]} JPEGs ", end="")
    print(f"({statistics.mean(map(len, photos)) / 1e6:.1f} MB average)")
    author_id, author = _account(api, "author")
    follower_id, follower = _account(api, "follower")
    api.put(f"/users/{author_id}/follow", headers=follower)
    api.get("/feed", headers=follower)  # an active follower, so fanout reaches them
    # Worker processes (spawned: each its own interpreter and clients, reaching the same emulated AWS and Redis
    # through the environment the runtime set), warmed before the clock runs
    pool = ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("spawn"))
    list(pool.map(_warm, range(count)))
    one_carousel(platform, pool, author, follower_id, photos[:2], parallel=True)  # warm: connections, encoders
    timings: dict[str, list[float]] = {"parallel": [], "one after another": []}
    alone: list[float] = []  # each photo's invocation when it runs by itself
    tails: list[float] = []  # from the last photo's start to visible, one after another
    for _ in range(rounds):
        for mode, values in timings.items():
            seconds, durations = one_carousel(
                pool=pool,
                platform=platform,
                author=author,
                follower_id=follower_id,
                photos=photos,
                parallel=mode == "parallel",
            )
            values.append(seconds * 1000)
            if mode != "parallel":
                alone += durations
                tails.append(seconds - sum(durations[:-1]))
            print(f"  {mode:>18}: visible {seconds * 1000:7.0f} ms after the last photo was stored")
    pool.shutdown()
    stop.set()
    s3_poller.release()
    platform.shutdown()
    print()
    print(f"{'':34} {'p50 ms':>8} {'max ms':>8}")
    for mode, values in timings.items():
        print(f"{'photos ' + mode:34} {percentile(values, 50):8.0f} {max(values):8.0f}")
    ratio = percentile(timings["one after another"], 50) / percentile(timings["parallel"], 50)
    print(f"processing the photos in parallel shows the carousel {ratio:.2f}x sooner at p50 ({os.cpu_count()} CPUs)")
    # On AWS every photo has its own Lambda (and vCPU): the carousel is out once the slowest photo is counted,
    # then post ingest and fanout. Modelled from the one-after-another runs: the slowest photo alone, plus the
    # last photo's tail (its start to visible) less that photo's own time.
    slowest, typical = max(alone), statistics.median(alone)
    modelled = 1000 * (slowest + statistics.median(tails) - typical)
    print(f"one photo's invocation alone: median {typical * 1000:.0f} ms, slowest {slowest * 1000:.0f} ms")
    print(
        f"modelled with one vCPU per photo (AWS): visible about {modelled:.0f} ms after the last upload, "
        f"{percentile(timings['one after another'], 50) / modelled:.1f}x sooner than one after another"
    )


if __name__ == "__main__":
    main()
