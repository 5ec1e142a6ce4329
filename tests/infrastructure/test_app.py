"""`python app.py` itself: synthesizes offline, without AWS credentials, with cdk-nag as a validation plugin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# One synthesis per session: under xdist, every infrastructure test runs on the same worker.
pytestmark = pytest.mark.xdist_group("cdk")


ROOT = Path(__file__).resolve().parents[2]


def test_app_synthesizes_without_credentials_and_passes_cdk_nag(tmp_path: Path) -> None:
    # Given no AWS credentials, account or region in the environment, and no bundling (no network)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_DEFAULT_"))}
    env |= {
        "CDK_OUTDIR": str(tmp_path),
        "CDK_CONTEXT_JSON": json.dumps({"aws:cdk:bundling-stacks": []}),
        "AWS_EC2_METADATA_DISABLED": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    # When the app runs as `cdk synth` runs it
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    # Then it succeeds (cdk-nag would fail it on any unacknowledged finding) with environment-agnostic stacks
    assert result.returncode == 0, result.stderr[-4000:]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    stacks = {k: v for k, v in manifest["artifacts"].items() if v["type"] == "aws:cloudformation:stack"}
    assert sorted(stacks) == ["Aperture-Edge", "Aperture-Service", "Aperture-Stateful", "Aperture-Web"]
    assert {s["environment"] for s in stacks.values()} == {"aws://unknown-account/unknown-region"}


def test_cdk_json_runs_the_app_with_the_project_venv_and_holds_no_flags() -> None:
    config = json.loads((ROOT / "cdk.json").read_text())
    assert config["app"] == ".venv/bin/python app.py"
    # Feature flags live in app.py, so `python app.py`, `cdk synth` and the tests build the same templates.
    assert config.get("context", {}) == {}
