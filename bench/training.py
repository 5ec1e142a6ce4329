"""Ranking loop, training: aperture.ranking.fit (numpy Newton) against scikit-learn's LogisticRegression on the same
synthetic impressions: held-out AUC, train time and peak memory, each solver in a fresh process.

    PYTHONPATH=layers/core/python:. python -m bench.training [--rows 10000000]

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--solver", choices=("numpy", "sklearn"))  # (internal: one solver in this process)
    args = parser.parse_args()
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
