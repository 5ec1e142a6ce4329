"""Environment variable names of the functions' settings, taken from the settings model itself."""

from __future__ import annotations

from aperture.observability import METRICS_NAMESPACE
from aperture.settings import Settings


def setting_variable(field: str) -> str:
    """The variable `Settings` reads `field` from (its alias if it has one, else APERTURE_<FIELD>)."""
    try:
        info = Settings.model_fields[field]
    except KeyError:
        # A declared resource without a settings field could never reach the code; fail the synth instead.
        raise KeyError(f"aperture.settings.Settings has no field {field!r}") from None
    if isinstance(info.validation_alias, str):
        return info.validation_alias
    prefix = str(Settings.model_config.get("env_prefix", ""))
    return f"{prefix}{field}".upper()


def common_variables(function_name: str, cdn_base: str) -> dict[str, str]:
    """What every function gets, whatever it is granted."""
    return {
        "POWERTOOLS_SERVICE_NAME": function_name,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": "INFO",
        setting_variable("cdn_base"): cdn_base,
    }
