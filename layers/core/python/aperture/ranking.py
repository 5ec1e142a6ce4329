"""Feed ranking: a logistic model of "will the viewer engage with this post", its features, and its training.

The model is a handful of weights in JSON: a default ships in the layer, a trained one is read from S3 when
configured. Ranking reorders posts within a page's time window only, so the cursor stays time-based and
pagination stays exact.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

FEATURES: tuple[str, ...] = ("recency", "author_affinity", "engagement", "topic_affinity")
HOUR_MS = 3_600_000


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
    weights: dict[str, float]
    bias: float
    version: str

    @classmethod
    def from_json(cls, text: str | bytes) -> RankingModel:
        data = json.loads(text)
        weights = {name: float(data["weights"][name]) for name in FEATURES}
        return cls(weights=weights, bias=float(data["bias"]), version=str(data.get("version", "unversioned")))

    @classmethod
    def default(cls) -> RankingModel:
        return cls.from_json((resources.files("aperture") / "ranking_model.json").read_text())

    def to_json(self) -> str:
        return json.dumps({"version": self.version, "bias": self.bias, "weights": self.weights}, indent=2) + "\n"

    def probability(self, inputs: Mapping[str, float]) -> float:
        z = self.bias + sum(self.weights[name] * inputs[name] for name in FEATURES)
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
    epochs: int = 200,
    learning_rate: float = 0.5,
    l2: float = 1e-3,
    seed: int = 7,
    version: str = "trained",
) -> RankingModel:
    """Logistic regression by full-batch gradient descent (a few features: no library needed)."""
    rng = random.Random(seed)
    weights = {name: rng.uniform(-0.01, 0.01) for name in FEATURES}
    bias = 0.0
    n = len(examples)
    if n == 0:
        raise ValueError("no training examples")
    for _ in range(epochs):
        gradient = dict.fromkeys(FEATURES, 0.0)
        gradient_bias = 0.0
        for inputs, label in examples:
            z = bias + sum(weights[f] * inputs[f] for f in FEATURES)
            error = 1 / (1 + math.exp(-max(-30.0, min(30.0, z)))) - label
            for f in FEATURES:
                gradient[f] += error * inputs[f]
            gradient_bias += error
        for f in FEATURES:
            weights[f] -= learning_rate * (gradient[f] / n + l2 * weights[f])
        bias -= learning_rate * gradient_bias / n
    return RankingModel(weights=weights, bias=bias, version=version)


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
