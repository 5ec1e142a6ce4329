"""The in-process FAISS k-NN index: the explore retrieval `make dev` and the tests use in place of OpenSearch."""

from __future__ import annotations

import numpy as np
import pytest

from aperture.adapters.vectors import FaissIndex

DIMENSIONS = 32


def _unit_vectors(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((count, DIMENSIONS)).astype(np.float32)
    normalized: np.ndarray = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    return normalized


def _as_mapping(matrix: np.ndarray, first_id: int) -> dict[int, list[float]]:
    return {first_id + i: row.tolist() for i, row in enumerate(matrix)}


def test_nearest_finds_the_true_nearest_neighbours() -> None:
    # Given 2,000 unit vectors (post ids from 10,000) and 50 unit queries
    posts = _unit_vectors(2_000, seed=7)
    queries = _unit_vectors(50, seed=8)
    index = FaissIndex(DIMENSIONS)
    index.replace("g1", _as_mapping(posts, first_id=10_000))
    # When each query asks for its 10 nearest posts
    found = [index.nearest(query.tolist(), 10) for query in queries]
    # Then at least 95% of the exact top 10 by inner product (brute force) are among them
    exact = np.argsort(-(queries @ posts.T), axis=1)[:, :10] + 10_000
    hits = sum(
        len({post for post, _ in answer} & set(truth.tolist())) for answer, truth in zip(found, exact, strict=True)
    )
    assert hits / exact.size >= 0.95
    # And each answer is 10 posts, most similar first, scored with their inner product with the query
    for query, answer in zip(queries, found, strict=True):
        assert len(answer) == 10
        scores = [score for _, score in answer]
        assert scores == sorted(scores, reverse=True)
        for post, score in answer:
            assert score == pytest.approx(float(posts[post - 10_000] @ query), abs=1e-5)


def test_nearest_is_empty_before_the_first_generation() -> None:
    assert FaissIndex(DIMENSIONS).nearest(_unit_vectors(1, seed=1)[0].tolist(), 10) == []


def test_replace_swaps_in_the_whole_new_generation() -> None:
    # Given a first generation of posts 1-100
    index = FaissIndex(DIMENSIONS)
    index.replace("g1", _as_mapping(_unit_vectors(100, seed=2), first_id=1))
    # When the next generation holds posts 501-600 only
    newer = _unit_vectors(100, seed=3)
    index.replace("g2", _as_mapping(newer, first_id=501))
    # Then every answer comes from it: no post of the old generation is found any more
    found = index.nearest(newer[0].tolist(), 100)
    assert {post for post, _ in found} == set(range(501, 601))
    assert found[0] == (501, pytest.approx(1.0, abs=1e-5))


def test_an_empty_generation_empties_the_index() -> None:
    index = FaissIndex(DIMENSIONS)
    index.replace("g1", _as_mapping(_unit_vectors(10, seed=4), first_id=1))
    index.replace("g2", {})
    assert index.nearest(_unit_vectors(1, seed=5)[0].tolist(), 10) == []
