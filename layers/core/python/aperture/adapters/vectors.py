"""Explore's k-NN index of post embeddings: the port, and the in-process FAISS adapter used locally.

On AWS the same port is served by OpenSearch (aperture.adapters.opensearch). Vectors are unit length and
similarity is the inner product (cosine). `replace` publishes a whole new generation at once, so a query never
sees half an index: the refresh job rebuilds the embeddings from scratch every 15 minutes.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

# HNSW parameters, the same for OpenSearch's faiss engine and FAISS here. On 100,000 clustered 32-d vectors
# (bench/explore.py) ef_search 128/256/512 gave recall@100 0.85/0.92/0.97 at 0.17/0.29/0.53 ms a query, with
# ef_construction 128 (FAISS's default of 40 gave 0.63 at 128).
HNSW_LINKS = 32  # graph degree (M)
HNSW_EF_CONSTRUCTION = 128
HNSW_EF_SEARCH = 256


class IndexUnavailableError(Exception):
    """The index could not answer (down, timed out, throttled): callers carry on without its candidates."""


class VectorIndex(Protocol):
    def replace(self, generation: str, vectors: Mapping[int, Sequence[float]]) -> None:
        """Make `vectors` (post id -> unit vector) the whole index, atomically for readers.

        Raises IndexUnavailableError when the index cannot take it (readers keep the previous generation)."""
        ...

    def nearest(self, vector: Sequence[float], k: int) -> list[tuple[int, float]]:
        """Up to `k` (post id, similarity) pairs, most similar first; empty before the first `replace`.

        Raises IndexUnavailableError when the index cannot answer."""
        ...


class FaissIndex:
    """HNSW over inner product, in this process (what `make dev` and the tests use)."""

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._index: Any = None
        self.generation: str | None = None
        self._lock = threading.Lock()

    def replace(self, generation: str, vectors: Mapping[int, Sequence[float]]) -> None:
        import faiss  # only where this adapter is used: the Lambda layer ships no FAISS
        import numpy as np

        graph = faiss.IndexHNSWFlat(self.dimensions, HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        graph.hnsw.efSearch = HNSW_EF_SEARCH
        index = faiss.IndexIDMap2(graph)  # (faiss's wrapper keeps a reference to `graph`)
        # One query at a time is this index's load, and OpenMP's thread start-up made each one ~30x slower
        # (7.8 ms against 0.23 ms for 100 neighbours of 20,000 on 2 cores).
        faiss.omp_set_num_threads(1)
        if vectors:
            ids = np.fromiter(vectors.keys(), dtype=np.int64, count=len(vectors))
            matrix = np.asarray(list(vectors.values()), dtype=np.float32).reshape(len(vectors), self.dimensions)
            index.add_with_ids(matrix, ids)
        with self._lock:
            self._index, self.generation = index, generation

    def nearest(self, vector: Sequence[float], k: int) -> list[tuple[int, float]]:
        import numpy as np

        with self._lock:
            index = self._index
        if index is None or index.ntotal == 0 or k <= 0:
            return []
        query = np.asarray([vector], dtype=np.float32)
        scores, ids = index.search(query, min(k, index.ntotal))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]
