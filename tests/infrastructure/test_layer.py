"""The core layer ships bytecode its runtime loads as is: no module is compiled on a cold start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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
