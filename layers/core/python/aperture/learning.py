"""What ranking learns from its users: labelled examples per surface from the activity log, the guards that refuse
to train on data that looks wrong, the held-out figures (AUC, NDCG@10, beside a baseline), and the gate that
decides whether a trained model replaces the serving one. Pure logic over records and numpy arrays: no I/O.

The label (docs/ranking.md, "Training and promotion"): an impression is positive when the same viewer, within the
label window after it was served (`served_at <= at <= served_at + window`), liked, commented on, saved or shared
that post, or opened the profile of its author.
"""

from __future__ import annotations

import bisect
import math
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aperture.activity import Engagement, Impression, Surface
from aperture.ranking import RankingModel

POST_ACTIONS = frozenset({"like", "comment", "save", "share"})
NDCG_K = 10
# A page may lack a feature (a record written across a change of the serving model's features) only rarely: more
# than this share of a surface's impressions without one of its features, and the data is refused, not trained on.
MISSING_FEATURE_SHARE = 0.01
# Explore's baseline ranks by popularity: the first of these features its impressions carry (the explore model's
# names for its author's popularity and engagement rate), else newest first.
POPULARITY_FEATURES = ("author_popularity", "popularity", "engagement_rate", "engagement")


class Labels:
    """Which impressions were followed, within the window, by an engagement of the same viewer with the post (or,
    for a profile open, with its author). Held compactly, as the job holds every engagement of its days: each
    (viewer, post) or (viewer, author) pair is one integer key, and its times one integer (most pairs have one
    engagement) or a sorted list."""

    def __init__(self, engagements: Iterable[Engagement], window_ms: int) -> None:
        self.window_ms = window_ms
        by_post: dict[int, list[int]] = {}
        by_author: dict[int, list[int]] = {}
        for engagement in engagements:
            if engagement.action == "profile_open":
                by_author.setdefault(_pair(engagement.viewer_id, engagement.author_id), []).append(engagement.at)
            elif engagement.action in POST_ACTIONS and engagement.post_id is not None:
                by_post.setdefault(_pair(engagement.viewer_id, engagement.post_id), []).append(engagement.at)
        self._by_post, self._by_author = _compact(by_post), _compact(by_author)

    def positive(self, impression: Impression) -> bool:
        start, end = impression.served_at, impression.served_at + self.window_ms
        for times in (
            self._by_post.get(_pair(impression.viewer_id, impression.post_id)),
            self._by_author.get(_pair(impression.viewer_id, impression.author_id)),
        ):
            if times is None:
                continue
            if isinstance(times, int):
                if start <= times <= end:
                    return True
                continue
            first = bisect.bisect_left(times, start)
            if first < len(times) and times[first] <= end:
                return True
        return False


def _pair(first: int, second: int) -> int:
    """Two ids as one key, exactly (ids are 64-bit: below 2**63 in magnitude, so the multiplier, above 2**64, keeps
    pairs apart; its odd low part spreads small ids over Python's int hash, which 2**64 alone would crowd)."""
    return first * _PAIR_MULTIPLIER + second


_PAIR_MULTIPLIER = 2**64 + 0x9E3779B97F4A7C15


def _compact(times: dict[int, list[int]]) -> dict[int, int | list[int]]:
    compacted: dict[int, int | list[int]] = {}
    for key, found in times.items():
        compacted[key] = found[0] if len(found) == 1 else sorted(found)
    return compacted


@dataclass
class Examples:
    """One surface's labelled impressions as columns: a feature matrix (rows in the order added), the labels, each
    row's page (same viewer, surface and request), and the post ids (newest first is the chronological order)."""

    surface: Surface
    names: tuple[str, ...]
    matrix: Any  # numpy float64, rows x names
    labels: Any  # numpy int8
    pages: Any  # numpy int64
    post_ids: Any  # numpy int64
    incomplete: int = 0  # impressions left out for lacking one of `names`
    repeated: int = 0  # impressions left out as a later showing of a post to the same viewer

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def positives(self) -> int:
        return int(self.labels.sum())

    @property
    def label_rate(self) -> float:
        return self.positives / len(self) if len(self) else 0.0

    def column(self, name: str) -> Any:
        return self.matrix[:, self.names.index(name)]


@dataclass
class ExampleBuilder:
    """Collects one surface's impressions as numbers, labelling each as it comes: memory holds a row of floats per
    impression (8 bytes a feature) and its label, page, post, viewer and time beside it, not records. Rows are kept
    flat in the order their features were first seen, so a row whose features come in that order (every row, while
    the serving model keeps its features) is one copy of its values, not a step per feature."""

    surface: Surface
    labels: Labels
    _order: tuple[str, ...] = ()  # the features' names as laid out in each row of `_values`
    _values: array[float] = field(default_factory=lambda: array("d"))
    _labels: array[int] = field(default_factory=lambda: array("b"))
    _pages: array[int] = field(default_factory=lambda: array("q"))
    _post_ids: array[int] = field(default_factory=lambda: array("q"))
    _viewers: array[int] = field(default_factory=lambda: array("q"))
    _served: array[int] = field(default_factory=lambda: array("q"))
    _page_ids: dict[tuple[int, str | int], int] = field(default_factory=dict)
    # (viewer, post) pairs shown on days before these examples' (`shown_before`): their showings here are repeats
    _before_viewers: array[int] = field(default_factory=lambda: array("q"))
    _before_posts: array[int] = field(default_factory=lambda: array("q"))

    def add(self, impression: Impression) -> None:
        features = impression.features
        if tuple(features) == self._order:
            self._values.extend(features.values())
        else:
            self._widen(features)
            self._values.extend([features.get(name, math.nan) for name in self._order])
        page = (impression.viewer_id, impression.request_id or impression.served_at)
        self._pages.append(self._page_ids.setdefault(page, len(self._page_ids)))
        self._labels.append(self.labels.positive(impression))
        self._post_ids.append(impression.post_id)
        self._viewers.append(impression.viewer_id)
        self._served.append(impression.served_at)

    def shown_before(self, impression: Impression) -> None:
        """An impression of an earlier day than these examples': a showing here of the same post to the same viewer
        is a repeat, not an example."""
        self._before_viewers.append(impression.viewer_id)
        self._before_posts.append(impression.post_id)

    def _widen(self, features: Mapping[str, float]) -> None:
        """Features first seen now get a column, missing (NaN) in every earlier row (rare: a change of the serving
        model's features)."""
        new = tuple(name for name in features if name not in self._order)
        if not new:
            return
        import numpy as np

        width, rows = len(self._order), len(self._labels)
        earlier = np.frombuffer(self._values, dtype=np.float64).reshape(rows, width)
        widened = np.full((rows, width + len(new)), math.nan)
        widened[:, :width] = earlier
        del earlier  # (releases the buffer it borrowed from `_values`)
        self._order, self._values = self._order + new, array("d", widened.tobytes())

    def build(self) -> Examples:
        import numpy as np

        names = tuple(sorted(self._order))
        rows = np.frombuffer(self._values, dtype=np.float64).reshape(len(self._labels), len(self._order))
        complete = ~np.isnan(rows).any(axis=1)
        post_ids = np.frombuffer(self._post_ids, dtype=np.int64)
        first, labels = first_showings(
            np.frombuffer(self._viewers, dtype=np.int64),
            post_ids,
            np.frombuffer(self._served, dtype=np.int64),
            np.frombuffer(self._before_viewers, dtype=np.int64),
            np.frombuffer(self._before_posts, dtype=np.int64),
            np.frombuffer(self._labels, dtype=np.int8),
        )
        kept = complete & first
        # one copy of the rows kept, columns by name (ten million rows of a dozen features are about 1 GB)
        columns = np.array([self._order.index(name) for name in names], dtype=np.intp)
        matrix = rows[np.ix_(np.flatnonzero(kept), columns)]
        return Examples(
            surface=self.surface,
            names=names,
            matrix=matrix,
            labels=labels[kept],
            pages=np.frombuffer(self._pages, dtype=np.int64)[kept],
            post_ids=post_ids[kept],
            incomplete=int((~complete).sum()),
            repeated=int((complete & ~first).sum()),
        )


def first_showings(
    viewers: Any, posts: Any, served: Any, before_viewers: Any, before_posts: Any, labels: Any
) -> tuple[Any, Any]:
    """Which rows are the first showing of their post to their viewer (not shown on an earlier day, `before_*`, nor
    earlier in these rows), and the labels with each first showing positive if any showing of its pair here was. A
    later showing is no new example: a person who engaged the first time does not engage again (its features raised
    by that engagement, it would teach that affinity predicts no engagement); an engagement after a later showing,
    even past the first one's window, still counts for the pair."""
    import numpy as np

    rows = len(viewers)
    earlier = len(before_viewers)
    all_viewers = np.concatenate([before_viewers, viewers])
    all_posts = np.concatenate([before_posts, posts])
    times = np.concatenate([np.full(earlier, np.iinfo(np.int64).min, dtype=np.int64), served])
    index = np.concatenate([np.full(earlier, -1, dtype=np.int64), np.arange(rows, dtype=np.int64)])
    order = np.lexsort((index, times, all_posts, all_viewers))
    v, p = all_viewers[order], all_posts[order]
    leads = np.r_[True, (v[1:] != v[:-1]) | (p[1:] != p[:-1])] if len(order) else np.zeros(0, dtype=bool)
    rows_in_order = index[order]
    chosen = rows_in_order[leads]
    first = np.zeros(rows, dtype=bool)
    first[chosen[chosen >= 0]] = True
    # each pair's label: the largest over its rows here (a row of an earlier day carries none)
    here = rows_in_order >= 0
    ordered = np.zeros(len(order), dtype=np.int8)
    ordered[here] = labels[rows_in_order[here]]
    starts = np.flatnonzero(leads)
    merged = labels.copy()
    if len(starts):
        any_positive = np.maximum.reduceat(ordered, starts)
        keep = chosen >= 0
        merged[chosen[keep]] = any_positive[keep]
    return first, merged


@dataclass(frozen=True)
class Guards:
    """The bounds outside which a surface's data is refused rather than trained on."""

    min_examples: int
    min_label_rate: float
    max_label_rate: float


def refusal(examples: Examples, guards: Guards) -> str | None:
    """Why these examples must not be trained on, or None when they may."""
    total = len(examples) + examples.incomplete + examples.repeated
    if total < guards.min_examples:
        return f"too few examples: {total} (at least {guards.min_examples})"
    if not examples.names:
        return "missing features: the impressions carry no features"
    if total and examples.incomplete / total > MISSING_FEATURE_SHARE:
        return (
            f"missing features: {examples.incomplete} of {total} impressions lack one of "
            f"{', '.join(examples.names)} (more than {MISSING_FEATURE_SHARE:.0%})"
        )
    if len(examples) < guards.min_examples:
        return f"too few examples: {len(examples)} (at least {guards.min_examples})"
    if not guards.min_label_rate <= examples.label_rate <= guards.max_label_rate:
        return (
            f"label rate {examples.label_rate:.4f} outside [{guards.min_label_rate}, {guards.max_label_rate}]: "
            "engagements missing or duplicated upstream?"
        )
    return None


def scores(model: RankingModel, examples: Examples) -> Any:
    """The model's log-odds for every row, as serving computes them (bounds applied; an absent feature is zero)."""
    import numpy as np

    z = np.full(len(examples), model.bias, dtype=np.float64)
    for name in model.features:
        if name in examples.names:
            values = examples.column(name)
            if name in model.bounds:
                values = np.clip(values, *model.bounds[name])
            z += model.weights[name] * values
    return z


def baseline_scores(examples: Examples) -> tuple[str, Any]:
    """The order a model must never fall below: newest first on the feed, most popular first on explore."""
    if examples.surface == "explore":
        for name in POPULARITY_FEATURES:
            if name in examples.names:
                return f"popularity ({name})", examples.column(name)
    return "chronological (newest first)", examples.post_ids.astype("float64")


@dataclass(frozen=True)
class Figures:
    auc: float
    ndcg: float

    def as_dict(self) -> dict[str, float]:
        return {"auc": round(self.auc, 6), "ndcg_at_10": round(self.ndcg, 6)}


def figures(row_scores: Any, examples: Examples) -> Figures:
    return Figures(auc=auc(row_scores, examples.labels), ndcg=ndcg(row_scores, examples))


def auc(row_scores: Any, labels: Any) -> float:
    """The chance a random positive outscores a random negative (ties count half), by average ranks."""
    import numpy as np

    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return 0.5
    _, inverse, counts = np.unique(row_scores, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    ranks = ((ends - counts + 1 + ends) / 2)[inverse]
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def ndcg(row_scores: Any, examples: Examples, k: int = NDCG_K) -> float:
    """Mean NDCG@k over the pages with a positive, each page's rows ordered by score (ties newest first)."""
    import numpy as np

    pages, labels = examples.pages, examples.labels.astype(np.float64)
    if not len(pages):
        return 0.0

    def dcg(order: Any) -> Any:
        ordered = pages[order]
        rank = _page_ranks(ordered)
        gain = np.where(rank < k, labels[order] / np.log2(rank + 2), 0.0)
        return np.bincount(ordered, weights=gain, minlength=int(pages.max()) + 1)

    actual = dcg(_page_order(row_scores, examples))
    ideal = dcg(np.lexsort((-labels, pages)))
    judged = ideal > 0
    return float((actual[judged] / ideal[judged]).mean()) if judged.any() else 0.0


def hit_rate(row_scores: Any, examples: Examples, top: int = 3) -> float:
    """Of the pages with a positive, the share with one among the `top` rows the scores put first (ties newest
    first, as NDCG breaks them)."""
    import numpy as np

    order = _page_order(row_scores, examples)
    pages, labels = examples.pages[order], examples.labels[order]
    rank = _page_ranks(pages)
    judged = np.unique(pages[labels == 1])
    hits = np.unique(pages[(labels == 1) & (rank < top)])
    return float(len(hits) / len(judged)) if len(judged) else 0.0


def _page_order(row_scores: Any, examples: Examples) -> Any:
    """The rows page by page, each page's by score, ties newest first."""
    import numpy as np

    return np.lexsort((-examples.post_ids, -row_scores, examples.pages))


def _page_ranks(pages: Any) -> Any:
    """Each row's 0-based position within its page, for rows grouped page by page."""
    import numpy as np

    starts = np.flatnonzero(np.r_[True, pages[1:] != pages[:-1]])
    return np.arange(len(pages)) - np.repeat(starts, np.diff(np.r_[starts, len(pages)]))


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def gate(candidate: Figures, serving: Figures | None, baseline: Figures, margin: float) -> Decision:
    """Promote only a model that beats the serving one on both AUC and NDCG@10 by `margin`, and is below the
    baseline on neither."""
    for name in ("auc", "ndcg"):
        if getattr(candidate, name) < getattr(baseline, name):
            return Decision(
                False,
                f"{name} {getattr(candidate, name):.4f} is below the baseline's {getattr(baseline, name):.4f}",
            )
    if serving is not None:
        for name in ("auc", "ndcg"):
            if getattr(candidate, name) < getattr(serving, name) + margin:
                return Decision(
                    False,
                    f"{name} {getattr(candidate, name):.4f} does not beat the serving model's "
                    f"{getattr(serving, name):.4f} by {margin}",
                )
        return Decision(True, f"beats the serving model by at least {margin} on AUC and NDCG@10, and the baseline")
    return Decision(True, "no serving model; at least the baseline on AUC and NDCG@10")


def report(
    surface: Surface,
    version: str,
    training: Examples | None,
    evaluation: Examples | None,
    measured: Mapping[str, Mapping[str, float]],
    decision: Decision,
    **extra: object,
) -> dict[str, object]:
    """What a run writes beside its model: the counts, the figures, the decision and why."""
    return {
        "surface": surface,
        "version": version,
        "examples": {
            "training": len(training) if training is not None else 0,
            "held_out": len(evaluation) if evaluation is not None else 0,
            "training_label_rate": round(training.label_rate, 6) if training is not None else None,
            "held_out_label_rate": round(evaluation.label_rate, 6) if evaluation is not None else None,
        },
        "figures": {name: dict(values) for name, values in measured.items()},
        "promoted": decision.promote,
        "reason": decision.reason,
        **extra,
    }
