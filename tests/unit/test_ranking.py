"""The ranking model: its metrics, its training, and the offline check on a synthetic world."""

from __future__ import annotations

import json

import pytest

from aperture.ranking import FEATURES, Candidate, RankingModel, auc, features, ndcg_at, rank, train
from bench.world import evaluate, generate

NOW = 1_800_000_000_000
HOUR = 3_600_000


def test_auc_is_one_for_a_perfect_order_a_half_for_ties_and_zero_reversed() -> None:
    assert auc([0.1, 0.4, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]) == 0.5
    assert auc([0.9, 0.8, 0.1], [0, 0, 1]) == 0.0


def test_ndcg_rewards_relevant_items_near_the_top() -> None:
    assert ndcg_at([1, 0, 0]) == 1.0
    assert 0 < ndcg_at([0, 0, 1]) < ndcg_at([0, 1, 0]) < 1.0
    assert ndcg_at([0, 0]) == 0.0


def test_training_learns_which_feature_predicts_engagement() -> None:
    # Given examples where only author affinity decides the label
    examples = [
        ({"recency": r / 10, "author_affinity": a, "engagement": 0.5, "topic_affinity": 0.2}, int(a > 1))
        for a in (0.0, 0.5, 1.5, 2.0)
        for r in range(10)
    ]
    model = train(examples, epochs=300)
    assert model.weights["author_affinity"] > 1.0
    assert abs(model.weights["recency"]) < model.weights["author_affinity"]
    assert auc([model.probability(x) for x, _ in examples], [y for _, y in examples]) == 1.0


def test_a_model_survives_its_json_round_trip_and_the_default_loads() -> None:
    model = RankingModel(weights=dict.fromkeys(FEATURES, 0.5), bias=-1.0, version="t1")
    assert RankingModel.from_json(model.to_json()) == model
    default = RankingModel.default()
    assert set(default.weights) == set(FEATURES) and json.loads(default.to_json())["version"] == default.version


def test_ranking_puts_a_favourite_authors_post_first_and_keeps_newest_first_on_ties() -> None:
    old_favourite = Candidate(1, author_id=7, created_at=NOW - 5 * HOUR, like_count=0, comment_count=0, hashtags=())
    newer_stranger = Candidate(2, author_id=8, created_at=NOW - HOUR, like_count=0, comment_count=0, hashtags=())
    model = RankingModel.default()
    assert rank([newer_stranger, old_favourite], model, NOW, {7: 20.0}, {}) == [1, 2]
    twin = Candidate(3, author_id=8, created_at=NOW - HOUR // 2, like_count=0, comment_count=0, hashtags=())
    assert rank([newer_stranger, twin], model, NOW, {}, {}) == [3, 2]


def test_features_stay_small_for_huge_and_old_posts() -> None:
    viral = Candidate(1, 1, NOW - 1000 * HOUR, like_count=10**7, comment_count=10**6, hashtags=("cats",))
    values = features(viral, NOW, {1: 1e6}, {"cats": 1e6})
    assert all(0 <= v < 20 for v in values.values())


@pytest.mark.parametrize("seed", [3, 11])
def test_on_a_synthetic_world_ranked_beats_chronological_on_held_out_likes(seed: int) -> None:
    result = evaluate(generate(400, seed), viewers=300)
    assert result.auc_ranked > result.auc_chronological + 0.05
    assert result.ndcg_ranked > result.ndcg_chronological
