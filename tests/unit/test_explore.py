"""Explore's pure parts: diversification, the embedding model, candidate filters and the cursor."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aperture.embeddings import embed
from aperture.errors import InvalidCursorError
from aperture.explore import (
    MAX_PER_AUTHOR,
    MAX_PER_TOPIC,
    WINDOW,
    Viewer,
    allowed,
    decode_cursor,
    diversify,
    encode_cursor,
)
from aperture.ranking import Candidate


def _post(post_id: int, author: int, *tags: str) -> Candidate:
    return Candidate(post_id, author, created_at=0, like_count=0, comment_count=0, hashtags=tags)


@given(
    st.lists(st.tuples(st.integers(1, 8), st.sampled_from(["a", "b", "c", "d", ""])), max_size=60),
    st.integers(0, 80),
)
def test_diversify_returns_the_best_candidates_each_once(pool: list[tuple[int, str]], size: int) -> None:
    ranked = [_post(i, author, *([tag] if tag else [])) for i, (author, tag) in enumerate(pool)]
    chosen = diversify(ranked, {"a"}, size)
    assert len(chosen) == len(set(chosen)) == min(size, len(ranked))
    assert set(chosen) <= {c.post_id for c in ranked}
    if ranked and size:
        assert chosen[0] == ranked[0].post_id  # the best post always leads


def test_diversify_keeps_the_ranking_when_there_is_nothing_to_spread() -> None:
    ranked = [_post(i, i, f"t{i}") for i in range(30)]
    assert diversify(ranked, set(), 20) == list(range(20))


def test_no_window_repeats_an_author_or_crowds_a_topic_while_variety_remains() -> None:
    # Given a ranking led by one prolific author's food photos, with varied posts further down
    rng = random.Random(3)
    prolific = [_post(i, 1, "food") for i in range(30)]
    varied = [_post(100 + i, 10 + i, rng.choice(["food", "art", "sport", "travel", "music"])) for i in range(60)]
    chosen = diversify(prolific + varied, {"food"}, 40)
    by_id = {c.post_id: c for c in prolific + varied}
    # Then every window of ten holds each author at most once, each topic at most three times, and a non-food post
    for start in range(len(chosen) - WINDOW + 1):
        window = [by_id[p] for p in chosen[start : start + WINDOW]]
        authors = [c.author_id for c in window]
        topics = [c.hashtags[0] for c in window]
        assert max(authors.count(a) for a in authors) <= MAX_PER_AUTHOR
        assert max(topics.count(t) for t in topics) <= MAX_PER_TOPIC
        assert any(t != "food" for t in topics)


def test_a_post_outside_the_favourite_topics_is_injected_into_every_ten() -> None:
    # Given twenty food posts (distinct authors and ranks) and one art post ranked last
    food = [_post(i, i, f"food{i % 3}") for i in range(20)]
    art = _post(99, 99, "art")
    chosen = diversify([*food, art], {"food0", "food1", "food2"}, 10)
    # Then the art post makes the first ten
    assert 99 in chosen


def test_posts_from_oneself_followees_blocked_seen_or_engaged_are_never_candidates() -> None:
    viewer = Viewer(
        user_id=1,
        region="",
        followees=frozenset({2}),
        hidden=frozenset({3}),
        engaged=(40,),
        seen=frozenset({50}),
        author_affinity={},
        topic_affinity={},
        vector=None,
    )
    assert [allowed(_post(p, a), viewer) for p, a in ((10, 1), (20, 2), (30, 3), (40, 9), (50, 9), (60, 9))] == [
        False,
        False,
        False,
        False,
        False,
        True,
    ]


def _communities(seed: int = 1) -> tuple[dict[int, list[int]], dict[int, tuple[str, ...]]]:
    """Users 0-39 like posts 0-49 (cats), users 40-79 like posts 50-99 (cars); a few cross over."""
    rng = random.Random(seed)
    engagers: dict[int, list[int]] = {p: [] for p in range(100)}
    for user in range(80):
        home = range(0, 50) if user < 40 else range(50, 100)
        for post in rng.sample(list(home), 8):
            engagers[post].append(user)
        if rng.random() < 0.1:
            engagers[rng.randrange(100)].append(user)
    tags = {p: ("cats",) if p < 50 else ("cars",) for p in range(100)}
    tags[500] = ("cats",)  # a new post nobody has engaged with yet
    return engagers, tags


def test_the_embedding_retrieves_posts_of_the_viewers_own_community() -> None:
    # Given two communities (cats and cars) that like their own posts, with a little crossing over
    engagers, tags = _communities()
    vectors = embed(engagers, tags, dimensions=16)
    ids = sorted(p for p in vectors.posts if p != 500)
    matrix = np.asarray([vectors.posts[p] for p in ids])
    liked: dict[int, set[int]] = {}
    for post, users in engagers.items():
        for user in users:
            liked.setdefault(user, set()).add(post)

    def nearest(vector: list[float], exclude: set[int]) -> list[int]:
        order = np.argsort(-(matrix @ np.asarray(vector)))
        return [ids[i] for i in order if ids[i] not in exclude][:10]

    # Then a user's ten nearest posts they have not liked are nearly all from their own community
    precision = np.mean(
        [np.mean([(p < 50) == (user < 40) for p in nearest(vectors.users[user], liked[user])]) for user in range(80)]
    )
    assert precision >= 0.9
    # And a post nobody engaged with yet is placed by its hashtag, among its topic's posts
    assert all(p < 50 for p in nearest(vectors.posts[500], set()))
    # And every vector has unit length
    assert all(abs(np.linalg.norm(v) - 1) < 1e-6 for v in vectors.posts.values())


def test_the_embedding_is_deterministic_and_copes_with_tiny_worlds() -> None:
    engagers, tags = _communities()
    assert embed(engagers, tags, 16).posts == embed(engagers, tags, 16).posts
    # One post with one engager: nothing to factorise, no vectors, no error
    assert embed({1: [7]}, {1: ()}, 16).posts == {}


def test_cursors_round_trip_and_garbage_is_refused() -> None:
    assert decode_cursor(encode_cursor("1764000000000", 40)) == ("1764000000000", 40)
    assert decode_cursor(None) is None
    for bad in ("abc", "1.2.3", "12", ".4", "1." + "9" * 7):
        with pytest.raises(InvalidCursorError):
            decode_cursor(bad)


def test_only_the_functions_that_embed_pay_for_importing_numpy() -> None:
    # Every function shares the layer; numpy adds to a cold start, so only explore's functions may load it.
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]  # `python -c` imports from its working directory

    probe = (
        "import sys, importlib; importlib.import_module(sys.argv[1]);"
        " print(sorted(m for m in ('numpy', 'opensearchpy', 'faiss') if m in sys.modules))"
    )
    for handler in ("functions.feed.handler", "functions.interactions.handler", "functions.posts.handler"):
        out = subprocess.run(
            [sys.executable, "-c", probe, handler], capture_output=True, text=True, check=True, cwd=root
        )
        assert out.stdout.strip() == "[]", (handler, out.stdout, out.stderr)
