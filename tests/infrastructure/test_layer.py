"""The core layer ships bytecode its runtime loads as is (no module is compiled on a cold start), and no copy of the
runtime's own botocore."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest
from aws_cdk import BundlingOptions

from stacks.constructs import layer
from stacks.constructs.layer import RUNTIME, compile_bytecode, runtime_python


def test_compiled_modules_run_without_their_sources_being_compiled_again(tmp_path: Path) -> None:
    # Given a layer's package compiled by the bundler's step (here with this interpreter, on Lambda's with 3.12)
    site = tmp_path / "python"
    (site / "shipped").mkdir(parents=True)
    (site / "shipped" / "__init__.py").write_text("")
    (site / "shipped" / "answer.py").write_text("VALUE = 'compiled'\n")
    compile_bytecode(site, sys.executable)

    # When the source then looks different (as an unzipped asset's file dates may) and a fresh process imports it
    (site / "shipped" / "answer.py").write_text("VALUE = 'source'\n")
    code = "import shipped.answer as a; print(a.VALUE)"
    done = subprocess.run(
        [sys.executable, "-c", code], env={"PYTHONPATH": str(site)}, capture_output=True, text=True, check=True
    )

    # Then the shipped bytecode is what runs, used as it is
    assert done.stdout.split() == ["compiled"]


def test_the_bundler_compiles_only_with_an_interpreter_of_the_runtime_version(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given this test's interpreter named as the one to compile with
    monkeypatch.setenv("APERTURE_LAYER_PYTHON", sys.executable)

    # When the bundler looks for the runtime's Python
    found = runtime_python()

    # Then it takes it only if it is the runtime's version (Lambda ignores bytecode of any other)
    same_version = RUNTIME.name == f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert (found == sys.executable) is same_version
    assert found is None or same_version


def test_the_xray_sdk_goes_into_the_layer_without_the_botocore_the_runtime_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given pip's runs recorded rather than made (no download), and no 3.12 to compile with
    layer_root = Path(__file__).resolve().parents[2] / "layers/core"
    runs: list[list[str]] = []

    def run(argv: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        runs.append(argv)
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setattr(layer, "runtime_python", lambda: None)
    # When the bundler builds the layer
    assert layer.PipLayerBundler(layer_root).try_bundle(str(tmp_path), cast(BundlingOptions, None))
    # Then the pinned requirements go in with their dependencies, and the X-Ray SDK without its own: the runtime's
    # botocore serves it (a copy in the layer would shadow the runtime's, out of step with its boto3)
    installs = {argv[argv.index("--requirement") + 1]: argv for argv in runs if "install" in argv}
    with_deps, alone = (
        installs[str(layer_root / "requirements.txt")],
        installs[str(layer_root / "requirements-no-deps.txt")],
    )
    assert "--no-deps" not in with_deps and "--no-deps" in alone
    assert "aws-xray-sdk==" in (layer_root / "requirements-no-deps.txt").read_text()
    pinned = (layer_root / "requirements.txt").read_text() + (layer_root / "requirements-no-deps.txt").read_text()
    assert "botocore" not in {line.split("=")[0] for line in pinned.splitlines()}
