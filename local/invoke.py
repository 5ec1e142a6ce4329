"""Calls a function's `lambda_handler` in this process, as the Lambda runtime would."""

from __future__ import annotations

import contextvars
import importlib
import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aperture.resources import FUNCTIONS, function
from aperture.routes import ROUTES

LOCAL_ACCOUNT = "123456789012"
FUNCTION_NAME_PREFIX = "aperture-"


def function_arn(name: str, region: str = "us-east-1") -> str:
    """The ARN a declared function has locally (its context's invoked_function_arn)."""
    return f"arn:aws:lambda:{region}:{LOCAL_ACCOUNT}:function:{FUNCTION_NAME_PREFIX}{name}"


def declared_name(arn: str) -> str | None:
    """The declared function a local ARN names, or None if it names none."""
    name = arn.split(":")[6] if arn.count(":") >= 6 else ""
    declared = name.removeprefix(FUNCTION_NAME_PREFIX)
    return declared if name.startswith(FUNCTION_NAME_PREFIX) and any(f.name == declared for f in FUNCTIONS) else None


@dataclass
class LocalContext:
    """The parts of the Lambda context object our handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return function_arn(self.function_name.removeprefix(FUNCTION_NAME_PREFIX))

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


# A Lambda instance handles one event at a time, and the handlers' module-level resolvers rely on that.
_instance_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
# Powertools keeps the request being resolved on a class (BaseRouter.current_event), shared by every resolver of a
# process: on Lambda a process is one function's instance, but here every function shares one. So the functions
# behind HTTP routes take turns, or one request would read another's caller (another user, or no user at all).
_RESOLVING = threading.RLock()
_SERVES_ROUTES = frozenset(route.function for route in ROUTES)


# Which function this thread is running, for tests that check each call a function makes against its grants.
running: contextvars.ContextVar[str | None] = contextvars.ContextVar("running", default=None)


def invoke(name: str, event: dict[str, Any]) -> Any:
    """Run functions/<name>/handler.py's lambda_handler on an event and return what it returns."""
    module = importlib.import_module(f"functions.{name}.handler")
    context = LocalContext(function_name=f"{FUNCTION_NAME_PREFIX}{name}", memory_limit_in_mb=function(name).memory_mb)
    with _RESOLVING if name in _SERVES_ROUTES else _instance_locks[name]:
        token = running.set(name)
        try:
            return module.lambda_handler(event, context)
        finally:
            running.reset(token)
