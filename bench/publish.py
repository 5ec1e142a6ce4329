"""Upload-complete to visible-in-feed latency through the local runtime, against all-renditions-stored.

Fast publish announces a post once its JPEG and WebP renditions exist and encodes AVIF after; this measures
what a follower waits for (the post in their feed) next to what the old order would have made them wait for
(every rendition, AVIF included), in one run, on 12-megapixel phone-sized JPEGs.

    python -m bench.publish [--photos 12] [--quick]
"""

from __future__ import annotations

import argparse
import io
import statistics
import threading
import time

import requests
from PIL import Image

from aperture import wiring
from aperture.adapters.redis_store.timeline import timeline_key
from bench import lift_rate_limits

PASSWORD = "Bench-pass-1!"
POLL_SECONDS = 0.01


def twelve_megapixel_jpegs(count: int) -> list[bytes]:
    from skimage import data

    names = ["astronaut", "coffee", "chelsea", "rocket"]
    photos = []
    for i in range(count):
        image = Image.fromarray(getattr(data, names[i % len(names)])()).convert("RGB")
        image = image.resize((4000, 3000), Image.Resampling.LANCZOS)
        if i >= len(names):
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)  # distinct bytes, same cost
        out = io.BytesIO()
        image.save(out, "JPEG", quality=92)
        photos.append(out.getvalue())
    return photos


def _account(base: str, name: str) -> tuple[str, dict[str, str]]:
    user = requests.post(
        f"{base}/auth/signup", json={"username": name, "password": PASSWORD, "email": f"{name}@example.com"}, timeout=10
    ).json()
    token = requests.post(f"{base}/auth/token", json={"username": name, "password": PASSWORD}, timeout=10).json()
    return user["user_id"], {"Authorization": f"Bearer {token['id_token']}"}


def _wait(check: object, timeout: float = 120.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if check():  # type: ignore[operator]
            return time.perf_counter()
        time.sleep(POLL_SECONDS)
    raise TimeoutError("the post never arrived")


def measure(base: str, photos: list[bytes]) -> list[tuple[float, float]]:
    author_id, author = _account(base, "author")
    follower_id, follower = _account(base, "follower")
    requests.put(f"{base}/users/{author_id}/follow", headers=follower, timeout=10)
    requests.get(f"{base}/feed", headers=follower, timeout=10)  # an active follower, so fanout reaches them
    timings = []
    for photo in photos:
        grant = requests.post(
            f"{base}/uploads",
            headers=author,
            json={"content_type": "image/jpeg", "content_length": len(photo)},
            timeout=10,
        ).json()
        requests.post(grant["url"], data=grant["fields"], files={"file": ("p.jpg", photo, "image/jpeg")}, timeout=60)
        uploaded = time.perf_counter()
        post_id = grant["target_id"]

        # Cheap probes, so polling does not steal the CPU the pipeline is measured on: the follower's timeline
        # holding the post is what the feed reads; the 1080 AVIF is the last rendition written.
        member = str(post_id).zfill(20)

        def in_feed(member: str = member) -> bool:
            return wiring.redis_client().zscore(timeline_key(int(follower_id)), member) is not None

        visible = _wait(in_feed)
        avif = f"images/{author_id}/{post_id}/1080.avif"
        complete = _wait(lambda key=avif: wiring.media_store().size(key) is not None)
        feed = requests.get(f"{base}/feed", headers=follower, params={"limit": 1}, timeout=10).json()
        assert feed["items"][0]["post_id"] == post_id, "the post is not at the top of the follower's feed"
        timings.append((visible - uploaded, complete - uploaded))
        shown, done = 1000 * (visible - uploaded), 1000 * (complete - uploaded)
        print(f"  post {post_id}: visible {shown:6.0f} ms, all renditions {done:6.0f} ms")
    return timings


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    lift_rate_limits()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=12)
    parser.add_argument("--quick", action="store_true", help="three photos, for a smoke run")
    args = parser.parse_args()
    count = 3 if args.quick else args.photos

    from local.runtime import start

    platform = start(0)
    threading.Thread(target=platform.serve_forever, daemon=True).start()
    _wait(lambda: requests.get(f"{platform.base_url}/health", timeout=1).ok, timeout=30)
    photos = twelve_megapixel_jpegs(count)
    print(f"{count} uploads of 12 MP JPEGs ({statistics.mean(map(len, photos)) / 1e6:.1f} MB average)")
    timings = measure(platform.base_url, photos)
    platform.shutdown()
    visible = [t[0] * 1000 for t in timings]
    complete = [t[1] * 1000 for t in timings]
    print()
    print(f"{'':32} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'visible in follower feed':32} {percentile(visible, 50):8.0f} {percentile(visible, 95):8.0f}")
    print(f"{'all renditions stored (AVIF)':32} {percentile(complete, 50):8.0f} {percentile(complete, 95):8.0f}")
    print(f"fast publish shows the post {percentile(complete, 50) / percentile(visible, 50):.2f}x sooner at p50")


if __name__ == "__main__":
    main()
