"""Environment variable names of the functions' settings, taken from the settings model itself."""

from __future__ import annotations

from aperture.observability import METRICS_NAMESPACE
from aperture.settings import setting_variable


def common_variables(function_name: str, cdn_base: str) -> dict[str, str]:
    """What every function gets, whatever it is granted."""
    return {
        "POWERTOOLS_SERVICE_NAME": function_name,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": "INFO",
        # Which declaration the function's settings check their required values against (aperture.settings).
        setting_variable("function"): function_name,
        setting_variable("cdn_base"): cdn_base,
    }
