"""The OpenSearch k-NN adapter, through the real opensearch-py client, against a recording stand-in for a domain."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from opensearchpy import Connection, ConnectionTimeout, OpenSearch
from requests.adapters import BaseAdapter

from aperture.adapters.opensearch import BULK_CHUNK, OpenSearchIndex, opensearch_client
from aperture.adapters.vectors import (
    HNSW_EF_CONSTRUCTION,
    HNSW_EF_SEARCH,
    HNSW_LINKS,
    FaissIndex,
    IndexUnavailableError,
)

ALIAS = "aperture-explore"
DIMENSIONS = 4


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, Any]
    body: Any  # the parsed JSON, a list of parsed NDJSON lines for _bulk, or None


@dataclass
class StoredIndex:
    definition: dict[str, Any]
    aliases: set[str] = field(default_factory=set)
    documents: dict[str, list[float]] = field(default_factory=dict)


def _error(status: int, kind: str, reason: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason}}


def _faiss_innerproduct_score(ip: float) -> float:
    # What OpenSearch's k-NN plugin returns for the faiss engine in the innerproduct space (d = -ip).
    return 1.0 + ip if ip >= 0 else 1.0 / (1.0 - ip)


class FakeDomain:
    """Answers the calls the adapter makes as an OpenSearch 2.19 domain would, and records every request."""

    def __init__(self) -> None:
        self.indices: dict[str, StoredIndex] = {}
        self.requests: list[Recorded] = []
        self.canned_hits: list[dict[str, Any]] | None = None  # answers the next searches instead of scoring

    def handle(self, method: str, path: str, params: dict[str, Any], body: Any) -> tuple[int, dict[str, Any]]:
        self.requests.append(Recorded(method, path, params, body))
        parts = path.strip("/").split("/")
        if parts == ["_aliases"] and method == "POST":
            return self._update_aliases(body)
        if len(parts) == 1 and method == "PUT":
            return self._create(parts[0], body)
        if len(parts) == 1 and method == "DELETE":
            return self._delete(parts[0])
        if len(parts) == 1 and method == "GET":
            return self._get(parts[0])
        if len(parts) == 2 and parts[1] == "_bulk" and method in ("POST", "PUT"):
            return self._bulk(parts[0], body)
        if len(parts) == 2 and parts[1] == "_refresh" and method == "POST":
            return self._refresh(parts[0])
        if len(parts) == 2 and parts[1] == "_search" and method in ("GET", "POST"):
            return self._search(parts[0], body)
        return _error(400, "illegal_argument_exception", f"unsupported {method} {path}")

    def _resolve(self, target: str) -> list[str]:
        """The concrete indices an index name, alias or wildcard pattern names."""
        if "*" in target:
            return sorted(fnmatch.filter(self.indices, target))
        if target in self.indices:
            return [target]
        return sorted(name for name, index in self.indices.items() if target in index.aliases)

    def _create(self, name: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if name in self.indices:
            return _error(400, "resource_already_exists_exception", f"index [{name}] already exists")
        self.indices[name] = StoredIndex(definition=body)
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": name}

    def _delete(self, name: str) -> tuple[int, dict[str, Any]]:
        if name not in self.indices:
            return _error(404, "index_not_found_exception", f"no such index [{name}]")
        del self.indices[name]
        return 200, {"acknowledged": True}

    def _get(self, target: str) -> tuple[int, dict[str, Any]]:
        names = self._resolve(target)
        if not names and "*" not in target:
            return _error(404, "index_not_found_exception", f"no such index [{target}]")
        return 200, {
            name: {
                "aliases": {alias: {} for alias in self.indices[name].aliases},
                "mappings": self.indices[name].definition.get("mappings", {}),
                "settings": {"index": {"provided_name": name, "number_of_shards": "1"}},
            }
            for name in names
        }

    def _bulk(self, name: str, lines: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        # A bulk into a missing index would create it with dynamic mappings: the adapter must never rely on that.
        assert name in self.indices, f"bulk into missing index {name}"
        items = []
        for action, source in zip(lines[::2], lines[1::2], strict=True):
            doc_id = action["index"]["_id"]
            self.indices[name].documents[doc_id] = source["vector"]
            items.append({"index": {"_index": name, "_id": doc_id, "status": 201, "result": "created"}})
        return 200, {"took": 3, "errors": False, "items": items}

    def _refresh(self, target: str) -> tuple[int, dict[str, Any]]:
        if not self._resolve(target):
            return _error(404, "index_not_found_exception", f"no such index [{target}]")
        return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}

    def _update_aliases(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        # Applied all or nothing, as OpenSearch does.
        staged = {name: set(index.aliases) for name, index in self.indices.items()}
        for action in body["actions"]:
            ((kind, target),) = action.items()
            if target["index"] not in staged:
                return _error(404, "index_not_found_exception", f"no such index [{target['index']}]")
            if kind == "add":
                staged[target["index"]].add(target["alias"])
            elif kind == "remove":
                if target["alias"] not in staged[target["index"]]:
                    return _error(404, "aliases_not_found_exception", f"aliases [{target['alias']}] missing")
                staged[target["index"]].discard(target["alias"])
        for name, aliases in staged.items():
            self.indices[name].aliases = aliases
        return 200, {"acknowledged": True}

    def _search(self, target: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        names = self._resolve(target)
        if not names:
            return _error(404, "index_not_found_exception", f"no such index [{target}]")
        if self.canned_hits is not None:
            hits = self.canned_hits
        else:
            ((field_name, knn),) = body["query"]["knn"].items()
            assert field_name == "vector"
            query = knn["vector"]
            scored = [
                (_faiss_innerproduct_score(sum(a * b for a, b in zip(query, vector, strict=True))), doc_id, name)
                for name in names
                for doc_id, vector in self.indices[name].documents.items()
            ]
            scored.sort(key=lambda hit: (-hit[0], hit[1]))
            hits = [
                {"_index": name, "_id": doc_id, "_score": score}
                for score, doc_id, name in scored[: min(knn["k"], body["size"])]
            ]
        return 200, {
            "took": 2,
            "timed_out": False,
            "hits": {"total": {"value": len(hits), "relation": "eq"}, "max_score": None, "hits": hits},
        }

    # What a test asserts on.
    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def writes(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests if r.method != "GET" and not r.path.endswith("/_search")]

    def state(self) -> dict[str, tuple[set[str], dict[str, list[float]]]]:
        return {name: (index.aliases, index.documents) for name, index in self.indices.items()}


class RecordingConnection(Connection):
    """The transport's connection class: hands each request to the fake domain instead of the network."""

    def __init__(self, domain: FakeDomain, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.domain = domain

    def perform_request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        timeout: float | None = None,
        ignore: Sequence[int] = (),
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, str], str]:
        text = body.decode() if isinstance(body, bytes) else body
        if text is None:
            parsed = None
        elif url.endswith("/_bulk"):
            parsed = [json.loads(line) for line in text.splitlines() if line]
        else:
            parsed = json.loads(text)
        status, payload = self.domain.handle(method, url, dict(params or {}), parsed)
        raw = json.dumps(payload)
        if not 200 <= status < 300 and status not in ignore:
            self._raise_error(status, raw, "application/json")
        return status, {"content-type": "application/json; charset=UTF-8"}, raw


def _client(domain: FakeDomain) -> OpenSearch:
    return OpenSearch(hosts=[{"host": "search.test", "port": 443}], connection_class=RecordingConnection, domain=domain)


@pytest.fixture
def domain() -> FakeDomain:
    return FakeDomain()


@pytest.fixture
def index(domain: FakeDomain) -> OpenSearchIndex:
    return OpenSearchIndex(_client(domain), ALIAS, DIMENSIONS)


def _unit(*values: float) -> list[float]:
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values]


def _random_vectors(count: int, dimensions: int, seed: int) -> dict[int, list[float]]:
    rng = random.Random(seed)
    return {1000 + i: _unit(*(rng.gauss(0, 1) for _ in range(dimensions))) for i in range(count)}


VECTORS = {11: _unit(1, 0, 0, 0), 12: _unit(0, 1, 0, 0), 13: _unit(1, 1, 0, 0)}


def test_a_generation_is_a_knn_index_of_unit_vectors_under_inner_product(
    domain: FakeDomain, index: OpenSearchIndex
) -> None:
    # When the first generation is published
    index.replace("g1", VECTORS)
    # Then its concrete index is created once, as a k-NN index with an HNSW graph (faiss) over inner products
    (created,) = domain.calls("PUT", f"/{ALIAS}-g1")
    settings = created.body["settings"]["index"]
    assert settings["knn"] is True
    assert settings["knn.algo_param.ef_search"] == HNSW_EF_SEARCH
    assert created.body["mappings"]["properties"] == {
        "vector": {
            "type": "knn_vector",
            "dimension": DIMENSIONS,
            "method": {
                "name": "hnsw",
                "engine": "faiss",
                "space_type": "innerproduct",
                "parameters": {"m": HNSW_LINKS, "ef_construction": HNSW_EF_CONSTRUCTION},
            },
        }
    }
    # And it is refreshed (searchable) before the alias points at it
    order = [(r.method, r.path) for r in domain.requests]
    assert order.index(("POST", f"/{ALIAS}-g1/_refresh")) < order.index(("POST", "/_aliases"))


def test_bulk_documents_are_the_post_ids_and_their_vectors_in_chunks(
    domain: FakeDomain, index: OpenSearchIndex
) -> None:
    # Given more vectors than one bulk request carries
    vectors = _random_vectors(BULK_CHUNK * 2 + 7, DIMENSIONS, seed=1)
    # When they are published
    index.replace("g1", vectors)
    # Then every post is one document whose id is the post id and whose vector is its embedding
    bulks = domain.calls("POST", f"/{ALIAS}-g1/_bulk")
    assert [len(b.body) // 2 for b in bulks] == [BULK_CHUNK, BULK_CHUNK, 7]
    sent = {
        int(action["index"]["_id"]): source["vector"]
        for b in bulks
        for action, source in zip(b.body[::2], b.body[1::2], strict=True)
    }
    assert sent == vectors


def test_the_alias_moves_in_one_call_that_removes_the_old_index_and_adds_the_new(
    domain: FakeDomain, index: OpenSearchIndex
) -> None:
    # Given a published generation
    index.replace("g1", VECTORS)
    domain.requests.clear()
    # When the next one is published
    index.replace("g2", {21: _unit(0, 0, 1, 0)})
    # Then one _aliases call moves the alias, so a reader sees g1 or g2 and never both or neither
    (swap,) = domain.calls("POST", "/_aliases")
    assert swap.body == {
        "actions": [
            {"remove": {"index": f"{ALIAS}-g1", "alias": ALIAS}},
            {"add": {"index": f"{ALIAS}-g2", "alias": ALIAS}},
        ]
    }
    assert index.nearest(_unit(0, 0, 1, 0), 5) == [(21, pytest.approx(1.0))]


def test_the_first_publication_only_adds_the_alias(domain: FakeDomain, index: OpenSearchIndex) -> None:
    index.replace("g1", VECTORS)
    (swap,) = domain.calls("POST", "/_aliases")
    assert swap.body == {"actions": [{"add": {"index": f"{ALIAS}-g1", "alias": ALIAS}}]}


def test_generations_older_than_the_one_replaced_are_deleted(domain: FakeDomain, index: OpenSearchIndex) -> None:
    # Given two published generations
    index.replace("g1", VECTORS)
    index.replace("g2", VECTORS)
    assert set(domain.indices) == {f"{ALIAS}-g1", f"{ALIAS}-g2"}  # g1 stays while queries on it may still run
    # When a third is published
    index.replace("g3", VECTORS)
    # Then the one it replaced is kept and the one before is deleted, after the alias moved
    assert set(domain.indices) == {f"{ALIAS}-g2", f"{ALIAS}-g3"}
    assert domain.indices[f"{ALIAS}-g3"].aliases == {ALIAS}
    assert domain.writes()[-2:] == [("POST", "/_aliases"), ("DELETE", f"/{ALIAS}-g1")]


def test_an_abandoned_build_of_an_earlier_run_is_deleted(domain: FakeDomain, index: OpenSearchIndex) -> None:
    # Given a published generation and a later run that failed after creating its index
    index.replace("g1", VECTORS)
    domain.indices[f"{ALIAS}-g2"] = StoredIndex(definition={})
    # When the next run publishes
    index.replace("g3", VECTORS)
    # Then the abandoned index goes, and the replaced generation stays
    assert set(domain.indices) == {f"{ALIAS}-g1", f"{ALIAS}-g3"}


def test_other_indices_of_the_domain_are_left_alone(domain: FakeDomain, index: OpenSearchIndex) -> None:
    domain.indices["users"] = StoredIndex(definition={})
    index.replace("g1", VECTORS)
    index.replace("g2", VECTORS)
    index.replace("g3", VECTORS)
    assert "users" in domain.indices


def test_nearest_is_a_knn_query_on_the_alias_without_sources(domain: FakeDomain, index: OpenSearchIndex) -> None:
    index.replace("g1", VECTORS)
    domain.requests.clear()
    index.nearest([1.0, 0.0, 0.0, 0.0], 2)
    (query,) = domain.requests
    assert (query.method, query.path) == ("POST", f"/{ALIAS}/_search")
    assert query.body == {
        "size": 2,
        "query": {"knn": {"vector": {"vector": [1.0, 0.0, 0.0, 0.0], "k": 2}}},
        "_source": False,
    }


def test_opensearch_scores_are_turned_back_into_inner_products(domain: FakeDomain, index: OpenSearchIndex) -> None:
    # Given OpenSearch's faiss innerproduct scores: 1 + ip for ip >= 0, 1 / (1 - ip) below
    index.replace("g1", VECTORS)
    domain.canned_hits = [
        {"_index": f"{ALIAS}-g1", "_id": "7", "_score": 1.8},
        {"_index": f"{ALIAS}-g1", "_id": "8", "_score": 1.0},
        {"_index": f"{ALIAS}-g1", "_id": "9", "_score": 0.5},
    ]
    # Then the post ids come back as ints with the raw inner products, most similar first
    assert index.nearest(_unit(1, 0, 0, 0), 3) == [
        (7, pytest.approx(0.8)),
        (8, pytest.approx(0.0)),
        (9, pytest.approx(-1.0)),
    ]


@pytest.mark.parametrize(("count", "k"), [(200, 10), (6, 6)], ids=["top-10-of-200", "all-of-6"])
def test_both_adapters_return_the_same_neighbours_and_similarities(index: OpenSearchIndex, count: int, k: int) -> None:
    # Given the same unit vectors published to OpenSearch and to FAISS
    vectors = _random_vectors(count, DIMENSIONS, seed=2)
    faiss_index = FaissIndex(DIMENSIONS)
    index.replace("g1", vectors)
    faiss_index.replace("g1", vectors)
    query = _unit(0.3, -0.2, 0.9, 0.1)
    # When both are asked for the same neighbours
    from_opensearch = index.nearest(query, k)
    from_faiss = faiss_index.nearest(query, k)
    # Then they answer with the same posts in the same order, on the same scale: the inner product itself
    assert [post for post, _ in from_opensearch] == [post for post, _ in from_faiss]
    assert [score for _, score in from_opensearch] == pytest.approx([score for _, score in from_faiss], abs=1e-5)
    for post, score in from_opensearch:
        assert score == pytest.approx(sum(a * b for a, b in zip(query, vectors[post], strict=True)))
    if count == k:
        assert min(score for _, score in from_opensearch) < 0  # dissimilar posts too, below zero in both


def test_nearest_before_any_generation_is_empty(domain: FakeDomain, index: OpenSearchIndex) -> None:
    # Given no generation published: the alias does not exist and OpenSearch answers 404
    assert index.nearest(_unit(1, 0, 0, 0), 10) == []
    (query,) = domain.requests
    assert query.path == f"/{ALIAS}/_search"


def test_a_domain_that_cannot_answer_is_reported_as_unavailable(
    domain: FakeDomain, index: OpenSearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a published generation, and then a domain that answers searches 503 (overloaded, or a node down)
    index.replace("g1", VECTORS)
    answer = domain.handle

    def overloaded(method: str, url: str, params: dict[str, Any], body: Any) -> tuple[int, dict[str, Any]]:
        if url.endswith("/_search"):
            return 503, {"error": {"type": "unavailable_shards_exception"}, "status": 503}
        return answer(method, url, params, body)

    monkeypatch.setattr(domain, "handle", overloaded)
    # Then the port's error says so, for explore to carry on without k-NN candidates
    with pytest.raises(IndexUnavailableError):
        index.nearest(_unit(1, 0, 0, 0), 3)


def test_an_empty_generation_is_still_published(domain: FakeDomain, index: OpenSearchIndex) -> None:
    # Given a published generation
    index.replace("g1", VECTORS)
    # When the next one has no vectors at all
    index.replace("g2", {})
    # Then it replaces the previous one: nothing is found, and no bulk request was needed
    assert index.nearest(_unit(1, 0, 0, 0), 10) == []
    assert domain.indices[f"{ALIAS}-g2"].aliases == {ALIAS}
    assert domain.calls("POST", f"/{ALIAS}-g2/_bulk") == []


def _published_twice(interrupted: str | None) -> tuple[FakeDomain, list[Recorded]]:
    """g1 then g2 published; g2's first attempt cut off right after `interrupted` took effect, then retried.

    Returns the domain and the requests of g2's last (or only) attempt.
    """
    domain = FakeDomain()
    index = OpenSearchIndex(_client(domain), ALIAS, DIMENSIONS)
    index.replace("g0", VECTORS)
    index.replace("g1", {31: _unit(0, 0, 0, 1)})
    vectors = {41: _unit(1, 1, 1, 1), 42: _unit(1, -1, 1, -1)}
    if interrupted is not None:
        cut = {"bulk": ("POST", f"/{ALIAS}-g2/_bulk"), "swap": ("POST", "/_aliases")}[interrupted]
        handle = domain.handle

        def timing_out(method: str, path: str, params: dict[str, Any], body: Any) -> tuple[int, dict[str, Any]]:
            answer = handle(method, path, params, body)
            if (method, path) == cut:
                # The domain applied the call, but the answer never came back (the job's attempt ends here).
                raise ConnectionTimeout("TIMEOUT", "read timed out", None)
            return answer

        domain.handle = timing_out  # type: ignore[method-assign]
        with pytest.raises(IndexUnavailableError):  # (the port's error: the refresh carries on without k-NN)
            index.replace("g2", vectors)
        domain.handle = handle  # type: ignore[method-assign]
    retry_from = len(domain.requests)
    index.replace("g2", vectors)
    return domain, domain.requests[retry_from:]


@pytest.mark.parametrize("interrupted", ["bulk", "swap"])
def test_a_retried_generation_ends_in_the_same_state_as_one_that_succeeded(interrupted: str) -> None:
    # Given a run that published g2 at once, and one whose first attempt was cut off before or after the swap
    clean, _ = _published_twice(None)
    retried, _ = _published_twice(interrupted)
    # Then the retry leaves the domain exactly as the clean run did: same indices, aliases and documents
    assert retried.state() == clean.state()
    assert set(clean.indices) == {f"{ALIAS}-g1", f"{ALIAS}-g2"}
    assert clean.indices[f"{ALIAS}-g2"].aliases == {ALIAS}


def test_a_retry_of_a_partial_build_rebuilds_the_generation_from_scratch() -> None:
    _, retry = _published_twice("bulk")
    writes = [(r.method, r.path) for r in retry if r.method != "GET"]
    assert writes[:3] == [("DELETE", f"/{ALIAS}-g2"), ("PUT", f"/{ALIAS}-g2"), ("POST", f"/{ALIAS}-g2/_bulk")]


def test_a_retry_after_the_swap_never_takes_the_published_index_from_readers() -> None:
    _, retry = _published_twice("swap")
    # Only the clean-up after the swap is redone: the published index is neither deleted nor rebuilt
    assert [(r.method, r.path) for r in retry] == [("GET", f"/{ALIAS}-*"), ("DELETE", f"/{ALIAS}-g0")]


class RecordingAdapter(BaseAdapter):
    """Stands in for the network under requests: keeps each prepared (signed) request, answers an empty search."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        response = requests.Response()
        response.status_code = 200
        response.headers["content-type"] = "application/json"
        response._content = json.dumps({"hits": {"hits": []}}).encode()
        response.request = request
        response.url = str(request.url)
        return response

    def close(self) -> None:
        pass


def _send_one_search(client: OpenSearch) -> requests.PreparedRequest:
    adapter = RecordingAdapter()
    connection = client.transport.get_connection()
    connection.session.mount("https://", adapter)
    connection.session.mount("http://", adapter)
    OpenSearchIndex(client, ALIAS, DIMENSIONS).nearest(_unit(1, 0, 0, 0), 3)
    (sent,) = adapter.sent
    return sent


def _body(request: requests.PreparedRequest) -> bytes:
    body = request.body or b""
    return body.encode() if isinstance(body, str) else body


def test_the_client_signs_every_request_with_sigv4_for_the_es_service(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given fixed credentials in the environment (as Lambda provides them)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    # When a SigV4 client for the domain sends a query
    client = opensearch_client("https://vpc-aperture-explore-abc.eu-west-1.es.amazonaws.com", "eu-west-1", sigv4=True)
    sent = _send_one_search(client)
    # Then it went over HTTPS to the domain, signed for this key, region and the "es" service
    assert sent.url == f"https://vpc-aperture-explore-abc.eu-west-1.es.amazonaws.com:443/{ALIAS}/_search"
    authorization = sent.headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/es/aws4_request" in authorization
    assert "x-amz-date" in authorization.split("SignedHeaders=")[1]
    # And the payload hash it sent is the body's
    assert sent.headers["X-Amz-Content-SHA256"] == hashlib.sha256(_body(sent)).hexdigest()


def test_a_local_client_sends_plain_unsigned_requests_to_the_given_port() -> None:
    client = opensearch_client("http://127.0.0.1:9200", "us-east-1", sigv4=False)
    sent = _send_one_search(client)
    assert sent.url == f"http://127.0.0.1:9200/{ALIAS}/_search"
    assert "Authorization" not in sent.headers


@pytest.mark.parametrize("url", ["search.example.com", "ftp://search.example.com", "https://"])
def test_a_url_the_client_could_not_reach_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="OPENSEARCH_URL"):
        opensearch_client(url, "us-east-1", sigv4=False)
