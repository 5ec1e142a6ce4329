"""The process's Redis client and what every store shares: batched reads, batched writes, capped sorted sets."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, Generic, TypeVar

from aperture.observability import traced
from aperture.settings import MissingSettingError, get_settings, setting_variable

T = TypeVar("T")


@lru_cache(maxsize=1)
def redis_client() -> Any:
    """The process's Redis client: a cluster client when configured, else a plain one.

    The layer never starts a server: `python -m local` starts one and sets REDIS_URL (local/redis_server.py)."""
    import redis  # on first use: the functions outside the VPC never load it

    settings = get_settings()
    url = settings.redis_url
    if not url:
        variable = setting_variable("redis_url")
        raise MissingSettingError(f"{variable} is not set, and this needs Redis (python -m local starts one)")
    if settings.redis_cluster:
        return instrumented(redis.RedisCluster.from_url(url, decode_responses=True))
    return instrumented(redis.Redis.from_url(url, decode_responses=True, health_check_interval=30))


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


class PipelineBatch:
    """Reads from several stores queued into one pipeline: one round trip for all of them."""

    def __init__(self, client: Any) -> None:
        self.pipe = client.pipeline(transaction=False)
        self._parsers: list[tuple[int, Callable[[list[Any]], Any], Slot[Any]]] = []

    def queue(self, commands: Callable[[Any], int], parse: Callable[[list[Any]], T]) -> Slot[T]:
        slot: Slot[T] = Slot()
        self._parsers.append((commands(self.pipe), parse, slot))
        return slot

    def execute(self) -> None:
        if not self._parsers:
            return
        replies = self.pipe.execute()
        offset = 0
        for count, parse, slot in self._parsers:
            slot.fill(parse(replies[offset : offset + count]))
            offset += count


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
