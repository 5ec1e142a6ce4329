"""cfn-lint finds no errors in any synthesized template."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file

from tests.infrastructure.conftest import Synthesized

# One synthesis per session: under xdist, every infrastructure test runs on the same worker.
pytestmark = pytest.mark.xdist_group("cdk")


# The stacks are environment-agnostic; lint them against a region with every service we use and one without
# us-east-1's special cases.
REGIONS = ["us-east-1", "eu-west-1"]


def test_every_stack_is_synthesized(synthesized: Synthesized) -> None:
    assert [p.name for p in synthesized.template_paths()] == [
        "Aperture-Edge.template.json",
        "Aperture-Service.template.json",
        "Aperture-Stateful.template.json",
        "Aperture-Web.template.json",
        # The alarms and dashboard, nested in the service stack (stacks.constructs.monitoring)
        synthesized.service.monitoring.template_file,
    ]


@pytest.mark.parametrize(
    "name", ["Aperture-Edge", "Aperture-Service", "Aperture-Stateful", "Aperture-Web", "service monitoring"]
)
def test_cfn_lint_reports_no_errors(synthesized: Synthesized, name: str) -> None:
    nested = synthesized.service.monitoring.template_file
    template: Path = synthesized.outdir / (nested if name == "service monitoring" else f"{name}.template.json")
    matches = lint_file(template, config=ManualArgs(regions=REGIONS))
    errors = [f"{m.rule.id} {m.message} ({m.linenumber})" for m in matches if m.rule.severity == "error"]
    assert errors == []
