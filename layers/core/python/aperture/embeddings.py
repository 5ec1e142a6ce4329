"""Users and posts in one vector space, learned from who engaged with what (explore's ANN retrieval).

The model is a truncated SVD of the recent user x post engagement matrix (implicit-feedback matrix
factorisation): two users are close when they engage with the same posts, two posts when the same people engage
with them, and a user is close to the posts their neighbours liked. Each user's row is scaled by 1/sqrt(their
engagements), so a few prolific likers do not define the space. A post nobody has engaged with yet takes the mean
of its hashtags' vectors (each hashtag is the mean of its engaged posts), so new posts on known topics are
retrievable from their first minute. All vectors are unit length: similarity is the inner product.

Randomized SVD (Halko, Martinsson and Tropp, 2011) with two power iterations, on the sparse matrix as coordinate
arrays, so memory is linear in the engagements; deterministic for a given seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

OVERSAMPLING = 10
POWER_ITERATIONS = 2


@dataclass(frozen=True)
class Embeddings:
    dimensions: int
    posts: dict[int, list[float]] = field(default_factory=dict)
    users: dict[int, list[float]] = field(default_factory=dict)
    tags: dict[str, list[float]] = field(default_factory=dict)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def embed(
    engagers: Mapping[int, Sequence[int]],
    hashtags: Mapping[int, Sequence[str]],
    dimensions: int,
    seed: int = 7,
) -> Embeddings:
    """Vectors for the posts of `hashtags` (post id -> its tags) from `engagers` (post id -> user ids)."""
    post_ids = [p for p in hashtags if engagers.get(p)]
    user_ids = sorted({u for p in post_ids for u in engagers[p]})
    result = Embeddings(dimensions)
    rank = min(dimensions, len(post_ids) - 1, len(user_ids) - 1)
    if rank >= 1:
        user_index = {u: i for i, u in enumerate(user_ids)}
        rows = np.fromiter((user_index[u] for p in post_ids for u in engagers[p]), dtype=np.int64)
        cols = np.fromiter((j for j, p in enumerate(post_ids) for _ in engagers[p]), dtype=np.int64)
        degree = np.bincount(rows, minlength=len(user_ids)).astype(np.float64)
        values = 1.0 / np.sqrt(degree[rows])
        user_factors, post_factors = _svd(rows, cols, values, (len(user_ids), len(post_ids)), rank, seed)
        post_vectors = _pad(_unit_rows(post_factors), dimensions)
        user_vectors = _pad(_unit_rows(user_factors), dimensions)
        result.posts.update({p: post_vectors[j].tolist() for j, p in enumerate(post_ids)})
        result.users.update({u: user_vectors[i].tolist() for i, u in enumerate(user_ids)})
    result.tags.update(_tag_vectors(result.posts, hashtags, dimensions))
    for post_id, tags in hashtags.items():
        if post_id not in result.posts:
            folded = fold_in([result.tags[t] for t in tags if t in result.tags], dimensions)
            if folded is not None:
                result.posts[post_id] = folded
    return result


def fold_in(
    vectors: Sequence[Sequence[float]], dimensions: int, weights: Sequence[float] | None = None
) -> list[float] | None:
    """The unit-length (weighted) mean of `vectors`, or None when there are none or they cancel out."""
    if not vectors:
        return None
    matrix = np.asarray(vectors, dtype=np.float64).reshape(len(vectors), dimensions)
    w = np.asarray(weights if weights is not None else [1.0] * len(vectors), dtype=np.float64)
    mean = (matrix * w[:, None]).sum(axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm).tolist() if norm > 1e-9 else None


def _tag_vectors(
    posts: Mapping[int, list[float]], hashtags: Mapping[int, Sequence[str]], dimensions: int
) -> dict[str, list[float]]:
    members: dict[str, list[list[float]]] = {}
    for post_id, vector in posts.items():
        for tag in hashtags.get(post_id, ()):
            members.setdefault(tag, []).append(vector)
    tags = {tag: fold_in(vectors, dimensions) for tag, vectors in members.items()}
    return {tag: vector for tag, vector in tags.items() if vector is not None}


def _pad(matrix: np.ndarray, dimensions: int) -> np.ndarray:
    if matrix.shape[1] == dimensions:
        return matrix
    return np.hstack([matrix, np.zeros((matrix.shape[0], dimensions - matrix.shape[1]))])


def _svd(
    rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int], rank: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(users x rank, posts x rank) factors, each scaled by the square root of the singular values."""
    n_users, n_posts = shape

    # Products with the sparse matrix one column at a time: bincount sums in C, and the temporaries stay the size
    # of the engagements (not engagements x width, which took 830 MB for a million engagements).
    def times(x: np.ndarray) -> np.ndarray:  # A @ x
        columns = [np.bincount(rows, weights=values * x[cols, j], minlength=n_users) for j in range(x.shape[1])]
        return np.column_stack(columns)

    def transposed_times(y: np.ndarray) -> np.ndarray:  # A.T @ y
        columns = [np.bincount(cols, weights=values * y[rows, j], minlength=n_posts) for j in range(y.shape[1])]
        return np.column_stack(columns)

    width = min(rank + OVERSAMPLING, n_users, n_posts)
    probe = np.random.default_rng(seed).standard_normal((n_posts, width))
    basis, _ = np.linalg.qr(times(probe))
    for _ in range(POWER_ITERATIONS):
        basis, _ = np.linalg.qr(times(transposed_times(basis)))
    small = transposed_times(basis).T  # basis.T @ A: width x posts
    left, singular, right_t = np.linalg.svd(small, full_matrices=False)
    scale = np.sqrt(singular[:rank])
    users = (basis @ left[:, :rank]) * scale
    posts = right_t[:rank].T * scale
    return users, posts
