"""Counting a Redis client's round trips: what the feed and stories benchmarks measure, and their tests bound."""

from __future__ import annotations

from typing import Any


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
