"""Fault injection for the fault matrix (docs/reliability.md): a port whose chosen method does its real work and
then fails, as a process would that dies right after a step."""

from __future__ import annotations

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

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._port, name)
        if name != self._method:
            return attribute

        def failing(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            result = attribute(*args, **kwargs)
            if self.remaining > 0:
                self.remaining -= 1
                raise InjectedFaultError(f"{type(self._port).__name__}.{name} failed after doing its work")
            return result

        return failing


class Counting:
    """Wraps a port and counts the calls of one method (pushes sent, say)."""

    def __init__(self, port: Any, method: str) -> None:
        self._port = port
        self._method = method
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._port, name)
        if name != self._method:
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return attribute(*args, **kwargs)

        return counted


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
