"""Load and soak: Locust, headless, against the whole local platform (`python -m local`), as a photo app's users
would use it.

    python -m bench.load --requests 5000          # `make load`: a fixed number of requests, as fast as they go
    python -m bench.load --soak-minutes 30        # `make soak`: a steady rate for 30 minutes, memory sampled

It starts `python -m local --seed-demo` on a free port (a world of accounts with follows, posts, stories and an
explore model), signs the demo accounts in, and runs Locust users who each pick their next request by the weights
of MIX: reads far above writes, as in photo apps, where people scroll and watch much more than they post. Every
request is checked (status and, for reads, a body of the right shape); anything else counts as an error.
It prints, and writes as JSON with --json: throughput, p50/p99 per route and errors; for a soak, the resident memory
of the platform's process and of redis-server, and Redis's used_memory, at the start, the middle and the end.
"""

# Locust patches the standard library for gevent; it must come before anything imports ssl or sockets.
from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
import psutil  # noqa: E402
import redis  # noqa: E402
import requests  # noqa: E402
from locust import HttpUser, constant_throughput, events, task  # noqa: E402
from locust.env import Environment  # noqa: E402

from bench import lift_rate_limits  # noqa: E402
from local.redis_server import RedisServer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEMO_PASSWORD = "Demo-pass-1!"
DEMO_USERS = 60

# What a person does next, by weight (per 100 tasks). Reading tasks are 84 of 100 (a story watched also records its
# view): the feed alone is a third, as the app opens on it; stories, explore, profiles and posts follow, then
# notifications, search, hashtag pages and saved posts. Writes are likes first, then comments, follows, saves, and
# a few posts and stories; sign-ups are rare.
MIX: dict[str, int] = {
    "feed": 32,
    "story tray": 12,
    "watch a story": 6,
    "explore": 10,
    "profile": 8,
    "post and comments": 8,
    "notifications": 4,
    "saved": 1,
    "search": 2,
    "hashtag page": 1,
    "like": 8,
    "comment": 2,
    "follow": 2,
    "save": 1,
    "upload a post": 1,
    "upload a story": 1,
    "sign up": 1,
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _photo() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.effect_mandelbrot((1080, 1080), (-2.0, -1.5, 1.0, 1.5), 100).convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


@dataclass
class Platform:
    """`python -m local --seed-demo` in a child process, and where it listens."""

    process: subprocess.Popen[str]
    base: str
    redis: RedisServer
    lines: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, users: int, trace_memory: bool = False) -> Platform:
        port = _free_port()
        # A redis-server of the benchmark's own, open to it: the embedded one lets only the platform's user in, and
        # that user may not read INFO (aperture.resources.CACHE_ACCESS).
        server = RedisServer()
        env = {**os.environ, "APERTURE_SCHEDULES": "auto", "PYTHONUNBUFFERED": "1", "REDIS_URL": server.url}
        if trace_memory:
            env["APERTURE_TRACE_MEMORY"] = "1"
        process = subprocess.Popen(
            [sys.executable, "-m", "local", "--port", str(port), "--seed-demo", str(users)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        lines: list[str] = []
        for line in process.stdout:
            lines.append(line.rstrip())
            if line.strip() == "READY":
                break
        else:
            server.stop()
            raise RuntimeError("the local platform stopped before it was ready:\n" + "\n".join(lines[-30:]))
        platform = cls(process, f"http://127.0.0.1:{port}", server, lines)
        # Keep reading its output, so a full pipe never blocks it.
        threading.Thread(target=lambda: [lines.append(x.rstrip()) for x in process.stdout or []], daemon=True).start()
        return platform

    def memory(self) -> dict[str, int]:
        """Resident bytes of the platform's process (moto, functions, pump) and of redis-server; Redis's own count."""
        parent = psutil.Process(self.process.pid)
        others = sum(p.memory_info().rss for p in parent.children(recursive=True))
        redis_rss = psutil.Process(self.redis.pid).memory_info().rss
        used = int(redis.Redis.from_url(self.redis.url).info("memory")["used_memory"])
        figures = {"platform_rss": parent.memory_info().rss + others, "redis_rss": redis_rss, "redis_used_memory": used}
        # What moto stores, and (when asked for: the first call starts it) the allocations by owner since then
        held = requests.post(f"{self.base}/_local/memory", timeout=300).json()
        figures.update({f"moto_{name}": size for name, size in held["moto"].items()})
        figures.update({f"traced_{owner}": size for owner, size in held.get("traced_bytes", {}).items()})
        return figures

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.redis.stop()


PHOTO: list[bytes] = []  # the one photo every upload sends, made at start
ACCOUNTS: list[str] = []


class Person(HttpUser):
    """One signed-in person of the demo world, using the app."""

    wait_time = constant_throughput(1_000_000)  # as fast as the platform answers; a soak sets its own rate

    def on_start(self) -> None:
        self.username = random.choice(ACCOUNTS)
        self._sign_in(self.username, DEMO_PASSWORD)
        self.user_id = self.client.get("/me", name="GET /me").json()["user_id"]
        self.seen_posts: list[str] = []
        self.seen_users: list[str] = []
        self.seen_stories: list[str] = []

    def _sign_in(self, username: str, password: str) -> None:
        tokens = self.client.post(
            "/auth/token", json={"username": username, "password": password}, name="POST /auth/token"
        )
        tokens.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {tokens.json()['id_token']}"

    def _read(self, path: str, name: str, key: str = "items") -> dict[str, Any]:
        with self.client.get(path, name=name, catch_response=True) as response:
            body = response.json() if response.status_code == 200 else {}
            if response.status_code != 200 or (key and not isinstance(body.get(key), list)):
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return {}
            return body

    def _remember(self, posts: list[dict[str, Any]]) -> None:
        for post in posts[:5]:
            self.seen_posts = [post["post_id"], *self.seen_posts][:50]
            if post["author"]["user_id"] != self.user_id:
                self.seen_users = [post["author"]["user_id"], *self.seen_users][:50]

    def _expect(self, method: str, path: str, name: str, ok: set[int], **kwargs: Any) -> Any:
        with self.client.request(method, path, name=name, catch_response=True, **kwargs) as response:
            if response.status_code not in ok:
                response.failure(f"{response.status_code}: {response.text[:200]}")
            return response

    @task(MIX["feed"])
    def feed(self) -> None:
        self._remember(self._read("/feed?limit=20", "GET /feed").get("items", []))

    @task(MIX["story tray"])
    def tray(self) -> None:
        tray = self._read("/stories/tray", "GET /stories/tray").get("items", [])
        others = [entry["user"]["user_id"] for entry in tray[:3] if entry["user"]["user_id"] != self.user_id]
        self.seen_users = [*others, *self.seen_users][:50]

    @task(MIX["watch a story"])
    def watch(self) -> None:
        if not self.seen_users:
            return self.tray()
        author = random.choice(self.seen_users)
        stories = self._read(f"/users/{author}/stories", "GET /users/{user_id}/stories").get("items", [])
        for story in stories[:2]:
            self._expect(
                "POST", f"/stories/{story['story_id']}/views", "POST /stories/{story_id}/views", {200, 201, 204}
            )
        return None

    @task(MIX["explore"])
    def explore(self) -> None:
        self._remember(self._read("/explore?limit=20", "GET /explore").get("items", []))

    @task(MIX["profile"])
    def profile(self) -> None:
        if not self.seen_users:
            return self.feed()
        user = random.choice(self.seen_users)
        self._read(f"/users/{user}/posts?limit=12", "GET /users/{user_id}/posts")
        return None

    @task(MIX["post and comments"])
    def post(self) -> None:
        if not self.seen_posts:
            return self.feed()
        post = random.choice(self.seen_posts)
        self._read(f"/posts/{post}", "GET /posts/{post_id}", key="")
        self._read(f"/posts/{post}/comments?limit=20", "GET /posts/{post_id}/comments")
        return None

    @task(MIX["notifications"])
    def notifications(self) -> None:
        self._read("/notifications?limit=20", "GET /notifications")

    @task(MIX["saved"])
    def saved(self) -> None:
        self._read("/me/saved?limit=20", "GET /me/saved")

    @task(MIX["search"])
    def search(self) -> None:
        prefix = random.choice(ACCOUNTS)[: random.randint(2, 6)]
        self._read(f"/search/users?q={prefix}", "GET /search/users")

    @task(MIX["hashtag page"])
    def hashtag(self) -> None:
        tags = self._read("/search/hashtags?q=" + random.choice("abcdefghilmnoprstuw"), "GET /search/hashtags")
        if tags.get("items"):
            tag = random.choice(tags["items"])["tag"]
            order = random.choice(("recent", "top"))
            self._read(f"/hashtags/{tag}/posts?order={order}&limit=12", f"GET /hashtags/{{tag}}/posts ({order})")

    @task(MIX["like"])
    def like(self) -> None:
        if self.seen_posts:
            post = random.choice(self.seen_posts)
            method = random.choice(("PUT", "PUT", "DELETE"))
            self._expect(method, f"/posts/{post}/like", f"{method} /posts/{{post_id}}/like", {200})

    @task(MIX["comment"])
    def comment(self) -> None:
        if self.seen_posts:
            post = random.choice(self.seen_posts)
            text = {"text": random.choice(("Lovely", "Where is this?", "So good", "Wow"))}
            self._expect("POST", f"/posts/{post}/comments", "POST /posts/{post_id}/comments", {201}, json=text)

    @task(MIX["follow"])
    def follow(self) -> None:
        if self.seen_users:
            user = random.choice(self.seen_users)
            method = random.choice(("PUT", "DELETE"))
            # (202: a request to a private account)
            self._expect(method, f"/users/{user}/follow", f"{method} /users/{{user_id}}/follow", {200, 202})

    @task(MIX["save"])
    def save(self) -> None:
        if self.seen_posts:
            post = random.choice(self.seen_posts)
            self._expect("PUT", f"/posts/{post}/save", "PUT /posts/{post_id}/save", {200})

    def _upload(self, kind: str) -> None:
        photo = PHOTO[0]
        ask = {"kind": kind, "content_type": "image/jpeg", "content_length": len(photo), "caption": "From the load run"}
        grant = self._expect("POST", "/uploads", f"POST /uploads ({kind})", {201}, json=ask)
        if grant.status_code == 201:
            body = grant.json()
            files = {"file": ("photo.jpg", photo, "image/jpeg")}
            self._expect(
                "POST", body["url"], "POST (presigned upload to S3)", {200, 204}, data=body["fields"], files=files
            )

    @task(MIX["upload a post"])
    def upload_post(self) -> None:
        self._upload("post")

    @task(MIX["upload a story"])
    def upload_story(self) -> None:
        self._upload("story")

    @task(MIX["sign up"])
    def sign_up(self) -> None:
        name = f"load{uuid.uuid4().hex[:12]}"
        account = {"username": name, "password": DEMO_PASSWORD, "email": f"{name}@example.com"}
        self._expect("POST", "/auth/signup", "POST /auth/signup", {201}, json=account)


def _percentile(entry: Any, fraction: float) -> float:
    return float(entry.get_response_time_percentile(fraction) or 0)


def report(env: Environment, elapsed: float) -> dict[str, Any]:
    stats = env.stats
    routes = {
        name: {
            "requests": entry.num_requests,
            "errors": entry.num_failures,
            "p50_ms": _percentile(entry, 0.5),
            "p99_ms": _percentile(entry, 0.99),
        }
        for (name, _method), entry in sorted(stats.entries.items())
    }
    total = stats.total
    return {
        "requests": total.num_requests,
        "errors": total.num_failures,
        "seconds": round(elapsed, 1),
        "throughput_per_s": round(total.num_requests / elapsed, 1) if elapsed else 0.0,
        "p50_ms": _percentile(total, 0.5),
        "p99_ms": _percentile(total, 0.99),
        "routes": routes,
        "error_samples": [f"{e.name}: {e.error}" for e in list(stats.errors.values())[:10]],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    PHOTO.append(_photo())
    platform = Platform.start(DEMO_USERS, trace_memory=args.trace_memory)
    ACCOUNTS.extend(f"demo{i:03}" for i in range(DEMO_USERS))
    try:
        env = Environment(user_classes=[Person], host=platform.base, events=events)
        if args.soak_minutes:
            Person.wait_time = constant_throughput(args.rate / args.users)
        runner = env.create_local_runner()
        memory: dict[str, dict[str, int]] = {}
        started = time.monotonic()
        runner.start(args.users, spawn_rate=args.users)
        if args.soak_minutes:
            total = args.soak_minutes * 60
            gevent.sleep(min(60, total / 10))  # warmed up: every user signed in, caches filled once
            memory["start"] = platform.memory()
            gevent.sleep(total / 2 - min(60, total / 10))
            memory["middle"] = platform.memory()
            gevent.sleep(total / 2)
            memory["end"] = platform.memory()
        else:
            while env.stats.total.num_requests < args.requests:
                gevent.sleep(0.2)
        elapsed = time.monotonic() - started
        runner.quit()
        result = report(env, elapsed)
        result["users"] = args.users
        if memory:
            result["memory"] = memory
            result["target_rate_per_s"] = args.rate
        return result
    finally:
        platform.stop()


def _print(result: dict[str, Any]) -> None:
    print(
        f"{result['requests']} requests in {result['seconds']} s: {result['throughput_per_s']}/s with "
        f"{result['users']} users, p50 {result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms, "
        f"{result['errors']} errors"
    )
    width = max(len(name) for name in result["routes"])
    for name, route in result["routes"].items():
        print(
            f"  {name:<{width}}  {route['requests']:>6}  p50 {route['p50_ms']:>6.0f} ms  "
            f"p99 {route['p99_ms']:>6.0f} ms  errors {route['errors']}"
        )
    for sample in result["error_samples"]:
        print(f"  error: {sample}")
    for moment, figures in result.get("memory", {}).items():
        print(
            f"  memory at the {moment}: platform {figures['platform_rss'] / 2**20:.0f} MiB, redis-server "
            f"{figures['redis_rss'] / 2**20:.0f} MiB (used_memory {figures['redis_used_memory'] / 2**20:.1f} MiB)"
            + f"; moto holds {figures['moto_s3_objects']} objects ({figures['moto_s3_bytes'] / 2**20:.0f} MiB), "
            f"{figures['moto_dynamodb_items']} items ({figures['moto_dynamodb_bytes'] / 2**20:.1f} MiB), "
            f"{figures['moto_stream_records']} stream records"
            + "".join(
                f", {owner} {figures[f'traced_{owner}'] / 2**20:.1f} MiB traced"
                for owner in ("aperture", "moto", "other")
                if f"traced_{owner}" in figures
            )
        )


def main() -> int:
    lift_rate_limits()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000, help="stop after this many requests (load)")
    parser.add_argument("--users", type=int, default=20, help="simulated people at once")
    parser.add_argument("--soak-minutes", type=float, default=0, help="run at --rate for this long instead")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second in a soak")
    parser.add_argument(
        "--trace-memory",
        action="store_true",
        help="trace the platform's allocations by owner (ours, moto's, other): slower, for telling a leak from storage",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    result = run(args)
    _print(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
