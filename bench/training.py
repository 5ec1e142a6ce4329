"""Ranking loop, training: aperture.ranking.fit (numpy Newton) against scikit-learn's LogisticRegression on the same
synthetic impressions: held-out AUC, train time and peak memory, each solver in a fresh process.

    PYTHONPATH=layers/core/python:. python -m bench.training [--rows 10000000]
    PYTHONPATH=layers/core/python:. python -m bench.training --job 1000000    # the whole job, below

`--job N`: the whole `ranking_train` run (aperture.training.RankingTraining: reading the gzipped JSON lines,
labelling, building the columns, training, scoring the held-out day, the gate) over N logged feed impressions on
four days (three trained on, one held out) and their engagements, in a bucket held in memory (the objects as the
flush job writes them, 50,000 records each), so what is timed is the job's own work, not moto's: its time, the
solver's share, and its peak memory beyond the generated objects.

The examples are impressions as the job holds them (a float64 matrix of 6 logged features, int8 labels), with
about 3% positives from a hidden logistic rule; the last fifth of the rows is held out. Both minimise the same
objective: mean log loss plus l2 / 2 times the squared weights (sklearn's C = 1 / (l2 * rows)).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

L2 = 1e-5
TRUE_WEIGHTS = (2.0, 1.5, 0.0, -1.0, 0.5, 0.0)
BIAS = -5.0


def examples(rows: int, seed: int = 7) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    matrix = rng.random((rows, len(TRUE_WEIGHTS)))
    matrix[:, 1] *= 2.0
    logits = matrix @ np.array(TRUE_WEIGHTS) + BIAS
    labels = (rng.random(rows) < 1 / (1 + np.exp(-logits))).astype(np.int8)
    return matrix, labels


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def _reset_peak() -> None:
    """Linux: the peak RSS (VmHWM) starts again from the current RSS, so the data's temporaries do not count."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def _peak_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def run_one(solver: str, rows: int) -> dict[str, float]:
    """In this process: build the data, fit with `solver`, and measure (peak RSS beyond the data's, in MB)."""
    from aperture.learning import auc
    from aperture.ranking import fit

    matrix, labels = examples(rows)
    split = rows * 4 // 5
    train_x, train_y, test_x, test_y = matrix[:split], labels[:split], matrix[split:], labels[split:]
    before = _rss_mb()
    _reset_peak()
    started = time.perf_counter()
    if solver == "numpy":
        names = [f"f{i}" for i in range(matrix.shape[1])]
        model = fit(train_x, train_y, names)
        scores = test_x @ [model.weights[n] for n in names] + model.bias
    else:
        from sklearn.linear_model import LogisticRegression

        fitted = LogisticRegression(C=1 / (L2 * split), solver="lbfgs", max_iter=200, tol=1e-8).fit(train_x, train_y)
        scores = fitted.decision_function(test_x)
    seconds = time.perf_counter() - started
    peak = _peak_mb()
    return {"auc": auc(scores, test_y), "seconds": seconds, "peak_extra_mb": max(0.0, peak - before), "data_mb": before}


class _Bucket:
    """The media bucket's objects in memory (aperture.adapters.activity_archive.ObjectStore)."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def keys_under(self, prefix: str) -> set[str]:
        return {key for key in self.objects if key.startswith(prefix)}

    def read(self, key: str) -> bytes:
        return self.objects[key]

    def write(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = body

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)


class _Models:
    """The models/ prefix in memory (aperture.training.Models)."""

    def __init__(self) -> None:
        self.reports: dict[tuple[str, str], dict[str, Any]] = {}
        self.pointer: dict[str, str] = {}

    def current(self, surface: str) -> bytes | None:
        return None

    def report(self, surface: str, version: str) -> dict[str, Any] | None:
        return self.reports.get((surface, version))

    def current_version(self, surface: str) -> str | None:
        return self.pointer.get(surface)

    def write_model(self, surface: str, version: str, model: str) -> None:
        return None

    def write_report(self, surface: str, version: str, report: dict[str, Any]) -> None:
        self.reports[(surface, version)] = report

    def promote(self, surface: str, version: str) -> None:
        self.pointer[surface] = version


def logged_bucket(rows: int, seed: int = 7) -> tuple[_Bucket, Any]:
    """`rows` feed impressions over four days (pages of 20 for one viewer each, the feed's four features, about 3%
    engaged with from a hidden logistic rule) and their engagements, as the flush job leaves them; and the day to run
    the job on."""
    import datetime
    import math
    import random

    from aperture.activity import ENGAGEMENT, IMPRESSION, Engagement, Impression, to_line
    from aperture.adapters.activity_archive import encode, object_key

    rng = random.Random(seed)
    bucket = _Bucket()
    first = datetime.date(2026, 3, 10)
    per_object = 50_000
    for index in range(4):
        day = (first + datetime.timedelta(days=index)).isoformat()
        start = int(datetime.datetime.combine(first, datetime.time(), datetime.UTC).timestamp() * 1000)
        start += index * 86_400_000
        impressions: list[str] = []
        engagements: list[str] = []
        for row in range(rows // 4):
            if row % 20 == 0:  # a page: one viewer's 20 posts, one request
                viewer = rng.randrange(1_000_000)
            post, author = rng.randrange(10**12), rng.randrange(100_000)
            values = {"recency": rng.random(), "author_affinity": 3 * rng.random(), "engagement": rng.random()}
            values["topic_affinity"] = 2 * rng.random()
            at = start + (row // 20) * 86_400_000 // (rows // 80 + 1)
            impressions.append(
                to_line(
                    Impression("feed", viewer, post, author, row % 20, at, "default", values, f"r{index}-{row // 20}")
                )
            )
            logit = -5.5 + 1.2 * values["author_affinity"] + 0.8 * values["topic_affinity"]
            if rng.random() < 1 / (1 + math.exp(-logit)):
                engagements.append(to_line(Engagement("like", viewer, author, at + 3_600_000, post)))
        for kind, lines in ((IMPRESSION, impressions), (ENGAGEMENT, engagements)):
            for number, begin in enumerate(range(0, len(lines), per_object)):
                key = object_key(kind, day, number % 8, f"{start}-{number}")
                bucket.write(key, encode(lines[begin : begin + per_object]), "application/gzip")
    return bucket, first + datetime.timedelta(days=5)


def run_job(rows: int) -> dict[str, float]:
    """In this process: the objects, then one run of the job over them, measured (peak RSS beyond the objects)."""
    from aperture.adapters.activity_archive import ActivityArchive
    from aperture.learning import Guards
    from aperture.ranking import RankingModel, fit
    from aperture.training import RankingTraining, TrainingPolicy

    bucket, today = logged_bucket(rows)
    solver: dict[str, float] = {}

    def timed_fit(matrix: Any, labels: Any, names: Any, *, version: str) -> RankingModel:
        started = time.perf_counter()
        model = fit(matrix, labels, names, version=version)
        solver["seconds"] = time.perf_counter() - started
        return model

    policy = TrainingPolicy(days=14, label_window_ms=86_400_000, guards=Guards(1000, 0.001, 0.5), margin=0.002)
    job = RankingTraining(ActivityArchive(bucket), _Models(), {"feed": RankingModel.default()}, policy, timed_fit)
    before = _rss_mb()
    _reset_peak()
    started = time.perf_counter()
    reports = job.run(today)
    seconds = time.perf_counter() - started
    feed = reports["feed"]
    return {
        "impressions": rows,
        "objects_mb": sum(len(body) for body in bucket.objects.values()) / 2**20,
        "job_seconds": seconds,
        "solver_seconds": solver.get("seconds", 0.0),
        "peak_extra_mb": max(0.0, _peak_mb() - before),
        "trained": feed["examples"]["training"],
        "held_out": feed["examples"]["held_out"],
        "promoted": feed["promoted"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--solver", choices=("numpy", "sklearn"))  # (internal: one solver in this process)
    parser.add_argument("--job", type=int, metavar="IMPRESSIONS", help="time the whole job over this many instead")
    args = parser.parse_args()
    if args.job:
        print(json.dumps(run_job(args.job)))
        return
    if args.solver:
        print(json.dumps(run_one(args.solver, args.rows)))
        return
    results = {}
    for solver in ("sklearn", "numpy"):  # the baseline first
        out = subprocess.run(
            [sys.executable, "-m", "bench.training", "--rows", str(args.rows), "--solver", solver],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        results[solver] = json.loads(out.strip().splitlines()[-1])
        print(f"{solver:8} rows={args.rows:,} {results[solver]}", flush=True)
    base, ours = results["sklearn"], results["numpy"]
    print(
        f"numpy / sklearn: AUC {ours['auc'] - base['auc']:+.5f}, time {ours['seconds'] / base['seconds']:.2f}x, "
        f"peak memory beyond the data {ours['peak_extra_mb'] / max(base['peak_extra_mb'], 1):.2f}x"
    )


if __name__ == "__main__":
    main()
