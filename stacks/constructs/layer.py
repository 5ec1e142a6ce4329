"""The core layer: the aperture package and its pinned third-party dependencies, built for arm64 Lambda."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import cast

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
# What pip must download for: the same interpreter and CPU as RUNTIME and ARCHITECTURE. The python3.12 runtime
# runs on Amazon Linux 2023 (glibc 2.34), so manylinux_2_28 wheels (recent Pillow ships only those) load too.
PIP_TARGET = (
    "--platform",
    "manylinux2014_aarch64",
    "--platform",
    "manylinux_2_28_aarch64",
    "--implementation",
    "cp",
    "--python-version",
    "3.12",
)
_IGNORED = ("__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache")


def runtime_python() -> str | None:
    """An interpreter of RUNTIME's version (APERTURE_LAYER_PYTHON, else python3.12 on PATH), the only one whose
    bytecode the runtime loads; None if there is none that runs (a pyenv shim of an inactive version does not)."""
    found = os.environ.get("APERTURE_LAYER_PYTHON") or shutil.which(RUNTIME.name)
    if not found:
        return None
    wanted = RUNTIME.name.removeprefix("python")
    check = "import sys; print('%d.%d' % sys.version_info[:2])"
    done = subprocess.run([found, "-c", check], capture_output=True, text=True, check=False)  # noqa: S603
    return found if done.returncode == 0 and done.stdout.strip() == wanted else None


def compile_bytecode(site: Path, python: str) -> None:
    """Compile every module under `site` with `python`, as unchecked-hash pycs.

    Lambda's /opt is read-only, so a layer without bytecode for the runtime's Python compiles every module it
    imports from source on every cold start: about twice the import time (docs/benchmarks.md, cold starts).
    Unchecked-hash pycs are used without comparing the sources' timestamps, whatever dates the asset's zip gives them.
    """
    subprocess.run(  # noqa: S603 - fixed argv, no shell
        [
            python,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            str(site),
        ],
        check=True,
    )


@jsii.implements(ILocalBundling)
class PipLayerBundler:
    """Builds the layer on this machine with pip, so neither synth nor deploy needs Docker.

    pip fetches manylinux aarch64 wheels only (`--only-binary=:all:`), never building from source, so the result
    is what Lambda on Graviton imports; then a python3.12, when there is one, compiles it all to bytecode
    (compile_bytecode). pip honours PIP_INDEX_URL / PIP_FIND_LINKS / PIP_NO_INDEX for offline builds from a
    wheelhouse; once built, the layer is cached in cdk.out under its source hash.
    """

    def __init__(self, layer_root: Path) -> None:
        self._package = layer_root / "python" / "aperture"
        self._requirements = layer_root / "requirements.txt"
        # Installed without their dependencies, which the runtime provides (botocore): see the file's header.
        self._without_dependencies = layer_root / "requirements-no-deps.txt"

    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        site = Path(output_dir) / "python"
        shutil.copytree(self._package, site / "aperture", ignore=shutil.ignore_patterns(*_IGNORED))
        for requirements, options_of_file in ((self._requirements, ()), (self._without_dependencies, ("--no-deps",))):
            subprocess.run(  # noqa: S603 - fixed argv, no shell
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--no-compile",  # (pip would compile for this interpreter, whose bytecode the runtime ignores)
                    *PIP_TARGET,
                    "--only-binary=:all:",
                    *options_of_file,
                    "--target",
                    str(site),
                    "--requirement",
                    str(requirements),
                ],
                check=True,
            )
        python = runtime_python()
        if python is None:
            # Still a working layer, only a slower cold start: say so rather than fail a synth that can deploy.
            print(f"warning: no {RUNTIME.name} here; the layer ships without bytecode", file=sys.stderr)
        else:
            compile_bytecode(site, python)
        return True


class CoreLayer(Construct):
    """The layer every function imports `aperture` (and powertools, pydantic, redis, pillow, ...) from."""

    def __init__(self, scope: Construct, construct_id: str, *, layer_root: Path) -> None:
        super().__init__(scope, construct_id)
        code = lambda_.Code.from_asset(
            str(layer_root),
            # The source hash covers the package and the pinned requirements, so an unchanged layer is never
            # rebuilt and a changed pin always is.
            asset_hash_type=AssetHashType.SOURCE,
            exclude=[f"**/{pattern}" for pattern in _IGNORED],
            bundling=BundlingOptions(
                # Required by the API; never pulled, because the local bundler always succeeds or raises.
                image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.12"),
                # jsii calls try_bundle(output_dir, options) positionally, whatever the generated stub declares.
                local=cast(ILocalBundling, PipLayerBundler(layer_root)),
            ),
        )
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=code,
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="aperture domain package and its pinned dependencies",
        )
