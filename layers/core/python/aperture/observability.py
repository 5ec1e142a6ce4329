"""What the platform tells operators: the one Logger every module logs through (each line with the correlation id of
the request it serves), the business metrics, and the X-Ray tracer.

A correlation id follows one request through everything it causes. An API request's is API Gateway's request id
(what the `apigw-requestid` response header says); every event and job made while serving it carries it
(aperture.models.events), and a consumer handles each record under the id the record carries
(aperture.consumers), so the events it makes in turn keep it. A run with nothing to follow (a schedule, an
upload's processing, an event from before correlation ids) uses its own id.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.jmespath_utils import query

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

# The stacks set POWERTOOLS_METRICS_NAMESPACE to it as well, and the local runtime does the same.
METRICS_NAMESPACE = "Aperture"

logger = Logger(service="aperture")

# Per thread (a context variable), not on the Logger's shared keys: the local runtime runs several functions'
# handlers at once in one process, where a Lambda instance runs one at a time.
_correlation: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def correlation_id() -> str | None:
    """The correlation id of the request (or record, or run) being handled here; None outside any handler."""
    return _correlation.get()


@contextmanager
def correlated(value: str | None) -> Iterator[None]:
    """Handle what runs inside under the correlation id `value`: the Logger's lines and the events made carry it."""
    token = _correlation.set(value)
    logger.thread_safe_append_keys(correlation_id=value)
    try:
        yield
    finally:
        _correlation.reset(token)
        logger.thread_safe_append_keys(correlation_id=_correlation.get())  # (None: the key is left out)


class _Carrier(Protocol):
    @property
    def correlation_id(self) -> str | None: ...


def correlation_ids(handled: Iterable[_Carrier]) -> list[str]:
    """The distinct correlation ids of what a consumer handled in one pass (a whole batch of events), for its one
    log line."""
    return sorted({found for item in handled if (found := item.correlation_id)})


def _running_function() -> str:
    from aperture.settings import get_settings

    return get_settings().function or "local"


def measure(
    name: str, value: float, unit: MetricUnit = MetricUnit.Count, *, function: str | None = None, **dimensions: str
) -> None:
    """One business event as a CloudWatch metric: an EMF line in the function's log (stdout, locally too).

    Dimensions are the function (the running one unless named; Powertools adds `service`, which the stacks set to
    the same name) and `dimensions`, each of a handful of values at most; the correlation id rides along as a
    property, so the line can be found among the request's logs without being a dimension."""
    with single_metric(name=name, unit=unit, value=value, namespace=METRICS_NAMESPACE) as metric:
        metric.add_dimension(name="function", value=function or _running_function())
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=dimension)
        if (current := correlation_id()) is not None:
            metric.add_metadata(key="correlation_id", value=current)


def count(name: str, function: str | None = None, **dimensions: str) -> None:
    """One occurrence of `name` (in `function`, the running one unless named), as a CloudWatch metric."""
    measure(name, 1, MetricUnit.Count, function=function, **dimensions)


@contextmanager
def timed(name: str) -> Iterator[None]:
    """How long the block took, in milliseconds, as the metric `name` (also when it raises)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        measure(name, round((time.perf_counter() - started) * 1000, 3), MetricUnit.Milliseconds)


@functools.cache
def tracer() -> Tracer:
    """The process's X-Ray tracer, built with the first event rather than at import: building it loads the X-Ray
    SDK, whose recorder makes its own botocore clients (about 0.3 s of CPU, docs/benchmarks.md, cold starts).

    botocore is patched, so every AWS call is a subsegment; Redis round trips are traced where the client is made
    (aperture.adapters.redis_store.client) and OpenSearch's HTTP calls where its client is. Off where no X-Ray
    daemon listens: POWERTOOLS_TRACE_DISABLED (the local runtime and the tests set it), or anywhere outside Lambda.
    """
    from aws_lambda_powertools import Tracer

    return Tracer(patch_modules=("botocore",))


@contextmanager
def traced(name: str, **metadata: Any) -> Iterator[None]:
    """The block as an X-Ray subsegment (a no-op one while tracing is off), with `metadata` on it."""
    with tracer().provider.in_subsegment(name=name) as subsegment:
        for key, value in metadata.items():
            subsegment.put_metadata(key=key, value=value)
        yield


def trace_calls_of(library: str) -> None:
    """Trace every call made through `library` (one the X-Ray SDK can patch, e.g. "requests"), from now on."""
    tracer().patch(modules=(library,))


H = TypeVar("H", bound=Callable[..., Any])


def observed(handler: H) -> H:
    """Every function's `lambda_handler` decorator: the Lambda context on every log line, the correlation id of the
    request (API Gateway's request id) or else of the invocation, and an X-Ray subsegment for the handler (its
    response is left out of the trace: it may hold tokens) annotated with the correlation id."""

    def annotated(event: Any, context: Any) -> Any:
        if (current := correlation_id()) is not None:
            tracer().put_annotation(key="correlation_id", value=current)
        return handler(event, context)

    @functools.cache
    def traced_handler() -> Callable[[Any, Any], Any]:
        wrapped = functools.wraps(handler)(annotated)
        return cast(Callable[[Any, Any], Any], tracer().capture_lambda_handler(wrapped, capture_response=False))

    @functools.wraps(handler)
    def run(event: Any, context: Any) -> Any:
        request_id = query(data=event, envelope=correlation_paths.API_GATEWAY_HTTP) if isinstance(event, dict) else None
        with correlated(str(request_id) if request_id else context.aws_request_id):
            try:
                return traced_handler()(event, context)
            except Exception:
                logger.exception("invocation failed")  # (Lambda's own report of it has no correlation id)
                raise

    return cast(H, logger.inject_lambda_context(run))
