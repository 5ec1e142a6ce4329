"""Private accounts benchmark: what the private-account check adds to reading a post, and what approving every
pending follow request on going public costs per request, each against a baseline in the same run.

- Reading: `GET /posts/{id}` of a private author by an approved follower, against the same read of a public
  author's post (the check is one users read and a cached "does A follow B").
- Approving: N pending requests approved by the relay's bounded rounds after `PATCH /me {private: false}`, against
  the owner approving N requests one by one (`POST /me/follow_requests/{id}/approve`).

Run from the repository root: `python -m bench.private` (about two minutes) or `python -m bench.private --quick`.
Everything runs in process against the local runtime: moto for AWS, a real Redis server.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from werkzeug.test import Client

from bench.social import Users


def _p50_p99(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def reads(client: Client, people: Users, samples: int) -> dict[str, tuple[float, float]]:
    """GET /posts/{id} latency (ms) for a public author's post and a private author's, as an approved follower;
    the two alternate, so load from anything else on the machine falls on both alike."""
    from local.seeding import Account, publish_post

    _, reader = people.sign_up("reader")
    paths: dict[str, str] = {}
    for label, private in (("public", False), ("private", True)):
        author_id, author = people.sign_up(f"author_{label}")
        assert client.put(f"/users/{author_id}/follow", headers=reader).status_code == 200
        if private:
            assert client.patch("/me", json={"private": True}, headers=author).status_code == 200
        post_id = publish_post(Account(author_id, f"author_{label}", author["Authorization"].removeprefix("Bearer ")))
        paths[label] = f"/posts/{post_id}"
        client.get(paths[label], headers=reader)  # warm the post and relationship caches
    timings: dict[str, list[float]] = {label: [] for label in paths}
    for _ in range(samples):
        for label, path in paths.items():
            started = time.perf_counter()
            assert client.get(path, headers=reader).status_code == 200
            timings[label].append((time.perf_counter() - started) * 1000)
    return {label: _p50_p99(found) for label, found in timings.items()}


def approvals(client: Client, people: Users, drain: object, pending: int) -> dict[str, float]:
    """Milliseconds per approved request: one by one through the API, and all at once by going public."""
    per_request: dict[str, float] = {}
    for label in ("one_by_one", "going_public"):
        owner_id, owner = people.sign_up(f"owner_{label}")
        assert client.patch("/me", json={"private": True}, headers=owner).status_code == 200
        requesters = [people.sign_up(f"{label[:3]}{i:04}") for i in range(pending)]
        for _, headers in requesters:
            assert client.put(f"/users/{owner_id}/follow", headers=headers).status_code == 202
        drain()  # type: ignore[operator]
        started = time.perf_counter()
        if label == "one_by_one":
            for requester_id, _ in requesters:
                path = f"/me/follow_requests/{requester_id}/approve"
                assert client.post(path, headers=owner).status_code == 200
        else:
            assert client.patch("/me", json={"private": False}, headers=owner).status_code == 200
        drain()  # type: ignore[operator]  # the relay's rounds, each approval's event, the notifications
        per_request[label] = (time.perf_counter() - started) * 1000 / pending
        left = client.get("/me/follow_requests", headers=owner).json["items"]
        followers = client.get("/me", headers=owner).json["follower_count"]
        assert (left, followers) == ([], pending), (left, followers)
    return per_request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    args = parser.parse_args()
    samples, pending = (50, 10) if args.quick else (300, 120)
    os.environ["APERTURE_SCHEDULES"] = "manual"
    batch = max(2, pending // 4)  # four rounds
    os.environ["APERTURE_FOLLOW_REQUEST_BATCH"] = str(batch)

    from local.runtime import start

    platform = start(0)
    client = Client(platform.server.app)
    people = Users(client)
    print(f"reads: GET /posts/{{id}} x {samples}, public and private author")
    latency = reads(client, people, samples)
    print(f"approvals: {pending} pending requests, one by one and by going public")
    cost = approvals(client, people, platform.pump.drain, pending)
    platform.shutdown()

    (pub50, pub99), (pri50, pri99) = latency["public"], latency["private"]
    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| GET /posts/{{id}}, public author (baseline) | p50 {pub50:.1f} ms, p99 {pub99:.1f} ms |")
    print(f"| GET /posts/{{id}}, private author, approved follower | p50 {pri50:.1f} ms, p99 {pri99:.1f} ms |")
    print(f"| private / public, p50 | {pri50 / pub50:.2f} |")
    one, bulk = cost["one_by_one"], cost["going_public"]
    print(f"| approving one by one (baseline), per request | {one:.1f} ms |")
    print(f"| going public (relay rounds of {batch}), per request | {bulk:.1f} ms |")
    print(f"| going public / one by one | {bulk / one:.2f} |")


if __name__ == "__main__":
    main()
