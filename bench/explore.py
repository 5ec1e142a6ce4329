"""Explore benchmark, in one run against a real Redis: the offline quality check, the refresh, ranking latency,
and the k-NN index.

- Quality: a synthetic world where people like posts of hidden *styles* that hashtags reveal only in part, with a
  regional lean and post quality. Signals of the first 2.5 days go through the real store; the refresh builds the
  real model; each test viewer's explore list (300) is checked against what they liked in the next 12 hours
  (posts they had not liked yet, by anyone). Reported: hit rate@20 (viewers with a held-out like in their first
  page) and recall@100, for explore (ranked by the explore model, aperture/explore_model.json) and for the
  obvious baselines (overall and regional popularity), plus explore ranked as it was before it had a model of its
  own (the feed's model times the retrieval evidence), and explore without collaborative filtering and without the
  k-NN source.
- Refresh: seconds to rebuild pools, embeddings and index for the world, and the embedding alone at the pool's
  full size (5,000 posts with 200 engagers each: a million engagements), its time and peak memory; ranking: one
  viewer's list, p50/p99, against serving a precomputed list (one Redis GET).
- Index: FAISS HNSW (what `make dev` uses; OpenSearch's faiss engine on AWS uses the same parameters) against
  exact search in numpy on 100,000 clustered 32-d vectors: queries/s and recall@100.

Run from the repository root: `python -m bench.explore` (about a minute on 2 cores) or `--quick`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from aperture.activity import Impression
from aperture.adapters.dynamo.posts import PostRepository
from aperture.adapters.dynamo.users import UserRepository
from aperture.adapters.redis_store.activity import RedisActivityLog
from aperture.adapters.redis_store.explore import Engagement, ExploreStore, RankedFeatures
from aperture.adapters.vectors import FaissIndex
from aperture.embeddings import embed
from aperture.explore import (
    FAVOURITE_TOPICS,
    ExploreRefresh,
    Model,
    RefreshLimits,
    Viewer,
    allowed,
    candidates,
    diversify,
    favourite_topics,
    rank_viewer,
    ranked_list,
    similar_posts,
    user_vector,
)
from aperture.explore_ranking import default_model
from aperture.models.records import PostRecord, User
from aperture.ranking import AFFINITY_WEIGHTS, RankingModel, features
from bench.feed import _percentile
from local.world import TOPICS, progress

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
STYLES = 24
REGIONS = ("BR", "US", "JP", "DE", "IN")
DIMENSIONS = 32


@dataclass
class ExploreWorld:
    users: int
    region: list[str]
    posts: dict[int, PostRecord]
    likes: list[tuple[int, int, int]]  # (user, post, at_ms), in time order
    start_ms: int


def generate(users: int, posts: int, seed: int) -> ExploreWorld:
    """People with one or two favourite styles among STYLES; posts with a style, a quality and a hashtag that
    names the style's topic only half the time; likes over three days, more for the viewer's styles, their
    region and better posts."""
    rng = random.Random(seed)
    start = 1_800_000_000_000 - 3 * DAY_MS
    region = [rng.choice(REGIONS) for _ in range(users)]
    styles = [
        {rng.randrange(STYLES)} | ({rng.randrange(STYLES)} if rng.random() < 0.3 else set()) for _ in range(users)
    ]
    records: dict[int, PostRecord] = {}
    style_of: dict[int, int] = {}
    quality: dict[int, float] = {}
    for post_id in range(1, posts + 1):
        author = rng.randrange(users)
        style = rng.choice(sorted(styles[author]))
        topic = TOPICS[style % len(TOPICS)] if rng.random() < 0.5 else rng.choice(TOPICS)
        created = start + rng.randrange(3 * DAY_MS)
        records[post_id] = PostRecord(
            post_id=post_id,
            author_id=author,
            upload_id=post_id,
            hashtags=(topic,),
            width=1080,
            height=1080,
            images={},
            created_at=created,
        )
        style_of[post_id], quality[post_id] = style, rng.lognormvariate(0, 0.8)
    by_style: dict[int, list[int]] = defaultdict(list)
    for post_id, style in style_of.items():
        by_style[style].append(post_id)
    likes: list[tuple[int, int, int]] = []
    for user in range(users):
        progress("likes", user + 1, users)
        wanted = max(2, int(rng.lognormvariate(2.6, 0.7)))
        pool = [p for s in styles[user] for p in by_style[s]]
        others = rng.sample(range(1, posts + 1), min(posts, 40))
        weights = [quality[p] * (2.0 if region[records[p].author_id] == region[user] else 1.0) for p in pool]
        chosen = set(rng.choices(pool, weights=weights, k=wanted)) if pool else set()
        chosen |= {p for p in others if rng.random() < 0.02 * quality[p]}  # a little taste outside one's styles
        for post_id in chosen:
            created = records[post_id].created_at
            at = created + int(rng.expovariate(1 / (8 * HOUR_MS)))
            if records[post_id].author_id != user and at < start + 3 * DAY_MS:
                likes.append((user, post_id, at))
    likes.sort(key=lambda like: like[2])
    return ExploreWorld(users, region, records, likes, start)


class Posts:
    """The post repository's get_many over the world's records (the refresh reads nothing else)."""

    def __init__(self, records: Mapping[int, PostRecord]) -> None:
        self._records = records

    def get_many(self, post_ids: Iterable[int]) -> dict[int, PostRecord]:
        return {p: self._records[p] for p in post_ids if p in self._records}


class Users:
    """The user repository's get_many over the world's people: their regions (nobody follows anyone here)."""

    def __init__(self, world: ExploreWorld) -> None:
        self._region = world.region

    def get_many(self, user_ids: Iterable[int]) -> dict[int, User]:
        return {
            u: User(user_id=u, username=f"u{u}", region=self._region[u]) for u in user_ids if 0 <= u < len(self._region)
        }


def refresher(world: ExploreWorld, store: ExploreStore, index: FaissIndex) -> ExploreRefresh:
    limits = RefreshLimits(pool_size=5_000, dimensions=DIMENSIONS, active_days=14, job_size=100)
    posts, users = cast(PostRepository, Posts(world.posts)), cast(UserRepository, Users(world))
    return ExploreRefresh(store, posts, index, len, limits, users=users)


def feed_model_times_evidence(
    model: Model,
    viewer: Viewer,
    similar: Mapping[int, float],
    neighbours: list[tuple[int, float]],
    ranking: RankingModel,
    now_ms: int,
    size: int,
) -> list[int]:
    """Explore's ranking before it had a model of its own: the feed's engagement probability times the total
    retrieval evidence, then the same diversification (the baseline the explore model must not fall below)."""
    evidence = candidates(model, viewer, similar, neighbours)
    posts = model.posts
    kept = [posts[p] for p, e in evidence.items() if e > 0 and p in posts and allowed(posts[p], viewer)]
    topics = {t.lower(): w for t, w in viewer.topic_affinity.items()}
    scored = sorted(
        (
            (ranking.probability(features(c, now_ms, viewer.author_affinity, topics)) * evidence[c.post_id], c)
            for c in kept
        ),
        key=lambda item: (-item[0], -item[1].post_id),
    )
    return diversify([c for _, c in scored], set(favourite_topics(viewer, model, FAVOURITE_TOPICS)), size)


def load_signals(world: ExploreWorld, store: ExploreStore, until_ms: int) -> int:
    arrivals = [
        Engagement(p, None, world.region[r.author_id], r.hashtags, 0.5, r.created_at)
        for p, r in world.posts.items()
        if r.created_at < until_ms
    ]
    reactions = [
        Engagement(p, u, world.region[u], world.posts[p].hashtags, AFFINITY_WEIGHTS["like"], at)
        for u, p, at in world.likes
        if at < until_ms
    ]
    for start in range(0, len(arrivals), 5_000):
        store.apply(arrivals[start : start + 5_000])
    for start in range(0, len(reactions), 5_000):
        progress("signals", min(start + 5_000, len(reactions)), len(reactions))
        store.apply(reactions[start : start + 5_000])
    return len(reactions)


def _viewer(world: ExploreWorld, user: int, liked: list[int], generation: str, store: ExploreStore) -> Viewer:
    authors: dict[int, float] = defaultdict(float)
    topics: dict[str, float] = defaultdict(float)
    for post_id in liked:
        authors[world.posts[post_id].author_id] += AFFINITY_WEIGHTS["like"]
        for tag in world.posts[post_id].hashtags:
            topics[tag] += AFFINITY_WEIGHTS["like"]
    return Viewer(
        user_id=user,
        region=world.region[user],
        followees=frozenset(),
        hidden=frozenset(),
        engaged=tuple(reversed(liked)),
        seen=frozenset(),
        author_affinity=authors,
        topic_affinity=topics,
        vector=store.user_vector(generation, user),
    )


@dataclass
class Scores:
    hits: list[int]
    recalls: list[float]

    def report(self) -> dict[str, float]:
        return {
            "hit_rate_at_20": round(statistics.mean(self.hits), 3),
            "recall_at_100": round(statistics.mean(self.recalls), 3),
        }


def quality(
    users: int,
    posts: int,
    viewers: int,
    seed: int,
    store: ExploreStore,
    index: FaissIndex,
    explore_model: RankingModel | None = None,
) -> dict[str, Any]:
    world = generate(users, posts, seed)
    split = world.start_ms + int(2.5 * DAY_MS)
    horizon = split + 12 * HOUR_MS
    signals = load_signals(world, store, split)
    started = time.perf_counter()
    outcome = refresher(world, store, index).run(split)
    refresh_seconds = time.perf_counter() - started
    data = store.model(outcome.generation)
    assert data is not None
    model = Model.from_json(data)
    before: dict[int, list[int]] = defaultdict(list)
    after: dict[int, set[int]] = defaultdict(set)
    for user, post_id, at in world.likes:
        if at < split:
            before[user].append(post_id)
        elif at < horizon and post_id not in before[user]:
            after[user].add(post_id)
    testable = sorted(u for u in after if len(before[u]) >= 3 and after[u] & set(model.posts))
    chosen = random.Random(seed).sample(testable, min(viewers, len(testable)))
    ranking, feed_model = explore_model or default_model(), RankingModel.default()
    names = ("explore", "feed_model_x_evidence", "no_cf", "no_knn", "popular", "regional")
    variants = {name: Scores([], []) for name in names}
    latencies: list[float] = []
    stored_bytes: list[int] = []
    list_bytes: list[int] = []
    for done, user in enumerate(chosen, 1):
        progress("viewers", done, len(chosen))
        viewer = _viewer(world, user, before[user], outcome.generation, store)
        t0 = time.perf_counter()
        similar = similar_posts(store, viewer.engaged, user)
        query = user_vector(viewer.vector, viewer.topic_affinity, model, DIMENSIONS)
        neighbours = index.nearest(query, 300) if query else []
        ranked = ranked_list(model, viewer, similar, neighbours, ranking, split, 300)
        lists = {"explore": ranked.post_ids}
        latencies.append((time.perf_counter() - t0) * 1000)
        stored_bytes.append(len(RankedFeatures(ranked.model, ranked.features).encode()))
        list_bytes.append(len(",".join(map(str, ranked.post_ids))))
        lists["feed_model_x_evidence"] = feed_model_times_evidence(
            model, viewer, similar, neighbours, feed_model, split, 300
        )
        lists["no_cf"] = rank_viewer(model, viewer, {}, neighbours, ranking, split, 300)
        lists["no_knn"] = rank_viewer(model, viewer, similar, [], ranking, split, 300)
        liked = set(before[user])
        lists["popular"] = [p for p in model.popular["*"] if p not in liked][:300]
        lists["regional"] = [p for p in model.popular.get(viewer.region, []) if p not in liked][:300]
        target = after[user] & set(model.posts)
        for name, ranked in lists.items():
            variants[name].hits.append(int(bool(target & set(ranked[:20]))))
            variants[name].recalls.append(len(target & set(ranked[:100])) / len(target))
    return {
        "world": {"users": users, "posts": posts, "likes_before_split": signals, "viewers": len(chosen)},
        "explore_model": ranking.version,
        "refresh": {
            "seconds": round(refresh_seconds, 2),
            "pool_posts": outcome.posts,
            "embedded_posts": outcome.embedded_posts,
            "embedded_users": outcome.embedded_users,
        },
        "rank_ms": {"p50": round(_percentile(latencies, 50), 1), "p99": round(_percentile(latencies, 99), 1)},
        # What a list's features add in Redis (stored twice, as the list is: under its id and as the current one)
        "stored_per_list_bytes": {
            "features": round(statistics.mean(stored_bytes)),
            "post_ids": round(statistics.mean(list_bytes)),
        },
        "quality": {name: scores.report() for name, scores in variants.items()},
    }


def serving(store: ExploreStore, client: Any, samples: int) -> dict[str, float]:
    """A precomputed list read back (what a warm GET /explore does before hydrating) in ms."""
    store.put_list(42, "1", list(range(1, 301)), 1800)
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        client.get("xp:{u:42}:current")
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50": round(_percentile(times, 50), 3), "p99": round(_percentile(times, 99), 3)}


def impression_logging(client: Any, samples: int) -> dict[str, float]:
    """The round trip a served page adds to log its 20 impressions (14 features each) in ms."""
    log = RedisActivityLog(client)
    values = {name: 0.1234 for name in default_model().features}
    page = [Impression("explore", 42, p, 7, p, 1_800_000_000_000, "v", values) for p in range(20)]
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        log.record(page)
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50": round(_percentile(times, 50), 3), "p99": round(_percentile(times, 99), 3)}


def embedding_scale(posts: int, engagers_per_post: int, users: int, seed: int) -> dict[str, Any]:
    """The refresh's embedding at the pool's full size: every post at the 200-engager cap."""
    rng = random.Random(seed)
    engagers = {p: rng.sample(range(users), engagers_per_post) for p in range(posts)}
    hashtags = {p: (TOPICS[p % len(TOPICS)],) for p in range(posts)}
    tracemalloc.start()
    t0 = time.perf_counter()
    vectors = embed(engagers, hashtags, DIMENSIONS)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "posts": posts,
        "engagements": posts * engagers_per_post,
        "users_embedded": len(vectors.users),
        "seconds": round(seconds, 2),
        "peak_mb": round(peak / 2**20),
    }


def index_speed(count: int, queries: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((200, DIMENSIONS))
    vectors = centres[rng.integers(0, 200, count)] + 0.6 * rng.standard_normal((count, DIMENSIONS))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    probes = vectors[rng.integers(0, count, queries)] + 0.3 * rng.standard_normal((queries, DIMENSIONS))
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    index = FaissIndex(DIMENSIONS)
    t0 = time.perf_counter()
    index.replace("bench", {i: v for i, v in enumerate(vectors.tolist())})
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    approximate = [[p for p, _ in index.nearest(q.tolist(), 100)] for q in probes]
    hnsw_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    exact = []
    for q in probes:  # a fair exact search: a partial sort for the top 100, then ordering them
        scores = vectors @ q
        top = np.argpartition(-scores, 100)[:100]
        exact.append(top[np.argsort(-scores[top])].tolist())
    exact_seconds = time.perf_counter() - t0
    recall = statistics.mean(len(set(a) & set(e)) / 100 for a, e in zip(approximate, exact, strict=True))
    return {
        "vectors": count,
        "build_seconds": round(build, 2),
        "hnsw_queries_per_second": round(queries / hnsw_seconds),
        "exact_queries_per_second": round(queries / exact_seconds),
        "speedup": round(exact_seconds / hnsw_seconds, 1),
        "recall_at_100": round(recall, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small world and index, for a smoke run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quality-only", action="store_true", help="the offline quality check alone")
    args = parser.parse_args()
    from local.redis_server import RedisServer

    server = RedisServer()
    os.environ["REDIS_URL"] = server.url
    try:
        from aperture import wiring

        wiring.reset()
        client = wiring.redis_client()
        client.flushdb()
        store, index = ExploreStore(client), FaissIndex(DIMENSIONS)
        users, posts, viewers = (1_500, 3_000, 150) if args.quick else (6_000, 12_000, 400)
        result = quality(users, posts, viewers, args.seed, store, index)
        result["serve_precomputed_ms"] = serving(store, client, 500)
        result["log_page_impressions_ms"] = impression_logging(client, 500)
        if args.quality_only:
            print(json.dumps(result, indent=2))
            return
        result["rank_vs_precomputed_p50"] = round(result["rank_ms"]["p50"] / result["serve_precomputed_ms"]["p50"])
        result["embedding_at_scale"] = embedding_scale(
            1_000 if args.quick else 5_000, 200, 40_000 if args.quick else 200_000, args.seed
        )
        result["index"] = index_speed(20_000 if args.quick else 100_000, 200 if args.quick else 1_000, args.seed)
        print(json.dumps(result, indent=2))
        explore, popular = result["quality"]["explore"], result["quality"]["popular"]
        before = result["quality"]["feed_model_x_evidence"]
        print(
            f"explore model hit@20 {explore['hit_rate_at_20']} vs feed model x evidence {before['hit_rate_at_20']}; "
            f"recall@100 {explore['recall_at_100']} vs {before['recall_at_100']}"
        )
        print(
            f"explore hit@20 {explore['hit_rate_at_20']} vs popularity {popular['hit_rate_at_20']} "
            f"({explore['hit_rate_at_20'] / max(popular['hit_rate_at_20'], 1e-9):.1f}x); "
            f"recall@100 {explore['recall_at_100']} vs {popular['recall_at_100']}; "
            f"HNSW {result['index']['speedup']}x exact at recall@100 {result['index']['recall_at_100']}"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
