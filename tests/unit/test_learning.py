"""Labels, guards, held-out figures and the gate of the ranking loop (aperture.learning)."""

from __future__ import annotations

import numpy as np
import pytest

from aperture.activity import Engagement, Impression
from aperture.learning import (
    ExampleBuilder,
    Figures,
    Guards,
    Labels,
    auc,
    baseline_scores,
    gate,
    ndcg,
    refusal,
)
from aperture.ranking import RankingModel, ndcg_at
from aperture.ranking import auc as reference_auc

HOUR = 3_600_000
WINDOW = 24 * HOUR
T = 1_800_000_000_000


def shown(post_id: int = 10, author_id: int = 7, viewer_id: int = 1, at: int = T, **features: float) -> Impression:
    return Impression("feed", viewer_id, post_id, author_id, 0, at, "m1", features or {"recency": 0.5})


def labels(*engagements: Engagement) -> Labels:
    return Labels(engagements, WINDOW)


@pytest.mark.parametrize("action", ["like", "comment", "save", "share"])
def test_an_engagement_with_the_post_within_the_window_labels_the_impression_positive(action: str) -> None:
    engaged = Engagement(action, viewer_id=1, author_id=7, at=T + 23 * HOUR, post_id=10)  # type: ignore[arg-type]
    assert labels(engaged).positive(shown())


def test_opening_the_authors_profile_labels_every_impression_of_their_posts_positive() -> None:
    opened = Engagement("profile_open", viewer_id=1, author_id=7, at=T + HOUR)
    assert labels(opened).positive(shown(post_id=10)) and labels(opened).positive(shown(post_id=11))
    assert not labels(opened).positive(shown(author_id=8))


def test_engagements_before_the_impression_after_the_window_or_by_someone_else_do_not_count() -> None:
    before = Engagement("like", viewer_id=1, author_id=7, at=T - 1, post_id=10)
    late = Engagement("like", viewer_id=1, author_id=7, at=T + WINDOW + 1, post_id=10)
    other_viewer = Engagement("like", viewer_id=2, author_id=7, at=T + HOUR, post_id=10)
    other_post = Engagement("like", viewer_id=1, author_id=7, at=T + HOUR, post_id=11)
    assert not labels(before, late, other_viewer, other_post).positive(shown())
    # (the window's edges are inside it)
    assert labels(Engagement("like", viewer_id=1, author_id=7, at=T + WINDOW, post_id=10)).positive(shown())


def test_examples_keep_the_logged_features_by_name_and_leave_out_incomplete_rows() -> None:
    builder = ExampleBuilder("feed", labels(Engagement("like", viewer_id=1, author_id=7, at=T + 1, post_id=10)))
    builder.add(shown(post_id=10, recency=0.9, author_affinity=2.0))
    builder.add(shown(post_id=11, recency=0.1, author_affinity=0.0))
    builder.add(shown(post_id=12, recency=0.5))  # lacks author_affinity
    examples = builder.build()
    assert examples.names == ("author_affinity", "recency")
    assert examples.matrix.tolist() == [[2.0, 0.9], [0.0, 0.1]]
    assert examples.labels.tolist() == [1, 0] and examples.incomplete == 1


def test_only_the_first_showing_of_a_post_to_a_viewer_is_an_example_labelled_by_any_engagement_in_its_window() -> None:
    # Shown at T (no reaction), again at T+2h (liked then), and at T+5h (after the like): one example, positive.
    liked = labels(Engagement("like", viewer_id=1, author_id=7, at=T + 2 * HOUR, post_id=10))
    builder = ExampleBuilder("feed", liked)
    builder.add(shown(post_id=10, at=T + 5 * HOUR, recency=0.2))  # (rows need not come in time order)
    builder.add(shown(post_id=10, at=T, recency=0.9))
    builder.add(shown(post_id=10, at=T + 2 * HOUR, recency=0.5))
    builder.add(shown(post_id=10, viewer_id=2, at=T + 5 * HOUR, recency=0.2))  # another viewer's first showing
    examples = builder.build()
    assert examples.matrix.tolist() == [[0.9], [0.2]]  # (rows keep the order they were added in)
    assert examples.labels.tolist() == [1, 0] and examples.repeated == 2

    # A post shown again more than a window later and engaged with then: still one example, and a positive one
    late = ExampleBuilder("feed", labels(Engagement("like", viewer_id=1, author_id=7, at=T + 31 * HOUR, post_id=10)))
    late.add(shown(post_id=10, at=T))
    late.add(shown(post_id=10, at=T + 30 * HOUR))
    assert late.build().labels.tolist() == [1]

    # A post the viewer was shown on an earlier day is no example on this one.
    held = ExampleBuilder("feed", liked)
    held.shown_before(shown(post_id=10, at=T - 24 * HOUR))
    held.add(shown(post_id=10, at=T))
    held.add(shown(post_id=11, at=T))
    assert held.build().post_ids.tolist() == [11]

    # And a day with none of a surface's impressions, after days with some, is an empty set (refused), not an error
    empty = ExampleBuilder("feed", liked)
    empty.shown_before(shown(post_id=10, at=T - 24 * HOUR))
    assert len(empty.build()) == 0


def test_guards_refuse_too_few_examples_an_odd_label_rate_and_missing_features() -> None:
    guards = Guards(min_examples=3, min_label_rate=0.01, max_label_rate=0.5)
    everyone_liked = labels(*(Engagement("like", 1, 7, T + 1, post_id=p) for p in range(10)))
    builder = ExampleBuilder("feed", everyone_liked)
    for post_id in range(2):
        builder.add(shown(post_id=post_id))
    assert "too few examples" in str(refusal(builder.build(), guards))
    for post_id in range(2, 10):
        builder.add(shown(post_id=post_id))
    assert "label rate 1.0000" in str(refusal(builder.build(), guards))
    patchy = ExampleBuilder("feed", labels())
    for post_id in range(10):
        patchy.add(shown(post_id=post_id, recency=0.5, **({} if post_id % 2 else {"author_affinity": 1.0})))
    assert "missing features: 5 of 10" in str(refusal(patchy.build(), guards))


def test_auc_and_ndcg_agree_with_the_reference_implementations() -> None:
    # Given three pages of scored impressions with ties
    rng = np.random.default_rng(4)
    builder = ExampleBuilder("feed", labels())
    for index in range(60):
        builder.add(
            Impression("feed", index % 3, 100 + index, 7, 0, T, "m", {"recency": 0.5}, request_id=str(index % 3))
        )
    examples = builder.build()
    examples.labels = (rng.random(60) < 0.3).astype(np.int8)
    row_scores = np.round(rng.random(60), 1)
    # Then the vectorised AUC is the reference's, and NDCG is the mean of each page's (ties: newest first)
    assert auc(row_scores, examples.labels) == pytest.approx(
        reference_auc(row_scores.tolist(), examples.labels.tolist())
    )
    pages = []
    for page in range(3):
        rows = [i for i in range(60) if i % 3 == page]
        ordered = sorted(rows, key=lambda i: (-row_scores[i], -examples.post_ids[i]))
        if examples.labels[rows].any():
            pages.append(ndcg_at([int(examples.labels[i]) for i in ordered]))
    assert ndcg(row_scores, examples) == pytest.approx(sum(pages) / len(pages))


def test_the_feeds_baseline_is_newest_first_and_explores_is_popularity() -> None:
    feed = ExampleBuilder("feed", labels())
    feed.add(shown(post_id=5))
    assert baseline_scores(feed.build())[0].startswith("chronological")
    explore = ExampleBuilder("explore", labels())
    explore.add(Impression("explore", 1, 5, 7, 0, T, "m", {"author_popularity": 3.0, "evidence": 1.0}))
    name, values = baseline_scores(explore.build())
    assert name == "popularity (author_popularity)" and values.tolist() == [3.0]


def test_the_gate_promotes_only_a_model_better_than_serving_by_the_margin_and_never_below_the_baseline() -> None:
    serving, baseline = Figures(auc=0.70, ndcg=0.50), Figures(auc=0.60, ndcg=0.45)
    assert gate(Figures(0.75, 0.55), serving, baseline, margin=0.01).promote
    assert not gate(Figures(0.705, 0.55), serving, baseline, margin=0.01).promote  # AUC within the margin
    assert not gate(Figures(0.75, 0.50), serving, baseline, margin=0.01).promote  # NDCG no better
    refused = gate(Figures(0.59, 0.60), None, baseline, margin=0.01)
    assert not refused.promote and "below the baseline" in refused.reason


def test_serving_clips_features_to_the_models_bounds() -> None:
    model = RankingModel(
        weights={"engagement": 1.0}, bias=0.0, version="b", features=("engagement",), bounds={"engagement": (0.0, 2.0)}
    )
    assert model.probability({"engagement": 1e9}) == model.probability({"engagement": 2.0})
    assert model.probability({"engagement": float("nan")}) == model.probability({"engagement": 0.0})
    assert RankingModel.from_json(model.to_json()) == model


def test_a_feature_first_logged_later_or_in_another_order_lands_in_its_own_column() -> None:
    # Given impressions whose features come in two orders, and one that brings a feature no earlier one had
    builder = ExampleBuilder("feed", labels())
    builder.add(shown(post_id=1, recency=0.1, author_affinity=1.0))
    builder.add(shown(post_id=2, author_affinity=2.0, recency=0.2))
    builder.add(shown(post_id=3, recency=0.3, author_affinity=3.0, engagement=0.5))
    builder.add(shown(post_id=4, engagement=0.6, recency=0.4, author_affinity=4.0))
    # When the examples are built
    examples = builder.build()
    # Then every value is under its name, and the rows before the new feature are incomplete (left out)
    assert examples.names == ("author_affinity", "engagement", "recency")
    assert examples.matrix.tolist() == [[3.0, 0.5, 0.3], [4.0, 0.6, 0.4]]
    assert examples.post_ids.tolist() == [3, 4] and examples.incomplete == 2


def test_a_viewer_who_engaged_with_a_post_several_times_labels_by_the_first_engagement_after_each_showing() -> None:
    # Given bob liked post 10 long before, unliked and commented on it long after (outside the window of T)...
    earlier = Engagement("like", viewer_id=1, author_id=7, at=T - 2 * WINDOW, post_id=10)
    later = Engagement("comment", viewer_id=1, author_id=7, at=T + 2 * WINDOW, post_id=10)
    found = labels(earlier, later)
    # Then an impression at T is negative, and one shown a day after T (the comment within its window) positive
    assert not found.positive(shown(at=T))
    assert found.positive(shown(at=T + WINDOW + HOUR))
    # ...and two profile opens of the author likewise
    opens = labels(Engagement("profile_open", 1, 7, T - WINDOW - 1), Engagement("profile_open", 1, 7, T + HOUR))
    assert opens.positive(shown(at=T, post_id=99)) and not opens.positive(shown(at=T + 2 * HOUR, post_id=99))
