"""Explore's own ranking model: its features (one per retrieval source, all bounded), the shipped default, and
the features stored beside a ranked list."""

from __future__ import annotations

import json
import math
from importlib import resources

from hypothesis import given
from hypothesis import strategies as st

from aperture.adapters.redis_store.explore import GLOBAL, RankedFeatures
from aperture.explore import Model, Viewer, evidence_by_source, rank_viewer, ranked_list
from aperture.explore_ranking import BOUNDS, EXPLORE_FEATURES, SOURCES, Author, default_model, explore_features
from aperture.ranking import Candidate, RankingModel

NOW = 1_800_000_000_000
HOUR_MS = 3_600_000


def _viewer(region: str = "BR", topics: dict[str, float] | None = None) -> Viewer:
    return Viewer(
        user_id=1,
        region=region,
        followees=frozenset(),
        hidden=frozenset(),
        engaged=(),
        seen=frozenset(),
        author_affinity={},
        topic_affinity=topics or {},
        vector=None,
    )


def _model(posts: list[Candidate], **pools: list[int]) -> Model:
    return Model(
        generation="1",
        built_at=NOW,
        posts={c.post_id: c for c in posts},
        popular={GLOBAL: pools.get("popular", []), "BR": pools.get("regional", [])},
        topics={"cats": pools.get("topics", [])},
        tag_vectors={},
        authors={10: Author(followers=5_000, region="BR", engagement_per_post=40.0)},
        photos={1: 3, 2: 1},
    )


def _post(post_id: int, author: int = 10, hours_old: float = 1.0, tags: tuple[str, ...] = ("cats",)) -> Candidate:
    return Candidate(post_id, author, NOW - int(hours_old * HOUR_MS), 0, 0, tags)


def test_each_retrieval_source_is_a_feature_of_its_own() -> None:
    # Given post 1 vouched for by collaborative filtering, 2 by the k-NN index, 3 by the viewer's region's pool,
    # 4 by the overall pool and 5 by the viewer's favourite topic's pool
    posts = [_post(p) for p in range(1, 6)]
    model = _model(posts, regional=[3], popular=[4], topics=[5])
    evidence = evidence_by_source(model, _viewer(topics={"cats": 2.0}), {1: 3.0}, [(2, 0.8)])
    # Then each post's evidence names the one source that vouched for it
    assert {p: set(e) for p, e in evidence.items()} == {
        1: {"similar"},
        2: {"neighbours"},
        3: {"regional"},
        4: {"popular"},
        5: {"topics"},
    }
    # And each is a feature, the rest zero
    for post_id, source in zip(range(1, 6), SOURCES, strict=True):
        values = _features(posts[post_id - 1], evidence[post_id])
        assert values[f"source_{source}"] > 0
        assert all(values[f"source_{s}"] == 0 for s in SOURCES if s != source)


def _features(candidate: Candidate, evidence: dict[str, float], **kwargs: object) -> dict[str, float]:
    arguments: dict[str, object] = {
        "viewer_region": "BR",
        "author": None,
        "photos": 1,
        "author_affinity": {},
        "topic_affinity": {},
        "now_ms": NOW,
    }
    arguments.update(kwargs)
    return explore_features(candidate, evidence, **arguments)  # type: ignore[arg-type]


def test_region_author_and_content_features() -> None:
    author = Author(followers=5_000, region="BR", engagement_per_post=40.0)
    values = _features(_post(1), {"popular": 1.0}, author=author, photos=3, topic_affinity={"cats": 3.0})
    assert values["region_match"] == 1.0
    assert values["author_popularity"] == math.log1p(5_000)
    assert values["author_engagement"] == math.log1p(40.0)
    assert values["carousel"] == 1.0
    assert values["topic_affinity"] == math.log1p(3.0)
    assert values["recency"] == math.exp(-1 / 24)
    # An unknown region (the viewer's or the author's) is never a match; one photo is no carousel
    assert _features(_post(1), {}, author=author, viewer_region="")["region_match"] == 0.0
    assert _features(_post(1), {}, author=None)["region_match"] == 0.0
    assert _features(_post(1), {}, photos=1)["carousel"] == 0.0


@given(
    st.dictionaries(st.sampled_from(SOURCES), st.floats(-1e6, 1e6, allow_nan=False), max_size=5),
    st.integers(-(10**9), 10**12),
    st.integers(0, 10**9),
    st.floats(-1e9, 1e12, allow_nan=False),
    st.integers(-(10**14), 10**14),
    st.floats(0, 1e12, allow_nan=False),
)
def test_every_feature_stays_within_its_bounds(
    evidence: dict[str, float], followers: int, likes: int, rate: float, age_ms: int, affinity: float
) -> None:
    candidate = Candidate(1, 10, NOW - age_ms, likes, likes, ("cats",))
    values = _features(
        candidate,
        evidence,
        author=Author(followers, "BR", rate),
        author_affinity={10: affinity},
        topic_affinity={"cats": affinity},
        photos=likes,
    )
    assert list(values) == list(EXPLORE_FEATURES)
    for name, value in values.items():
        low, high = BOUNDS[name]
        assert low <= value <= high, (name, value)


def test_the_shipped_default_names_the_explore_features() -> None:
    model = default_model()
    assert model.features == EXPLORE_FEATURES
    assert json.loads((resources.files("aperture") / "explore_model.json").read_text())["version"] == model.version


def test_explore_ranks_with_the_explore_models_weights() -> None:
    # Given two posts equally vouched for by the overall pool, one by an author of the viewer's region
    posts = [_post(1, author=10), _post(2, author=20)]
    model = Model(
        generation="1",
        built_at=NOW,
        posts={c.post_id: c for c in posts},
        popular={GLOBAL: [2, 1]},
        topics={},
        tag_vectors={},
        authors={10: Author(0, "BR", 0.0), 20: Author(0, "JP", 0.0)},
    )
    weights = dict.fromkeys(EXPLORE_FEATURES, 0.0)
    by_region = RankingModel({**weights, "region_match": 3.0}, -5.0, "regional", EXPLORE_FEATURES)
    by_evidence = RankingModel({**weights, "evidence": 1.0}, -5.0, "evidence", EXPLORE_FEATURES)
    # Then a model weighing region match puts the viewer's region first, one weighing evidence the more popular
    assert rank_viewer(model, _viewer("BR"), {}, [], by_region, NOW, 10) == [1, 2]
    assert rank_viewer(model, _viewer("BR"), {}, [], by_evidence, NOW, 10) == [2, 1]
    # And the ranked list carries the model's version and the features it scored each post with
    ranked = ranked_list(model, _viewer("BR"), {}, [], by_region, NOW, 10)
    assert ranked.model == "regional"
    assert ranked.features[1]["region_match"] == 1.0 and ranked.features[2]["region_match"] == 0.0


def test_a_generation_written_before_explore_had_its_own_model_still_ranks() -> None:
    old = {
        "generation": "1",
        "built_at": NOW,
        "posts": {"1": [10, NOW, 0, 0, ["cats"]]},
        "popular": {GLOBAL: [1]},
        "topics": {},
        "tag_vectors": {},
    }
    model = Model.from_json(old)
    assert rank_viewer(model, _viewer(), {}, [], default_model(), NOW, 10) == [1]


def test_stored_features_round_trip_to_four_decimals() -> None:
    stored = RankedFeatures("v1", {7: {"recency": 0.123456, "evidence": -1.0}, 8: {"recency": 1.0, "evidence": 2.0}})
    decoded = RankedFeatures.decode(stored.encode())
    assert decoded is not None and decoded.model == "v1"
    assert decoded.features == {7: {"recency": 0.1235, "evidence": -1.0}, 8: {"recency": 1.0, "evidence": 2.0}}
    assert RankedFeatures.decode("not base64 zlib") is None
    assert RankedFeatures.decode(None) is None
