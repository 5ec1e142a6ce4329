"""The data export benchmark: the builder's peak Python heap and time for a small and a large account, so the ratio
shows whether memory grows with the account (it must not: photos are streamed and the ZIP spooled to disk).

Run from the repository root: `python -m bench.exports [--photos 10 120]`. moto runs in a process of its own (its
in-memory S3 would otherwise count against the builder's heap). Each photo is 1 MiB of random bytes (stored, not
compressed, like a JPEG). Prints a markdown table; the first size is the baseline.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import requests

PHOTO_BYTES = 1024 * 1024


def _moto() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen([str(server), "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            requests.get(f"{endpoint}/moto-api/", timeout=1)
            return process, endpoint
        except requests.ConnectionError:
            time.sleep(0.05)  # (waiting for a server process to listen, not timing anything)
    raise RuntimeError("moto_server did not start")


def _account(user_id: int, photos: int) -> None:
    """A user with `photos` one-photo posts whose largest JPEG is in the bucket, and a pending export (id 1)."""
    from aperture import wiring
    from aperture.adapters.aws import dynamo_table
    from aperture.models.records import ExportRecord
    from aperture.settings import get_settings

    settings = get_settings()
    dynamo_table(settings.table_users).put_item(Item={"user_id": user_id, "username": f"bench{user_id}"})
    posts = dynamo_table(settings.table_posts)
    body = os.urandom(PHOTO_BYTES)
    for i in range(photos):
        post_id = user_id * 100_000 + i
        key = f"images/{user_id}/{post_id}/1080.jpg"
        wiring.media_store().write_immutable(key, body, "image/jpeg")
        images = {"1080": {"jpeg": key}}
        item = {"post_id": post_id, "author_id": user_id, "upload_id": i, "width": 1080, "height": 1080}
        posts.put_item(Item={**item, "images": images, "created_at": 1})
    record = ExportRecord(user_id=user_id, export_id=1, requested_at=1)
    wiring.export_repository()._table.put_item(Item=record.model_dump(exclude_none=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, nargs="+", default=[10, 120])
    sizes = parser.parse_args().photos
    moto, endpoint = _moto()
    try:
        os.environ.update(
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_REGION="us-east-1",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
            POWERTOOLS_LOG_LEVEL="WARNING",
            APERTURE_LOCAL="1",
            AWS_ENDPOINT_URL=endpoint,
        )
        from aperture import wiring
        from aperture.models.events import ExportJob
        from aperture.settings import get_settings
        from local.provision import provision

        provision(get_settings())
        wiring.reset()
        rows = []
        for user_id, photos in enumerate(sizes, start=1):
            _account(user_id, photos)
            tracemalloc.start()
            started = time.perf_counter()
            outcome = wiring.export_builder().run(ExportJob(user_id=user_id, export_id=1))
            seconds = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            rows.append((photos, outcome.size_bytes, peak, seconds))
    finally:
        moto.terminate()
    base = rows[0][2]
    print("| photos | ZIP (MiB) | peak Python heap (MiB) | heap vs baseline | seconds (moto, local) |")
    print("|---|---|---|---|---|")
    for photos, size, peak, seconds in rows:
        print(f"| {photos} | {size / 2**20:.0f} | {peak / 2**20:.1f} | {peak / base:.2f}x | {seconds:.1f} |")


if __name__ == "__main__":
    main()
