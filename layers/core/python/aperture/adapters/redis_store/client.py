"""The process's Redis client and what every store shares: batched reads, batched writes, capped sorted sets."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, Generic, TypeVar

from aperture.observability import traced
from aperture.settings import MissingSettingError, Settings, get_settings, setting_variable

T = TypeVar("T")


# A connection idle longer than this is PINGed before it is used again, and replaced (freshly authenticated) if the
# server has closed it meanwhile: ElastiCache closes every IAM-authenticated connection after 12 hours. (The plain
# client only: redis-py's cluster client does not pass it on to its nodes.)
HEALTH_CHECK_SECONDS = 30


@lru_cache(maxsize=1)
def redis_client() -> Any:
    """The process's Redis client: a cluster client when configured, else a plain one, authenticating as the
    configured user (aperture.settings) on every connection it opens.

    The layer never starts a server: `python -m local` starts one and sets REDIS_URL (local/redis_server.py).
    Connections are not aged out here: one the server closes (ElastiCache, after 12 hours under IAM) fails its next
    use, and redis-py reconnects, asking the credential provider again, and retries the command (redis-py's default:
    up to ten times, backing off from 10 ms to 1 s; the cluster client after refreshing its slot map); the plain
    client PINGs an idle one first."""
    import redis  # on first use: the functions outside the VPC never load it
    from redis.maint_notifications import MaintNotificationsConfig

    settings = get_settings()
    url = settings.redis_url
    if not url:
        variable = setting_variable("redis_url")
        raise MissingSettingError(f"{variable} is not set, and this needs Redis (python -m local starts one)")
    # Nothing but authentication when a connection opens: no CLIENT SETINFO (two round trips nothing reads) and no
    # CLIENT MAINT_NOTIFICATIONS (Redis Enterprise's handshake, which ElastiCache refuses). Both are CLIENT, a
    # dangerous command as a whole before Redis 7, so the local server's ACL would refuse them too.
    options: dict[str, Any] = {
        "decode_responses": True,
        "driver_info": None,
        "maint_notifications_config": MaintNotificationsConfig(enabled=False),
    }
    credentials = _credential_provider(settings)
    if credentials is not None:
        options["credential_provider"] = credentials
    if settings.redis_cluster:
        return instrumented(redis.RedisCluster.from_url(url, **options))
    return instrumented(redis.Redis.from_url(url, health_check_interval=HEALTH_CHECK_SECONDS, **options))


def _credential_provider(settings: Settings) -> Any:
    """How each new connection authenticates: an IAM token (AWS), the user's password (locally), or None (whatever
    REDIS_URL carries)."""
    if settings.redis_user is None:
        return None
    if settings.redis_iam_cache:
        from aperture.adapters.aws import session
        from aperture.adapters.redis_store.iam import ElastiCacheIamToken

        # The role's credentials, as every boto3 client of the process has them (refreshed by botocore).
        return ElastiCacheIamToken(
            settings.redis_user, settings.redis_iam_cache, settings.region, lambda: session().get_credentials()
        )
    from redis.credentials import UsernamePasswordCredentialProvider

    password = settings.redis_password.get_secret_value() if settings.redis_password else None
    return UsernamePasswordCredentialProvider(settings.redis_user, password)


# Per thread: the local runtime serves several requests at once through one client.
_round_trips: ContextVar[int] = ContextVar("redis_round_trips", default=0)


def round_trips() -> int:
    """How many Redis round trips this thread has made through an instrumented client, ever (take differences)."""
    return _round_trips.get()


def instrumented(client: Any) -> Any:
    """`client`, with every round trip (a command sent alone, or a pipeline executed) counted and traced as an X-Ray
    subsegment: every store's calls go through these two, so no store method needs wrapping."""
    send, make_pipeline = client.execute_command, client.pipeline

    def execute_command(*args: Any, **options: Any) -> Any:
        _round_trips.set(_round_trips.get() + 1)
        with traced("redis", command=str(args[0]) if args else ""):
            return send(*args, **options)

    def pipeline(*args: Any, **kwargs: Any) -> Any:
        pipe = make_pipeline(*args, **kwargs)
        run = pipe.execute

        def execute(*run_args: Any, **run_kwargs: Any) -> Any:
            _round_trips.set(_round_trips.get() + 1)
            with traced("redis", pipeline=len(getattr(pipe, "command_stack", ()))):
                return run(*run_args, **run_kwargs)

        pipe.execute = execute
        return pipe

    client.execute_command, client.pipeline = execute_command, pipeline
    return client


class Slot(Generic[T]):
    """A value a batch will have read once it runs."""

    def __init__(self) -> None:
        self._value: T | None = None
        self.ready = False

    @property
    def value(self) -> T:
        if not self.ready:
            raise RuntimeError("the batch has not run")
        return self._value  # type: ignore[return-value]

    def fill(self, value: T) -> None:
        self._value, self.ready = value, True


class Script:
    """A Lua script run by SHA-1 inside a pipeline (`queue`), loaded again by the batch on NOSCRIPT."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1

    def queue(self, pipe: Any, keys: Sequence[str], args: Sequence[Any]) -> None:
        pipe.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)


class PipelineBatch:
    """Reads from several stores queued into one pipeline: one round trip for all of them.

    A step that runs a script names it (`scripts`). A server that has not got it (a restart, a failover, a new
    node) answers NOSCRIPT to that step's calls alone: the batch then loads the scripts (on every primary, in
    cluster mode) and runs those steps once more, keeping every other step's replies from the first run, so a step
    that writes (an activity mark read and set) is never run twice."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.pipe = client.pipeline(transaction=False)
        self._steps: list[tuple[Callable[[Any], int], tuple[Script, ...]]] = []
        self._parsers: list[tuple[int, Callable[[list[Any]], Any], Slot[Any]]] = []

    def queue(
        self, commands: Callable[[Any], int], parse: Callable[[list[Any]], T], scripts: Sequence[Script] = ()
    ) -> Slot[T]:
        slot: Slot[T] = Slot()
        self._steps.append((commands, tuple(scripts)))
        self._parsers.append((commands(self.pipe), parse, slot))
        return slot

    def execute(self) -> None:
        from redis.exceptions import NoScriptError  # (here: this module is imported by functions without Redis)

        if not self._parsers:
            return
        scripted = any(scripts for _, scripts in self._steps)
        replies = list(self.pipe.execute(raise_on_error=not scripted))
        if scripted and any(isinstance(reply, NoScriptError) for reply in replies):
            self._run_scripted_again(replies)
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        offset = 0
        for count, parse, slot in self._parsers:
            slot.fill(parse(replies[offset : offset + count]))
            offset += count

    def _run_scripted_again(self, replies: list[Any]) -> None:
        """Load the scripts, run the steps that use them again, and put their replies in place of the first ones."""
        loaded: set[str] = set()
        pipe = self._client.pipeline(transaction=False)
        again: list[tuple[int, int]] = []  # (offset, count) of each step run again
        offset = 0
        for (commands, scripts), (count, _, _) in zip(self._steps, self._parsers, strict=True):
            if scripts:
                for script in scripts:
                    if script.sha not in loaded:
                        self._client.script_load(script.source)
                        loaded.add(script.sha)
                commands(pipe)
                again.append((offset, count))
            offset += count
        fresh = pipe.execute()
        at = 0
        for offset, count in again:
            replies[offset : offset + count] = fresh[at : at + count]
            at += count


def single(command: Callable[[Any], Any]) -> Callable[[Any], int]:
    """A batch step that queues one command."""

    def queue(pipe: Any) -> int:
        command(pipe)
        return 1

    return queue


def per_id(command: Callable[[Any, int], Any], ids: Sequence[int]) -> Callable[[Any], int]:
    """A batch step that queues one command per id (its replies come in the same order)."""

    def queue(pipe: Any) -> int:
        for each in ids:
            command(pipe, each)
        return len(ids)

    return queue


def execute_in_batches(pipe: Any, items: Iterable[T], queue: Callable[[Any, T], Any], batch_size: int) -> int:
    """Queue each item's commands on `pipe` (after any already queued), executing every `batch_size` items and
    once at the end; returns how many items."""
    done = 0
    for item in items:
        queue(pipe, item)
        done += 1
        if done % batch_size == 0:
            pipe.execute()
    pipe.execute()
    return done


def queue_capped(pipe: Any, key: str, cap: int, seconds: int) -> None:
    """Keep a sorted set to its `cap` highest-scored members, for `seconds` after this write."""
    pipe.zremrangebyrank(key, 0, -cap - 1)
    pipe.expire(key, seconds)


def queue_capped_add(pipe: Any, key: str, members: Mapping[str, float], cap: int, seconds: int) -> None:
    """Add to a sorted set kept to its `cap` highest-scored members, for `seconds` after this write."""
    pipe.zadd(key, members)
    queue_capped(pipe, key, cap, seconds)
