"""Explore's embedding (a hand-written randomized SVD, aperture.embeddings) against `implicit`'s ALS and BPR.

Same synthetic world as bench/explore.py (its `generate`), same split (signals of the first 2.5 days, likes of the
next 12 hours held out), same viewers, one run. Each method replaces only the factorisation inside
`aperture.embeddings.embed` (the user x post engagement matrix in, user and post factors out); everything around it
(unit vectors, hashtag fold-in for unengaged posts, the FAISS index, the real refresh and ranking) is production
code. Reported per method:

- quality: hit rate@20 and recall@100 of explore's ranked list (what a viewer sees) and of the k-NN source alone
  (the viewer's vector's 300 nearest posts, minus what they already liked: the embedding on its own);
- cost at the pool's full size (5,000 posts x 200 engagers, a million engagements, as bench/explore.py): wall and
  CPU seconds of `embed`, and peak memory, each method in its own subprocess (peak RSS over the subprocess's
  baseline after the data is built, and tracemalloc's peak in a second subprocess, since tracemalloc slows numpy).

implicit's hyperparameters were chosen on a different world (`--tune`: seed 8, the quick size), not on the one
reported, so the comparison does not favour the library by fitting the test split.

Run from the repository root: `python -m bench.explore_embeddings` (a few minutes on 2 cores), `--quick`, or
`--tune`. Needs `implicit` (requirements-dev.txt only: the Lambda layer does not ship it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any, cast

import numpy as np

from aperture import embeddings
from aperture.adapters.dynamo.posts import PostRepository
from aperture.adapters.redis_store.explore import ExploreStore
from aperture.adapters.vectors import FaissIndex
from aperture.explore import ExploreRefresh, Model, RefreshLimits, rank_viewer, similar_posts, user_vector
from aperture.explore_ranking import default_model
from bench.explore import DAY_MS, DIMENSIONS, HOUR_MS, Posts, Scores, _viewer, generate, load_signals
from local.world import TOPICS, progress

Factorise = Callable[[np.ndarray, np.ndarray, np.ndarray, tuple[int, int], int, int], tuple[np.ndarray, np.ndarray]]

# Chosen by `--tune` on seed 8 at the quick size (explore's recall@100); see docs/benchmarks.md.
ALS_PARAMS: dict[str, Any] = {"alpha": 10.0, "regularization": 0.05, "iterations": 15}
BPR_PARAMS: dict[str, Any] = {"learning_rate": 0.05, "regularization": 0.01, "iterations": 300}
TUNING_GRID: dict[str, list[dict[str, Any]]] = {
    "als": [
        {"alpha": alpha, "regularization": reg, "iterations": 15} for alpha in (1.0, 10.0, 40.0) for reg in (0.05, 1.0)
    ],
    "bpr": [
        {"learning_rate": rate, "regularization": 0.01, "iterations": iterations}
        for rate in (0.01, 0.05)
        for iterations in (100, 300)
    ],
}


def _binary(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> Any:
    """The user x post matrix with a 1 per engagement, as implicit expects (float32 CSR)."""
    from scipy.sparse import csr_matrix

    ones = np.ones(len(rows), dtype=np.float32)
    return csr_matrix((ones, (rows, cols)), shape=shape, dtype=np.float32)


def als(params: dict[str, Any]) -> Factorise:
    def factorise(
        rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int], rank: int, seed: int
    ) -> tuple[np.ndarray, np.ndarray]:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):  # what implicit asks for: its own threads, single-threaded BLAS
            model = AlternatingLeastSquares(factors=rank, random_state=seed, **params)
            model.fit(_binary(rows, cols, shape), show_progress=False)
        return np.asarray(model.user_factors, np.float64), np.asarray(model.item_factors, np.float64)

    return factorise


def bpr(params: dict[str, Any]) -> Factorise:
    def factorise(
        rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int], rank: int, seed: int
    ) -> tuple[np.ndarray, np.ndarray]:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        # BPR adds an item-bias column (users carry a constant 1 there): rank - 1 factors make `rank` columns.
        model = BayesianPersonalizedRanking(factors=rank - 1, random_state=seed, **params)
        model.fit(_binary(rows, cols, shape), show_progress=False)
        return np.asarray(model.user_factors, np.float64), np.asarray(model.item_factors, np.float64)

    return factorise


def methods(als_params: dict[str, Any] = ALS_PARAMS, bpr_params: dict[str, Any] = BPR_PARAMS) -> dict[str, Factorise]:
    return {"svd": embeddings._svd, "als": als(als_params), "bpr": bpr(bpr_params)}


@contextlib.contextmanager
def factorisation(factorise: Factorise) -> Iterator[None]:
    """`embed` with another factorisation for a while; the production one (svd) is the default."""
    production = embeddings._svd
    embeddings._svd = factorise  # type: ignore[assignment]  # same signature, a closure rather than a def
    try:
        yield
    finally:
        embeddings._svd = production


class Evaluation:
    """One world, its signals in Redis and its test viewers, fixed; each method refreshes and is scored on it."""

    def __init__(self, users: int, posts: int, viewers: int, seed: int, store: ExploreStore) -> None:
        self.world = generate(users, posts, seed)
        self.split = self.world.start_ms + int(2.5 * DAY_MS)
        horizon = self.split + 12 * HOUR_MS
        self.signals = load_signals(self.world, store, self.split)
        self.store = store
        self.before: dict[int, list[int]] = defaultdict(list)
        self.after: dict[int, set[int]] = defaultdict(set)
        for user, post_id, at in self.world.likes:
            if at < self.split:
                self.before[user].append(post_id)
            elif at < horizon and post_id not in self.before[user]:
                self.after[user].add(post_id)
        self.viewers = viewers
        self.seed = seed
        self.runs = 0

    def score(self, factorise: Factorise) -> dict[str, Any]:
        index = FaissIndex(DIMENSIONS)
        limits = RefreshLimits(pool_size=5_000, dimensions=DIMENSIONS, active_days=14, job_size=100)
        refresher = ExploreRefresh(self.store, cast(PostRepository, Posts(self.world.posts)), index, len, limits)
        self.runs += 1  # each method's generation is its own (a millisecond apart: the same pools)
        with factorisation(factorise):
            started = time.perf_counter()
            outcome = refresher.run(self.split + self.runs)
            refresh_seconds = time.perf_counter() - started
        data = self.store.model(outcome.generation)
        assert data is not None
        model = Model.from_json(data)
        in_model = set(model.posts)
        testable = sorted(u for u in self.after if len(self.before[u]) >= 3 and self.after[u] & in_model)
        chosen = random.Random(self.seed).sample(testable, min(self.viewers, len(testable)))
        ranking = default_model()
        variants = {name: Scores([], []) for name in ("explore", "knn_only")}
        for done, user in enumerate(chosen, 1):
            progress("viewers", done, len(chosen))
            viewer = _viewer(self.world, user, self.before[user], outcome.generation, self.store)
            similar = similar_posts(self.store, viewer.engaged, user)
            query = user_vector(viewer.vector, viewer.topic_affinity, model, DIMENSIONS)
            neighbours = index.nearest(query, 300) if query else []
            liked = set(self.before[user])
            lists = {
                "explore": rank_viewer(model, viewer, similar, neighbours, ranking, self.split, 300),
                "knn_only": [p for p, _ in neighbours if p not in liked],
            }
            target = self.after[user] & in_model
            for name, ranked in lists.items():
                variants[name].hits.append(int(bool(target & set(ranked[:20]))))
                variants[name].recalls.append(len(target & set(ranked[:100])) / len(target))
        return {
            "viewers": len(chosen),
            "refresh_seconds": round(refresh_seconds, 2),
            "embedded_posts": outcome.embedded_posts,
            "embedded_users": outcome.embedded_users,
            **{name: scores.report() for name, scores in variants.items()},
        }


# --- cost at the pool's full size, one method per subprocess ----------------------------------------------------


def _scale_data(posts: int, engagers_per_post: int, users: int, seed: int) -> tuple[dict[int, list[int]], Any]:
    rng = random.Random(seed)
    engagers = {p: rng.sample(range(users), engagers_per_post) for p in range(posts)}
    hashtags = {p: (TOPICS[p % len(TOPICS)],) for p in range(posts)}
    return engagers, hashtags


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def cost_probe(method: str, traced: bool, quick: bool, seed: int) -> dict[str, Any]:
    """In this (fresh) process: build the data, note the RSS, embed with `method` once, report."""
    posts, users = (1_000, 40_000) if quick else (5_000, 200_000)
    engagers, hashtags = _scale_data(posts, 200, users, seed)
    factorise = methods()[method]
    if method != "svd":  # the library's imports are the method's fixed cost, not its training's
        import implicit.cpu.als
        import implicit.cpu.bpr  # noqa: F401
    baseline = _max_rss_mb()
    if traced:
        tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    with factorisation(factorise):
        vectors = embeddings.embed(engagers, hashtags, DIMENSIONS)
    result: dict[str, Any] = {
        "method": method,
        "engagements": posts * 200,
        "posts": len(vectors.posts),
        "users": len(vectors.users),
        "wall_seconds": round(time.perf_counter() - wall, 2),
        "cpu_seconds": round(time.process_time() - cpu, 2),
    }
    if traced:
        result["tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
    else:
        result["rss_peak_over_baseline_mb"] = round(_max_rss_mb() - baseline)
    return result


def _subprocess(method: str, traced: bool, quick: bool, seed: int) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.explore_embeddings", "--probe", method, "--seed", str(seed)]
    argv += ["--traced"] if traced else []
    argv += ["--quick"] if quick else []
    out = subprocess.run(argv, check=True, capture_output=True, text=True, env=os.environ.copy()).stdout
    return cast(dict[str, Any], json.loads(out.strip().splitlines()[-1]))


def cost(quick: bool, seed: int, repeats: int) -> dict[str, dict[str, Any]]:
    """Median wall and CPU over `repeats` interleaved subprocesses per method; peak RSS and tracemalloc's peak."""
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for repeat in range(repeats):
        names = list(methods())
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            progress("cost", repeat + 1, repeats)
            runs[name].append(_subprocess(name, False, quick, seed))
    results = {}
    for name, probes in runs.items():
        traced = _subprocess(name, True, quick, seed)
        results[name] = {
            "engagements": probes[0]["engagements"],
            "users": probes[0]["users"],
            "wall_seconds": statistics.median(p["wall_seconds"] for p in probes),
            "cpu_seconds": statistics.median(p["cpu_seconds"] for p in probes),
            "wall_runs": [p["wall_seconds"] for p in probes],
            "rss_peak_over_baseline_mb": max(p["rss_peak_over_baseline_mb"] for p in probes),
            "tracemalloc_peak_mb": traced["tracemalloc_peak_mb"],
        }
    return results


def _redis_store() -> tuple[Any, ExploreStore]:
    from local.redis_server import RedisServer

    server = RedisServer()
    os.environ["REDIS_URL"] = server.url
    from aperture import wiring

    wiring.reset()
    client = wiring.redis_client()
    client.flushdb()
    return server, ExploreStore(client)


def tune(seed: int) -> dict[str, Any]:
    server, store = _redis_store()
    try:
        evaluation = Evaluation(1_500, 3_000, 150, seed, store)
        results: dict[str, Any] = {"svd": evaluation.score(embeddings._svd)}
        for name, grid in TUNING_GRID.items():
            for params in grid:
                factorise = als(params) if name == "als" else bpr(params)
                results[f"{name} {json.dumps(params)}"] = evaluation.score(factorise)
        return results
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small world and matrix, for a smoke run")
    parser.add_argument("--tune", action="store_true", help="implicit's hyperparameter grid on another world")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3, help="cost subprocesses per method")
    parser.add_argument("--probe", choices=("svd", "als", "bpr"), help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(cost_probe(args.probe, args.traced, args.quick, args.seed)))
        return
    if args.tune:
        print(json.dumps(tune(8 if args.seed == 7 else args.seed), indent=2))
        return
    server, store = _redis_store()
    try:
        users, posts, viewers = (1_500, 3_000, 150) if args.quick else (6_000, 12_000, 400)
        evaluation = Evaluation(users, posts, viewers, args.seed, store)
        quality = {name: evaluation.score(factorise) for name, factorise in methods().items()}
    finally:
        server.stop()
    result: dict[str, Any] = {
        "world": {"users": users, "posts": posts, "likes_before_split": evaluation.signals},
        "params": {"als": ALS_PARAMS, "bpr": BPR_PARAMS},
        "quality": quality,
        "cost": cost(args.quick, args.seed, args.repeats),
    }
    print(json.dumps(result, indent=2))
    for name, scores in quality.items():
        spent = result["cost"][name]
        print(
            f"{name}: explore hit@20 {scores['explore']['hit_rate_at_20']} recall@100 "
            f"{scores['explore']['recall_at_100']}; k-NN alone {scores['knn_only']['hit_rate_at_20']} / "
            f"{scores['knn_only']['recall_at_100']}; {spent['cpu_seconds']} CPU s, {spent['wall_seconds']} s wall, "
            f"peak +{spent['rss_peak_over_baseline_mb']} MB RSS, {spent['tracemalloc_peak_mb']} MB traced"
        )


if __name__ == "__main__":
    main()
