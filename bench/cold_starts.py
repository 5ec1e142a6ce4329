"""Cold starts: each function's import time in fresh processes and its package size, against a baseline import.

Lambda's cold start runs the handler module's imports (the layer's `aperture` package and the function's
`handler.py`) before the first event. This measures exactly that, the way Lambda does it: a fresh interpreter per
run, `import functions.<name>.handler`, timed from inside the process (the interpreter's own start is the same for
every function and not ours to cut). Each figure is the minimum over several processes, in CPU milliseconds of the
importing process, which a busy machine disturbs far less than wall time (both are printed).

The baseline is a fixed set of standard-library imports timed the same way in the same run; each function's
ratio to it is what tests/unit/test_cold_starts.py bounds, so the budget holds on a slower or faster machine.

    python -m bench.cold_starts                  # every function, 5 processes each
    python -m bench.cold_starts --runs 9 feed    # some functions
    python -m bench.cold_starts --source-only    # as the layer shipped before its bytecode was compiled for 3.12
    python -m bench.cold_starts --layer DIR      # package sizes from a built layer (cdk.out/asset.*/python)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from aperture.resources import FUNCTIONS

ROOT = Path(__file__).resolve().parents[1]
LAYER_ROOT = ROOT / "layers/core"

# What the baseline imports: standard-library packages of the kind a handler's dependencies load (an event loop,
# HTTP, e-mail parsing, XML, decimals, logging handlers), none of which the interpreter loads by itself at start.
BASELINE_MODULES = (
    "asyncio",
    "email.mime.multipart",
    "http.client",
    "decimal",
    "unittest",
    "xml.etree.ElementTree",
    "argparse",
    "logging.handlers",
    "urllib.request",
    "concurrent.futures",
    "sqlite3",
    "csv",
    "zipfile",
    "tarfile",
    "pydoc",
)

# The targets on the reference machine (docs/benchmarks.md, "Cold starts"): an API or event function
# imports in at most 300 ms; media_process, which loads Pillow and its codecs, in at most 1 s.
BUDGET_MS = 300.0
MEDIA_BUDGET_MS = 1000.0
MEDIA_FUNCTIONS = frozenset({"media_process"})
# The baseline's CPU time on the reference machine (min of 5 processes, docs/benchmarks.md): each budget above,
# divided by it, is the ratio a function may take on any machine.
REFERENCE_BASELINE_MS = 80.0

# Run in each fresh process. `--source-only` makes every import outside the standard library compile from source,
# as on Lambda when the layer carries no bytecode for its Python (the runtime's /opt is read-only, so nothing is
# cached between cold starts either): the loader is told the source's stats are unreadable, which makes it skip
# the cached bytecode (importlib's SourceLoader.get_code) and write none.
_CHILD = """
import importlib, sys, sysconfig, time
modules, source_only = sys.argv[1].split(","), sys.argv[2] == "1"
if source_only:
    from importlib import _bootstrap_external as external
    stdlib, stats = sysconfig.get_paths()["stdlib"], external.SourceFileLoader.path_stats
    def path_stats(self, path):
        if not path.startswith(stdlib):
            raise OSError(path)
        return stats(self, path)
    external.SourceFileLoader.path_stats = path_stats
    sys.dont_write_bytecode = True
cpu, wall = time.process_time(), time.perf_counter()
for module in modules:
    importlib.import_module(module)
cpu, wall = (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000
heavy = sorted(name for name in sys.argv[3].split(",") if name in sys.modules)
print(cpu, wall, ",".join(heavy) or "-")
"""

# Run in a fresh process: the handler's import, then the first build of every port its handler asks wiring for
# (boto3 and its clients, the Redis client, the services), which is what its first event pays before any network
# call. Client construction does not connect, so a dummy Redis URL does.
_READY_CHILD = """
import importlib, re, sys, time
cpu = time.process_time()
handler = importlib.import_module(sys.argv[1])
from aperture import wiring
for factory in sorted(set(re.findall(r"wiring[.](\\w+)[(]", open(handler.__file__).read()))):
    getattr(wiring, factory)()
print((time.process_time() - cpu) * 1000)
"""

# Four clients from one Session, against one Session per client (what adapters/aws.py avoids).
_CLIENTS_CHILD = """
import sys, time
cpu = time.process_time()
import boto3
shared = boto3.session.Session()
for service in ("dynamodb", "s3", "kinesis", "sqs"):
    (shared if sys.argv[1] == "1" else boto3.session.Session()).client(service, region_name="eu-west-1")
print((time.process_time() - cpu) * 1000)
"""

# The libraries worth knowing whether an import loaded: each costs tens of milliseconds or more, and most
# functions need none of them before their first event.
HEAVY = ("boto3", "redis", "jwt", "cryptography", "numpy", "faiss", "PIL", "pillow_heif", "opensearchpy")


@dataclass(frozen=True)
class Cost:
    """The fastest of several fresh processes: CPU and wall milliseconds of the imports alone, and which of the
    HEAVY libraries they loaded."""

    cpu_ms: float
    wall_ms: float
    loaded: frozenset[str]


def budget_ms(function: str) -> float:
    return MEDIA_BUDGET_MS if function in MEDIA_FUNCTIONS else BUDGET_MS


def budget_ratio(function: str) -> float:
    """How many baselines a function's import may take: its budget on the reference machine, as a ratio."""
    return budget_ms(function) / REFERENCE_BASELINE_MS


def handler_module(function: str) -> str:
    return f"functions.{function}.handler"


def _environment() -> dict[str, str]:
    paths = [str(LAYER_ROOT / "python"), str(ROOT)]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def import_once(modules: Sequence[str], *, source_only: bool = False) -> Cost:
    """Importing `modules` in one fresh interpreter."""
    argv = [sys.executable, "-c", _CHILD, ",".join(modules), "1" if source_only else "0", ",".join(HEAVY)]
    done = subprocess.run(argv, env=_environment(), cwd=ROOT, capture_output=True, text=True, check=True)
    cpu, wall, loaded = done.stdout.split()
    return Cost(float(cpu), float(wall), frozenset(loaded.split(",")) - {"-"})


def fastest(costs: Sequence[Cost]) -> Cost:
    return Cost(min(c.cpu_ms for c in costs), min(c.wall_ms for c in costs), costs[0].loaded)


def import_cost(modules: Sequence[str], runs: int, *, source_only: bool = False) -> Cost:
    """The min over `runs` fresh interpreters of importing `modules`, after one unmeasured run that caches bytecode."""
    import_once(modules, source_only=source_only)
    return fastest([import_once(modules, source_only=source_only) for _ in range(runs)])


def _child_ms(code: str, argument: str, runs: int, env: dict[str, str] | None = None) -> float:
    argv = [sys.executable, "-c", code, argument]
    environment = {**_environment(), **(env or {})}
    samples = []
    for _ in range(runs + 1):
        done = subprocess.run(argv, env=environment, cwd=ROOT, capture_output=True, text=True, check=True)
        samples.append(float(done.stdout.split()[-1]))
    return min(samples[1:])


def ready_ms(function: str, runs: int) -> float:
    """Import plus the first build of the ports its handler uses: the cold start's CPU before any network call."""
    return _child_ms(_READY_CHILD, handler_module(function), runs, {"REDIS_URL": "redis://127.0.0.1:1"})


def clients_ms(*, shared: bool, runs: int) -> float:
    """boto3's import and four clients, from one Session or from a Session each."""
    return _child_ms(_CLIENTS_CHILD, "1" if shared else "0", runs)


def baseline_cost(runs: int) -> Cost:
    # With bytecode always: the runtime's standard library carries its own on Lambda too.
    return import_cost(BASELINE_MODULES, runs)


def function_cost(function: str, runs: int, *, source_only: bool = False) -> Cost:
    return import_cost([handler_module(function)], runs, source_only=source_only)


def _tree_bytes(root: Path, *, bytecode: bool = False) -> int:
    """Bytes under `root`; bytecode caches count only in a built layer (the sources' caches are never shipped)."""
    return sum(
        path.stat().st_size
        for path in root.rglob("*")
        if path.is_file() and (bytecode or ("__pycache__" not in path.parts and path.suffix != ".pyc"))
    )


# Distributions the Lambda runtime provides, which the layer therefore leaves out.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath"})


def _requirements(path: Path) -> list[Requirement]:
    lines = (line.split("#", 1)[0] for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line.strip()]


def _installed_layer_bytes() -> int:
    """The layer's third-party distributions, and theirs, as installed here (their RECORDs, bytecode left out);
    those of requirements-no-deps.txt without theirs, as the layer's build installs them."""
    pending = _requirements(LAYER_ROOT / "requirements.txt")
    alone = {canonicalize_name(r.name) for r in _requirements(LAYER_ROOT / "requirements-no-deps.txt")}
    pending += [Requirement(name) for name in sorted(alone)]
    seen: set[str] = set()
    total = 0
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in seen or name in RUNTIME_PROVIDED:
            continue
        seen.add(name)
        dist = distribution(name)
        for file in dist.files or ():
            located = Path(str(dist.locate_file(file)))
            if "__pycache__" not in file.parts and file.suffix != ".pyc" and located.is_file():
                total += located.stat().st_size
        for needed in map(Requirement, () if name in alone else dist.requires or ()):
            extras = [{"extra": extra} for extra in requirement.extras] or [{"extra": ""}]
            if needed.marker is None or any(needed.marker.evaluate(e) for e in extras):
                pending.append(needed)
    return total + _tree_bytes(LAYER_ROOT / "python")


def layer_mb(built: Path | None) -> float:
    """The layer every function ships with: a built one when given, else the same distributions as installed here."""
    return (_tree_bytes(built, bytecode=True) if built else _installed_layer_bytes()) / 2**20


def function_mb(function: str) -> float:
    return _tree_bytes(ROOT / "functions" / function) / 2**20


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("functions", nargs="*", help="function names (default: every function)")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per figure (the minimum counts)")
    parser.add_argument("--source-only", action="store_true", help="no bytecode outside the standard library")
    parser.add_argument("--layer", type=Path, help="a built layer directory, for its size")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--ready", action="store_true", help="also time import + first build of the handler's ports")
    args = parser.parse_args(argv)
    names = args.functions or [f.name for f in FUNCTIONS]

    base = baseline_cost(args.runs)
    layer = layer_mb(args.layer)
    mode = "source only, as a layer without 3.12 bytecode" if args.source_only else "bytecode cached"
    print(f"baseline (stdlib set): {base.cpu_ms:.0f} ms CPU, {base.wall_ms:.0f} ms wall; {mode}; min of {args.runs}")
    print(f"layer: {layer:.1f} MB unzipped{' (' + str(args.layer) + ')' if args.layer else ' (as installed here)'}")
    header = (
        f"{'function':<16} {'import ms':>9} {'wall ms':>8} {'x base':>7} {'budget x':>8} {'ready ms':>8} {'pkg MB':>7}"
        "  verdict  heavy libraries loaded"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for name in names:
        cost = function_cost(name, args.runs, source_only=args.source_only)
        ratio = cost.cpu_ms / base.cpu_ms
        package = function_mb(name) + layer
        ready = ready_ms(name, args.runs) if args.ready else float("nan")
        verdict = "ok" if ratio <= budget_ratio(name) else "OVER"
        print(
            f"{name:<16} {cost.cpu_ms:>9.0f} {cost.wall_ms:>8.0f} {ratio:>7.2f} {budget_ratio(name):>8.2f}"
            f" {ready:>8.0f} {package:>7.1f}  {verdict:<7}  {', '.join(sorted(cost.loaded)) or '-'}"
        )
        rows.append(
            {
                "function": name,
                "cpu_ms": cost.cpu_ms,
                "wall_ms": cost.wall_ms,
                "ratio": ratio,
                "mb": package,
                "ready_ms": ready,
                "loaded": sorted(cost.loaded),
            }
        )
    if args.ready:
        one, each = clients_ms(shared=True, runs=args.runs), clients_ms(shared=False, runs=args.runs)
        print(f"boto3 + 4 clients: {one:.0f} ms CPU from one Session, {each:.0f} ms with a Session each")
    if args.json:
        args.json.write_text(json.dumps({"baseline_cpu_ms": base.cpu_ms, "functions": rows}, indent=2))


if __name__ == "__main__":
    main()
