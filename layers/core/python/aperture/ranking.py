"""Feed ranking: a logistic model of "will the viewer engage with this post", its features, and its training.

The model is a handful of weights in JSON: a default ships in the layer, a trained one is read from S3 when
configured. Ranking reorders posts within a page's time window only, so the cursor stays time-based and
pagination stays exact.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any

FEATURES: tuple[str, ...] = ("recency", "author_affinity", "engagement", "topic_affinity")
# The range each feed feature can take by its definition (below), the bounds a trained model clips its inputs to.
# Not the range a training run happened to see: affinities grow as a deployment's people engage, and a model
# trained on its first days clipped them to those days' small values (docs/benchmarks.md, "the loop end to end").
FEATURE_RANGES: Mapping[str, tuple[float, float]] = MappingProxyType(
    {"recency": (0.0, 1.0), "author_affinity": (0.0, 8.0), "engagement": (0.0, 12.0), "topic_affinity": (0.0, 8.0)}
)
HOUR_MS = 3_600_000

# What one engagement adds to the viewer's affinity for its author (and, for posts, for the post's topics). The
# single source of these weights: likes, comments, story views and the synthetic world all read them. Story views
# are about ten times as common as likes, so one counts a tenth of a like: the best of 0, 0.05, 0.1, 0.25 and 0.5
# on the offline check (docs/benchmarks.md), and above zero because story views must count toward affinity.
AFFINITY_WEIGHTS: Mapping[str, float] = MappingProxyType({"like": 1.0, "comment": 2.0, "story_view": 0.1})


@dataclass(frozen=True)
class Candidate:
    """What ranking knows of a post."""

    post_id: int
    author_id: int
    created_at: int  # unix ms
    like_count: int
    comment_count: int
    hashtags: tuple[str, ...]


def features(
    candidate: Candidate, now_ms: int, author_affinity: Mapping[int, float], topic_affinity: Mapping[str, float]
) -> dict[str, float]:
    """The model's inputs, each squashed to a small range so one weight fits posts of any size or age."""
    age_hours = max(0.0, (now_ms - candidate.created_at) / HOUR_MS)
    interactions = candidate.like_count + 2 * candidate.comment_count
    return {
        "recency": math.exp(-age_hours / 24),
        "author_affinity": math.log1p(author_affinity.get(candidate.author_id, 0.0)),
        "engagement": math.log1p(interactions) / math.sqrt(1 + age_hours),
        "topic_affinity": math.log1p(sum(topic_affinity.get(tag, 0.0) for tag in candidate.hashtags)),
    }


@dataclass(frozen=True)
class RankingModel:
    """A logistic model over named features: the feed's (`FEATURES`) unless its JSON names others (explore's).

    `bounds` (per feature, the range its training saw) clip what serving feeds it: a value far outside what the
    model learned from (a bug upstream, a viral post) moves the score no further than the edge of that range. A
    feature the inputs lack counts as zero, a value that is not a number as the range's low end."""

    weights: dict[str, float]
    bias: float
    version: str
    features: tuple[str, ...] = FEATURES
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str | bytes) -> RankingModel:
        data = json.loads(text)
        names = tuple(str(name) for name in data.get("features", FEATURES))
        weights = {name: float(data["weights"][name]) for name in names}
        bounds = {str(name): (float(low), float(high)) for name, (low, high) in data.get("bounds", {}).items()}
        if not all(math.isfinite(v) for v in (float(data["bias"]), *weights.values())):
            raise ValueError("a model's weights must be finite numbers")
        return cls(
            weights=weights,
            bias=float(data["bias"]),
            version=str(data.get("version", "unversioned")),
            features=names,
            bounds=bounds,
        )

    @classmethod
    def default(cls) -> RankingModel:
        return cls.from_json((resources.files("aperture") / "ranking_model.json").read_text())

    def to_json(self) -> str:
        data: dict[str, object] = {
            "version": self.version,
            "features": list(self.features),
            "bias": self.bias,
            "weights": self.weights,
        }
        if self.bounds:
            data["bounds"] = {name: list(bound) for name, bound in self.bounds.items()}
        return json.dumps(data, indent=2) + "\n"

    def bounded(self, name: str, value: float) -> float:
        if name not in self.bounds:
            return value
        low, high = self.bounds[name]
        return low if math.isnan(value) else max(low, min(high, value))

    def probability(self, inputs: Mapping[str, float]) -> float:
        z = self.bias + sum(self.weights[name] * self.bounded(name, inputs.get(name, 0.0)) for name in self.features)
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


class ServedModel:
    """The model a serving function ranks with: re-read from the bucket at most every `ttl_seconds`, so a promoted
    model serves within minutes without a deploy; a read or parse that fails keeps the last good model (or the
    fallback, before any loaded). `load` returns None when nothing is promoted."""

    def __init__(
        self,
        load: Callable[[], RankingModel | None],
        fallback: RankingModel | None,
        ttl_seconds: float,
        clock: Callable[[], float],
        on_failure: Callable[[Exception], None] = lambda error: None,
    ) -> None:
        self._load, self._ttl, self._clock, self._on_failure = load, ttl_seconds, clock, on_failure
        self._model = fallback
        self._checked_at: float | None = None
        self._lock = threading.Lock()

    def __call__(self) -> RankingModel | None:
        now = self._clock()
        if self._checked_at is not None and now - self._checked_at < self._ttl:
            return self._model
        with self._lock:
            if self._checked_at is None or now - self._checked_at >= self._ttl:
                self._checked_at = now
                try:
                    loaded = self._load()
                except Exception as error:  # any failure to read or parse: keep serving what worked
                    self._on_failure(error)
                else:
                    if loaded is not None:
                        self._model = loaded
        return self._model


def rank(
    candidates: Sequence[Candidate],
    model: RankingModel,
    now_ms: int,
    author_affinity: Mapping[int, float],
    topic_affinity: Mapping[str, float],
) -> list[int]:
    """Post ids best first; ties keep newest first."""
    return rank_by(candidates, [features(c, now_ms, author_affinity, topic_affinity) for c in candidates], model)


def rank_by(candidates: Sequence[Candidate], inputs: Sequence[Mapping[str, float]], model: RankingModel) -> list[int]:
    """Post ids best first, by the model over each candidate's computed features (`inputs`, in the candidates'
    order: computed once by the caller, which may also log them); ties keep newest first."""
    scored = [(model.probability(x), c.created_at, c.post_id) for c, x in zip(candidates, inputs, strict=True)]
    return [post_id for _, _, post_id in sorted(scored, reverse=True)]


def train(
    examples: Sequence[tuple[Mapping[str, float], int]],
    epochs: int = 50,
    l2: float = 1e-5,
    version: str = "trained",
    names: Sequence[str] = FEATURES,
) -> RankingModel:
    """`fit` over examples given as feature dicts (the names `names`) and 0/1 labels."""
    import numpy as np  # (here, not at import: the feed's cold start never trains)

    if not examples:
        raise ValueError("no training examples")
    matrix = np.array([[float(inputs[name]) for name in names] for inputs, _ in examples], dtype=np.float64)
    labels = np.array([label for _, label in examples], dtype=np.float64)
    return fit(matrix, labels, names, epochs=epochs, l2=l2, version=version)


def fit(
    matrix: Any,
    labels: Any,
    names: Sequence[str],
    epochs: int = 50,
    l2: float = 1e-5,
    version: str = "trained",
) -> RankingModel:
    """Logistic regression (mean log loss plus `l2` / 2 times the squared weights; the bias is not penalised) by
    Newton's method with a backtracking line search, over a numpy matrix (one row per example, one column per name
    in `names`) and its 0/1 labels. A few features make each step a small linear solve, and it converges in a few
    steps even when positives are rare (about one candidate in a hundred in the offline check), where plain
    gradient descent stalls far from the optimum. The passes over the rows go in chunks, so memory beyond the
    matrix stays a few arrays of a chunk's length (10 million rows: docs/benchmarks.md). `epochs` caps the steps.
    Deterministic: it starts from zero weights and the base rate's log-odds. The model's bounds are each feature's
    declared range (`declared_ranges()`), or for a feature with none its range in the matrix."""
    import numpy as np

    n, width = matrix.shape
    if n == 0:
        raise ValueError("no training examples")
    if width != len(names):
        raise ValueError(f"{width} columns for {len(names)} feature names")
    y = np.asarray(labels, dtype=np.float64)
    base_rate = (float(y.sum()) + 0.5) / (n + 1)
    theta = np.zeros(width + 1)
    theta[-1] = math.log(base_rate / (1 - base_rate))
    penalty = np.full(width + 1, l2)
    penalty[-1] = 0.0

    def chunks() -> Iterable[tuple[Any, Any]]:
        for start in range(0, n, _CHUNK):
            yield np.asarray(matrix[start : start + _CHUNK], dtype=np.float64), y[start : start + _CHUNK]

    def margins(block: Any, at: Any) -> Any:
        return np.clip(block @ at[:-1] + at[-1], -30.0, 30.0)

    def objective(at: Any) -> float:
        loss = 0.0
        for block, target in chunks():
            z = margins(block, at)
            loss += float(np.logaddexp(0.0, np.where(target > 0, -z, z)).sum())
        return loss / n + float(penalty @ (at * at)) / 2

    current = objective(theta)
    for _ in range(epochs):
        gradient = np.zeros(width + 1)
        hessian = np.zeros((width + 1, width + 1))
        for block, target in chunks():
            p = 1 / (1 + np.exp(-margins(block, theta)))
            residual, curvature = p - target, p * (1 - p)
            gradient[:-1] += block.T @ residual
            gradient[-1] += residual.sum()
            weighted = block * curvature[:, None]
            hessian[:-1, :-1] += weighted.T @ block
            hessian[:-1, -1] += weighted.sum(axis=0)
            hessian[-1, -1] += curvature.sum()
        hessian[-1, :-1] = hessian[:-1, -1]
        gradient = gradient / n + penalty * theta
        # (+1e-12 keeps the system solvable when a feature is always zero or the labels all agree)
        hessian = hessian / n + np.diag(penalty + 1e-12)
        step = np.linalg.solve(hessian, gradient)
        scale = 1.0
        while scale > 1e-6:  # halve the step until the objective goes down
            moved = theta - scale * step
            value = objective(moved)
            if value < current:
                break
            scale /= 2
        else:
            break  # no step improves: converged
        improvement, theta, current = current - value, moved, value
        if improvement < 1e-12:
            break
    lows, highs = matrix.min(axis=0), matrix.max(axis=0)
    declared = declared_ranges()
    return RankingModel(
        weights={name: float(w) for name, w in zip(names, theta[:-1], strict=True)},
        bias=float(theta[-1]),
        version=version,
        features=tuple(names),
        bounds={
            name: declared.get(name, (float(lo), float(hi))) for name, lo, hi in zip(names, lows, highs, strict=True)
        },
    )


def declared_ranges() -> dict[str, tuple[float, float]]:
    """Every ranking feature's range by its definition: explore's table, which holds the feed's (`FEATURE_RANGES`)."""
    from aperture.explore_ranking import BOUNDS

    return dict(BOUNDS)


# Rows per pass of the solver: its temporaries are a few arrays of this length (the weighted block: 8 MB a feature)
_CHUNK = 1 << 20


def auc(scores: Iterable[float], labels: Iterable[int]) -> float:
    """Area under the ROC curve: the chance a random positive outscores a random negative (ties count half)."""
    pairs = sorted(zip(scores, labels, strict=True))
    positives = sum(label for _, label in pairs)
    negatives = len(pairs) - positives
    if positives == 0 or negatives == 0:
        return 0.5
    rank_sum, index = 0.0, 0
    while index < len(pairs):
        end = index
        while end < len(pairs) and pairs[end][0] == pairs[index][0]:
            end += 1
        average_rank = (index + 1 + end) / 2
        rank_sum += average_rank * sum(label for _, label in pairs[index:end])
        index = end
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def ndcg_at(ranked_labels: Sequence[int], k: int = 10) -> float:
    """NDCG@k of one ranked list of 0/1 relevance labels."""
    gain = sum(label / math.log2(i + 2) for i, label in enumerate(ranked_labels[:k]))
    ideal = sum(label / math.log2(i + 2) for i, label in enumerate(sorted(ranked_labels, reverse=True)[:k]))
    return gain / ideal if ideal else 0.0
