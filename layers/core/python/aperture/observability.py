"""What the platform tells operators: the one Logger every module logs through, and its CloudWatch metrics."""

from __future__ import annotations

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric

# The stacks set POWERTOOLS_METRICS_NAMESPACE to it as well, and the local runtime does the same.
METRICS_NAMESPACE = "Aperture"

logger = Logger(service="aperture")


def count(name: str, function: str) -> None:
    """One occurrence of `name` in `function`, as a CloudWatch metric (an EMF line in the function's log)."""
    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=METRICS_NAMESPACE) as metric:
        metric.add_dimension(name="function", value=function)
