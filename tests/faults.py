"""Fault injection for the fault matrix (docs/reliability.md): a port whose chosen method does its real work and
then fails, as a process would that dies right after a step."""

from __future__ import annotations

import json
from typing import Any


class InjectedFaultError(RuntimeError):
    """The failure a test injected (never raised by the platform itself)."""


class FailAfter:
    """Wraps a port: the first `times` calls of `method` do their real work, then raise InjectedFaultError; the rest
    pass through. Every other attribute is the port's own."""

    def __init__(self, port: Any, method: str, times: int = 1) -> None:
        self._port = port
        self._method = method
        self.remaining = times
        self.calls = 0
        self.arguments: list[tuple[Any, ...]] = []  # each call's positional arguments

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._port, name)
        if name != self._method:
            return attribute

        def failing(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            self.arguments.append(args)
            result = attribute(*args, **kwargs)
            if self.remaining > 0:
                self.remaining -= 1
                raise InjectedFaultError(f"{type(self._port).__name__}.{name} failed after doing its work")
            return result

        return failing


class Broken:
    """Wraps a port: the first `times` calls of `method` raise `error` without doing anything (a service that is
    down), the rest pass through. Composes with FailAfter: Broken(FailAfter(port, m), m) fails before, then after."""

    def __init__(self, port: Any, method: str, error: Exception, times: int = 1) -> None:
        self._port = port
        self._method = method
        self._error = error
        self.remaining = times

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._port, name)
        if name != self._method:
            return attribute

        def broken(*args: Any, **kwargs: Any) -> Any:
            if self.remaining > 0:
                self.remaining -= 1
                raise self._error
            return attribute(*args, **kwargs)

        return broken


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data


class Throttled:
    """A botocore client whose `operation` is refused as DynamoDB refuses over-capacity work
    (ProvisionedThroughputExceededException, HTTP 400) on the next `times` attempts, retries included; every
    backoff the client would sleep is recorded instead of slept. Use as a context manager."""

    CODE = "ProvisionedThroughputExceededException"

    def __init__(self, client: Any, operation: str, times: int = 10_000, code: str = CODE, **fields: Any) -> None:
        self._client = client
        self._code = code
        self._fields = fields  # more of the error body (a transaction's CancellationReasons)
        self._event = f"before-send.{client.meta.service_model.endpoint_prefix}.{operation}"
        self.remaining = times
        self.refused = 0
        self.backoffs: list[float] = []

    def _refuse(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        if self.remaining <= 0:
            return None
        self.remaining -= 1
        self.refused += 1
        error = {"__type": f"com.amazonaws.dynamodb.v20120810#{self._code}", "message": "Over the limit"}
        body = json.dumps({**error, **self._fields})
        headers = {"x-amzn-ErrorType": self._code, "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 400, headers, _Body(body.encode()))

    def __enter__(self) -> Throttled:
        import types

        import botocore.endpoint

        # botocore sleeps between attempts through its module's `time`: that module alone gets a recording clock
        self._time = botocore.endpoint.time
        botocore.endpoint.time = types.SimpleNamespace(sleep=self.backoffs.append)
        self._client.meta.events.register(self._event, self._refuse)
        return self

    def __exit__(self, *_: object) -> None:
        import botocore.endpoint

        self._client.meta.events.unregister(self._event, self._refuse)
        botocore.endpoint.time = self._time
