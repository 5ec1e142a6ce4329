"""Feed ranking: a logistic model of "will the viewer engage with this post", its features, and its training.

The model is a handful of weights in JSON: a default ships in the layer, a trained one is read from S3 when
configured. Ranking reorders posts within a page's time window only, so the cursor stays time-based and
pagination stays exact.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

FEATURES: tuple[str, ...] = ("recency", "author_affinity", "engagement", "topic_affinity")
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
    """A logistic model over named features: the feed's (`FEATURES`) unless its JSON names others (explore's)."""

    weights: dict[str, float]
    bias: float
    version: str
    features: tuple[str, ...] = FEATURES

    @classmethod
    def from_json(cls, text: str | bytes) -> RankingModel:
        data = json.loads(text)
        names = tuple(str(name) for name in data.get("features", FEATURES))
        weights = {name: float(data["weights"][name]) for name in names}
        return cls(
            weights=weights, bias=float(data["bias"]), version=str(data.get("version", "unversioned")), features=names
        )

    @classmethod
    def default(cls) -> RankingModel:
        return cls.from_json((resources.files("aperture") / "ranking_model.json").read_text())

    def to_json(self) -> str:
        data = {"version": self.version, "features": list(self.features), "bias": self.bias, "weights": self.weights}
        return json.dumps(data, indent=2) + "\n"

    def probability(self, inputs: Mapping[str, float]) -> float:
        z = self.bias + sum(self.weights[name] * inputs[name] for name in self.features)
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


def rank(
    candidates: Sequence[Candidate],
    model: RankingModel,
    now_ms: int,
    author_affinity: Mapping[int, float],
    topic_affinity: Mapping[str, float],
) -> list[int]:
    """Post ids best first; ties keep newest first."""
    scored = [
        (model.probability(features(c, now_ms, author_affinity, topic_affinity)), c.created_at, c.post_id)
        for c in candidates
    ]
    return [post_id for _, _, post_id in sorted(scored, reverse=True)]


def train(
    examples: Sequence[tuple[Mapping[str, float], int]],
    epochs: int = 50,
    l2: float = 1e-5,
    version: str = "trained",
) -> RankingModel:
    """Logistic regression (mean log loss plus `l2` / 2 times the squared weights; the bias is not penalised) by
    Newton's method with a backtracking line search. A few features make each step a small linear solve, so no
    library is needed, and it converges in a few steps even when positives are rare (about one candidate in a
    hundred in the offline check), where plain gradient descent stalls far from the optimum. `epochs` caps the
    steps. Deterministic: it starts from zero weights and the base rate's log-odds."""
    n = len(examples)
    if n == 0:
        raise ValueError("no training examples")
    # Column by column (the features, then a column of ones for the bias), so the sums run in C.
    columns = [[float(inputs[f]) for inputs, _ in examples] for f in FEATURES] + [[1.0] * n]
    labels = [label for _, label in examples]
    base_rate = (sum(labels) + 0.5) / (n + 1)
    theta = [0.0] * len(FEATURES) + [math.log(base_rate / (1 - base_rate))]

    def margins(at: Sequence[float]) -> list[float]:
        z = [0.0] * n
        for weight, column in zip(at, columns, strict=True):
            z = [a + weight * v for a, v in zip(z, column, strict=True)]
        return [max(-30.0, min(30.0, v)) for v in z]

    def objective(at: Sequence[float]) -> float:
        losses = (math.log1p(math.exp(-z if y else z)) for z, y in zip(margins(at), labels, strict=True))
        return sum(losses) / n + l2 / 2 * sum(w * w for w in at[:-1])

    current = objective(theta)
    for _ in range(epochs):
        p = [1 / (1 + math.exp(-z)) for z in margins(theta)]
        residual = [pi - y for pi, y in zip(p, labels, strict=True)]
        curvature = [pi * (1 - pi) for pi in p]
        gradient = [sum(map(operator.mul, residual, column)) / n for column in columns]
        weighted = [list(map(operator.mul, curvature, column)) for column in columns]
        hessian = [[sum(map(operator.mul, row, column)) / n for column in columns] for row in weighted]
        for i in range(len(theta)):
            if i < len(FEATURES):
                gradient[i] += l2 * theta[i]
                hessian[i][i] += l2
            hessian[i][i] += 1e-12  # keeps the system solvable when a feature is always zero or labels all agree
        step = _solve(hessian, gradient)
        scale = 1.0
        while scale > 1e-6:  # halve the step until the objective goes down
            moved = [t - scale * s for t, s in zip(theta, step, strict=True)]
            value = objective(moved)
            if value < current:
                break
            scale /= 2
        else:
            break  # no step improves: converged
        improvement, theta, current = current - value, moved, value
        if improvement < 1e-12:
            break
    return RankingModel(weights=dict(zip(FEATURES, theta[:-1], strict=True)), bias=theta[-1], version=version)


def _solve(matrix: Sequence[Sequence[float]], vector: Sequence[float]) -> list[float]:
    """x with matrix @ x = vector, by Gaussian elimination with partial pivoting (a small dense system)."""
    size = len(vector)
    a = [[*row, vector[i]] for i, row in enumerate(matrix)]
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        if a[col][col] == 0.0:
            raise ValueError("singular system")
        for r in range(col + 1, size):
            factor = a[r][col] / a[col][col]
            for c in range(col, size + 1):
                a[r][c] -= factor * a[col][c]
    x = [0.0] * size
    for r in reversed(range(size)):
        x[r] = (a[r][size] - sum(a[r][c] * x[c] for c in range(r + 1, size))) / a[r][r]
    return x


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
