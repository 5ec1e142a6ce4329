"""Explore's ranking model: the features of one candidate for one viewer, and the default model shipped in the layer.

Explore ranks with a logistic model of its own (a `RankingModel` naming these features), not the feed's: what
retrieval knows (which sources vouched for the post and how strongly) matters as much as the viewer's history.
Every feature is clipped to a fixed range, so one weight fits posts of any size or age and a bad input cannot
swing a score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from aperture.ranking import FEATURE_RANGES, Candidate, RankingModel, features

# Retrieval's sources, one feature each: how strongly each vouched for the post, about 0..1 (pools by rank).
SOURCES: tuple[str, ...] = ("similar", "neighbours", "regional", "popular", "topics")
# Each source's share of the total evidence (the weights explore's candidates have always been summed with).
SOURCE_STRENGTH: Mapping[str, float] = MappingProxyType(
    {"similar": 1.0, "neighbours": 1.0, "regional": 0.5, "popular": 0.25, "topics": 0.5}
)
EXPLORE_FEATURES: tuple[str, ...] = (
    *(f"source_{s}" for s in SOURCES),
    "evidence",  # ln of the total evidence: with a weight of 1, the model's odds scale with it as p x e did
    "region_match",
    "topic_affinity",
    "author_affinity",
    "author_popularity",
    "author_engagement",
    "engagement",
    "recency",
    "carousel",
)
# (low, high) of every feature; values outside are clipped.
BOUNDS: Mapping[str, tuple[float, float]] = {
    **{f"source_{s}": (0.0, 1.0) for s in SOURCES if s != "topics"},
    "source_topics": (0.0, 3.0),  # a post can sit in several of the viewer's topic pools
    "evidence": (-5.0, 2.0),
    "region_match": (0.0, 1.0),
    "author_popularity": (0.0, 20.0),  # ln(1 + followers): 20 is far beyond any account
    "author_engagement": (0.0, 12.0),
    "carousel": (0.0, 1.0),
    **FEATURE_RANGES,  # topic_affinity, author_affinity, engagement and recency, computed as the feed computes them
}
MIN_EVIDENCE = math.exp(BOUNDS["evidence"][0])


@dataclass(frozen=True)
class Author:
    """What the refresh knows of a post's author: followers, region ("" if unset), and engagements per post (likes
    plus twice comments, today plus half of yesterday, over their posts in explore's pools)."""

    followers: int
    region: str
    engagement_per_post: float


def clip(name: str, value: float) -> float:
    low, high = BOUNDS[name]
    if math.isnan(value):
        return low
    return min(high, max(low, value))


def total_evidence(evidence: Mapping[str, float]) -> float:
    return sum(SOURCE_STRENGTH[s] * evidence.get(s, 0.0) for s in SOURCES)


def explore_features(
    candidate: Candidate,
    evidence: Mapping[str, float],
    *,
    viewer_region: str,
    author: Author | None,
    photos: int,
    author_affinity: Mapping[int, float],
    topic_affinity: Mapping[str, float],
    now_ms: int,
) -> dict[str, float]:
    """The explore model's inputs for one candidate: `evidence` is per source (SOURCES, about 0..1 each),
    `topic_affinity` keyed by lower-case tag, `photos` the post's photo count (0 when unknown)."""
    feed = features(candidate, now_ms, author_affinity, topic_affinity)
    values: dict[str, float] = {f"source_{s}": evidence.get(s, 0.0) for s in SOURCES}
    region = author.region if author else ""
    values |= {
        "evidence": math.log(max(MIN_EVIDENCE, total_evidence(evidence))),
        "region_match": float(bool(viewer_region) and region == viewer_region),
        "topic_affinity": feed["topic_affinity"],
        "author_affinity": feed["author_affinity"],
        "author_popularity": math.log1p(max(0, author.followers)) if author else 0.0,
        "author_engagement": math.log1p(max(0.0, author.engagement_per_post)) if author else 0.0,
        "engagement": feed["engagement"],
        "recency": feed["recency"],
        "carousel": float(photos > 1),
    }
    return {name: clip(name, values[name]) for name in EXPLORE_FEATURES}


def default_model() -> RankingModel:
    """The explore model shipped in the layer (fitted offline on bench/explore.py's world: docs/benchmarks.md)."""
    return RankingModel.from_json((resources.files("aperture") / "explore_model.json").read_text())
