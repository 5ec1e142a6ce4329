"""checkov over the synthesized templates: every finding is fixed or waived with its reason (stacks.constructs.posture).

checkov runs from its own virtualenv (`make checkov` builds it from requirements-checkov.txt): its pins clash with
the CDK app's, and it reads only the templates.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stacks.constructs.posture import WAIVERS
from tests.infrastructure.conftest import Synthesized, logical_id

pytestmark = pytest.mark.xdist_group("cdk")

CHECKOV = Path(os.environ.get("APERTURE_CHECKOV", Path(__file__).parents[2] / ".venv-checkov" / "bin" / "checkov"))


@pytest.fixture(scope="module")
def report(synthesized: Synthesized) -> list[dict[str, Any]]:
    assert CHECKOV.exists(), f"checkov is not installed at {CHECKOV}: run `make checkov`"
    files = [arg for path in synthesized.template_paths() for arg in ("--file", str(path))]
    done = subprocess.run(
        [str(CHECKOV), *files, "--framework", "cloudformation", "--output", "json", "--compact"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode in {0, 1}, done.stderr[-2000:]  # 1 means findings, read below
    parsed = json.loads(done.stdout)
    reports: list[dict[str, Any]] = parsed if isinstance(parsed, list) else [parsed]
    return reports


def _checks(report: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [check for part in report for check in part["results"][kind]]


def test_every_finding_is_fixed_or_waived_with_a_reason(report: list[dict[str, Any]]) -> None:
    failed = _checks(report, "failed_checks")
    unexplained = sorted(f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in failed)
    assert unexplained == []
    assert _checks(report, "passed_checks"), "checkov checked nothing"


def test_every_waiver_carries_its_reason_and_covers_something(report: list[dict[str, Any]]) -> None:
    skipped = _checks(report, "skipped_checks")
    reasons = {c["check_result"]["suppress_comment"] for c in skipped}
    assert all(len(reason) > 40 for reason in reasons)
    # Each waiver of stacks.constructs.posture covers at least one resource, under its own reason
    assert {waiver.reason for waiver in WAIVERS} <= reasons


def test_the_media_bucket_passes_versioning_rather_than_being_waived(
    synthesized: Synthesized, report: list[dict[str, Any]]
) -> None:
    media = f"AWS::S3::Bucket.{logical_id(synthesized.stateful.media.bucket)}"
    assert ("CKV_AWS_21", media) in {(c["check_id"], c["resource"]) for c in _checks(report, "passed_checks")}
