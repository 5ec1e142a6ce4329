"""Counting a Redis client's round trips: what the feed and stories benchmarks measure, and their tests bound."""

from __future__ import annotations

from typing import Any


def _name(command: Any) -> str:
    args = getattr(command, "args", None) or command[0]  # (a cluster pipeline's command, or a plain one's tuple)
    name = args[0]
    return (name.decode() if isinstance(name, bytes) else str(name)).upper()


class RoundTrips:
    """Counts a Redis client's round trips: each command sent alone, and each pipeline executed, is one; `trips`
    names the commands of each."""

    def __init__(self, client: Any) -> None:
        self.count = 0
        self.trips: list[frozenset[str]] = []
        send, make_pipeline = client.execute_command, client.pipeline

        def execute_command(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            self.trips.append(frozenset({str(args[0]).upper()}))
            return send(*args, **kwargs)

        def pipeline(*args: Any, **kwargs: Any) -> Any:
            pipe = make_pipeline(*args, **kwargs)
            run = pipe.execute

            def execute(*a: Any, **k: Any) -> Any:
                # (a cluster pipeline keeps its commands in its execution strategy, in redis-py 6 and later)
                strategy = getattr(pipe, "_execution_strategy", None)
                queued = getattr(strategy, "command_queue", None) if strategy is not None else None
                commands = queued if queued is not None else pipe.command_stack
                if commands:  # (an empty pipeline sends nothing)
                    self.count += 1
                    self.trips.append(frozenset(_name(command) for command in commands))
                return run(*a, **k)

            pipe.execute = execute
            return pipe

        client.execute_command, client.pipeline = execute_command, pipeline

    def besides(self, *commands: str) -> int:
        """Round trips other than those made only of `commands` (e.g. the activity log's XADD appends)."""
        return sum(1 for trip in self.trips if not trip <= set(commands))
