"""Explore's k-NN index on OpenSearch: one concrete index per generation, published behind an alias.

`replace` builds `<alias>-<generation>` off to the side, moves the alias to it in one `_aliases` call (so a query
sees the old generation or the new one, never a half-built index), and deletes what is older than the generation
it replaced; that one is kept, so queries already running on it finish. The only module that imports opensearchpy.

Scores: for the faiss engine and the innerproduct space OpenSearch does not return the inner product itself but a
positive transform of it (d = -ip; score = 1 + ip when ip >= 0, else 1 / (1 - ip)). `nearest` inverts it, so this
adapter and aperture.adapters.vectors.FaissIndex return the same similarity: the raw inner product (cosine, for
the unit vectors explore stores), in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit

import boto3
from opensearchpy import (
    AWSV4SignerAuth,
    NotFoundError,
    OpenSearch,
    OpenSearchException,
    RequestsHttpConnection,
    helpers,
)

from aperture.adapters.vectors import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_LINKS, IndexUnavailableError
from aperture.observability import trace_calls_of

VECTOR_FIELD = "vector"
BULK_CHUNK = 500  # documents per _bulk request: 500 vectors of 32 floats is ~100 KB
SIGNING_SERVICE = "es"  # Amazon OpenSearch Service domains (serverless collections would sign as "aoss")
REQUEST_TIMEOUT_SECONDS = 3  # a k-NN query over a few thousand vectors answers in milliseconds
BUILD_TIMEOUT_SECONDS = 60  # bulk loads and the refresh that builds the HNSW graphs: the refresh job's calls
MAX_RETRIES = 2  # on connection errors and 502/503/504; a timed-out request is not resent (it may have applied)


class OpenSearchIndex:
    """The VectorIndex port over an OpenSearch domain's k-NN plugin (HNSW, faiss engine, inner product)."""

    def __init__(self, client: OpenSearch, alias: str, dimensions: int) -> None:
        self.client = client
        self.alias = alias
        self.dimensions = dimensions

    def index_name(self, generation: str) -> str:
        return f"{self.alias}-{generation}"

    def replace(self, generation: str, vectors: Mapping[int, Sequence[float]]) -> None:
        try:
            self._replace(generation, vectors)
        except OpenSearchException as error:  # down, timed out, refused: the refresh carries on without k-NN
            raise IndexUnavailableError(f"publishing generation {generation} failed: {error}") from error

    def _replace(self, generation: str, vectors: Mapping[int, Sequence[float]]) -> None:
        name = self.index_name(generation)
        # Every index of this alias's family as it is now: whatever is created after this (a later run building
        # its own generation concurrently) is never deleted below.
        family = self._family()
        serving = {index for index, state in family.items() if self.alias in state.get("aliases", {})}
        if name in serving:
            # A retry of a run that already published this generation: rebuilding it in place would take it from
            # readers, so only the steps after the swap are redone, keeping what it recorded it replaced.
            previous = set(family[name].get("mappings", {}).get("_meta", {}).get("replaces", [])) - {name}
        else:
            previous = serving
            if name in family:
                # A retry of a run that failed before the swap: its index may be partial.
                self._delete(name)
            self._build(name, vectors, replaces=sorted(previous))
        if serving != {name}:
            self._publish(name, serving - {name})
        for stale in sorted(set(family) - previous - {name}):
            self._delete(stale)

    def nearest(self, vector: Sequence[float], k: int) -> list[tuple[int, float]]:
        if k <= 0:
            return []
        body = {
            "size": k,
            "query": {"knn": {VECTOR_FIELD: {"vector": [float(x) for x in vector], "k": k}}},
            "_source": False,
        }
        try:
            response = self.client.search(index=self.alias, body=body)
        except NotFoundError:
            return []  # no generation published yet: the alias does not exist
        except OpenSearchException as error:  # down, timed out, throttled, refused
            raise IndexUnavailableError(f"k-NN search failed: {error}") from error
        return [(int(hit["_id"]), inner_product(float(hit["_score"]))) for hit in response["hits"]["hits"]]

    def _family(self) -> dict[str, Any]:
        """Index name -> its aliases, mappings and settings, for every `<alias>-*` index."""
        found: dict[str, Any] = self.client.indices.get(index=f"{self.alias}-*")
        return found

    def _build(self, name: str, vectors: Mapping[int, Sequence[float]], *, replaces: list[str]) -> None:
        self.client.indices.create(index=name, body=self._definition(replaces))
        if vectors:
            helpers.bulk(
                self.client,
                self._documents(vectors),
                index=name,
                chunk_size=BULK_CHUNK,
                request_timeout=BUILD_TIMEOUT_SECONDS,
            )
        self.client.indices.refresh(index=name, request_timeout=BUILD_TIMEOUT_SECONDS)

    def _definition(self, replaces: list[str]) -> dict[str, Any]:
        return {
            "settings": {
                "index": {
                    "knn": True,
                    "knn.algo_param.ef_search": HNSW_EF_SEARCH,
                    "number_of_shards": 1,
                    # No replica on a single data node (it could never be assigned), one once there are two.
                    "auto_expand_replicas": "0-1",
                    # Written once, then made searchable by the explicit refresh before it is published.
                    "refresh_interval": "-1",
                }
            },
            "mappings": {
                # Which generation this one replaced, so a retry after the swap keeps the same one.
                "_meta": {"replaces": replaces},
                "dynamic": "strict",
                "properties": {
                    VECTOR_FIELD: {
                        "type": "knn_vector",
                        "dimension": self.dimensions,
                        "method": {
                            "name": "hnsw",
                            "engine": "faiss",
                            "space_type": "innerproduct",
                            "parameters": {"m": HNSW_LINKS, "ef_construction": HNSW_EF_CONSTRUCTION},
                        },
                    }
                },
            },
        }

    @staticmethod
    def _documents(vectors: Mapping[int, Sequence[float]]) -> Iterator[dict[str, Any]]:
        for post_id, vector in vectors.items():
            yield {"_id": str(post_id), VECTOR_FIELD: [float(x) for x in vector]}

    def _publish(self, name: str, holders: set[str]) -> None:
        # One call, applied atomically: readers of the alias go from the old index to the new one in one step.
        actions: list[dict[str, Any]] = [{"remove": {"index": index, "alias": self.alias}} for index in sorted(holders)]
        actions.append({"add": {"index": name, "alias": self.alias}})
        self.client.indices.update_aliases(body={"actions": actions})

    def _delete(self, name: str) -> None:
        with suppress(NotFoundError):  # already gone (a concurrent run deleted it): the outcome wanted
            self.client.indices.delete(index=name)


def inner_product(score: float) -> float:
    """The inner product behind an OpenSearch faiss innerproduct score (score >= 1 exactly when ip >= 0)."""
    return score - 1.0 if score >= 1.0 else 1.0 - 1.0 / score


def opensearch_client(url: str, region: str, sigv4: bool) -> OpenSearch:
    """A client for `url` (e.g. https://vpc-aperture-explore-....es.amazonaws.com); SigV4-signed when `sigv4`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"OPENSEARCH_URL must be an http(s) URL with a host, not {url!r}")
    https = parts.scheme == "https"
    trace_calls_of("requests")  # the client's transport: each search and index call a subsegment
    # The Lambda role's credentials (refreshed by botocore as they rotate); signed per request by the auth hook.
    auth = AWSV4SignerAuth(boto3.Session().get_credentials(), region, SIGNING_SERVICE) if sigv4 else None
    return OpenSearch(
        hosts=[{"host": parts.hostname, "port": parts.port or (443 if https else 80)}],
        url_prefix=parts.path.rstrip("/"),
        http_auth=auth,
        use_ssl=https,
        verify_certs=https,
        connection_class=RequestsHttpConnection,
        timeout=REQUEST_TIMEOUT_SECONDS,
        max_retries=MAX_RETRIES,
        retry_on_timeout=False,
    )
