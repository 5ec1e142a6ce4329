"""Explore: posts from accounts the viewer does not follow, chosen for them.

Three stages, as recommendation systems do it:

1. Signals, continuously (the `explore_signals` consumer of the events stream): each new post, like and comment
   counts toward the post's popularity in the engaging user's region and everywhere, toward its topics
   (hashtags), and into who-engaged-with-what.
2. The model, every 15 minutes (`explore_refresh`): the candidate pools (popular per region, per topic, and
   overall, over today and half of yesterday), the metadata ranking needs, and user and post embeddings
   (aperture.embeddings) whose post vectors are published to the k-NN index (OpenSearch; FAISS locally). Then a
   ranking job per hundred active viewers is queued.
3. Each viewer's list (`explore_rank`, or on request when there is none): candidates from collaborative filtering
   (posts engaged with by people who engage with what the viewer does), the viewer's region, their topics, the
   k-NN neighbours of their vector, and overall popularity; filtered (their own, followed and blocked accounts,
   posts seen on explore or engaged with); ranked by explore's own model (aperture.explore_ranking: which sources
   vouched and how strongly, region, affinities, the author's popularity and engagement, age, content type);
   diversified (no author twice and no topic more than three times in any ten, and one post from outside the
   viewer's favourite topics in every ten). The list (300) is stored with the features the model saw, and served
   page by page.

Pages hydrate through the same path as the feed, so deleted posts and blocked authors drop out at read time and
the page is refilled from further down the list. Every post served is remembered as seen, and the next list leaves
it out; and logged as an impression (aperture.activity) with the features of rank time (docs/ranking.md).
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aperture.activity import ActivityLog, Impression
from aperture.adapters.dynamo.posts import PostRepository
from aperture.adapters.dynamo.users import UserRepository
from aperture.adapters.redis_store.affinity import AffinityStore
from aperture.adapters.redis_store.client import PipelineBatch
from aperture.adapters.redis_store.explore import GLOBAL, Engagement, ExploreStore, RankedFeatures, ReorderedList
from aperture.adapters.vectors import IndexUnavailableError, VectorIndex
from aperture.errors import InvalidCursorError
from aperture.explore_ranking import Author, default_model, explore_features, total_evidence
from aperture.graph import Graph
from aperture.models.api import Page, Post
from aperture.models.events import AnyEvent, CommentCreated, ExploreJob, LikeChanged, PostReady
from aperture.models.records import PostRecord
from aperture.observability import count, logger, measure
from aperture.posts import PostViews
from aperture.ranking import AFFINITY_WEIGHTS, Candidate, RankingModel

DAY_MS = 86_400_000
ARRIVAL_WEIGHT = 0.5  # a new post's own score in its author's region and topics, so it can be found at all
REGION_POOL = 1_000
TOPIC_COUNT = 100  # the day's most engaged topics get a pool each
TOPIC_POOL = 100
# Collaborative filtering: the viewer's recent posts -> their other engagers -> what those engaged with.
CF_SEEDS = 50
CF_ENGAGERS_PER_SEED = 50
CF_NEIGHBOURS = 30
CF_POSTS_PER_NEIGHBOUR = 50
CF_FETCH = 100  # of its best candidates outside the pools, fetched (one BatchGetItem) so they can be shown
INDEX_BACKOFF_MS = 60_000  # after the k-NN index fails, rank without it this long
DEPTH = {"region": 300, "popular": 300, "topic": 100, "similar": 300}
FAVOURITE_TOPICS = 3  # the viewer's top topics; every window of ten holds a post from outside them when possible
WINDOW = 10
MAX_PER_TOPIC = 3
MAX_PER_AUTHOR = 1
MAX_REFILLS = 5
PAGE_MAX_PER_AUTHOR = 3  # on any page, however few the candidates: the rest wait for later pages
CURSOR = re.compile(r"(\d{1,20})\.(\d{1,6})")


# -- 1. signals ---------------------------------------------------------------------------------------------


def engagements_of(
    events: Sequence[AnyEvent], posts: PostRepository, users: UserRepository
) -> list[tuple[str, Engagement]]:
    """(event id, engagement) for every event explore counts; likes of gone posts, self-likes and reactions of
    accounts that no longer exist count nothing."""
    arrivals = [e for e in events if isinstance(e, PostReady) and e.kind == "post"]
    reactions = [e for e in events if isinstance(e, LikeChanged | CommentCreated)]
    records = posts.get_many({e.post_id for e in reactions}) if reactions else {}
    people = {e.author_id for e in arrivals} | {_actor(e) for e in reactions}
    regions = {u.user_id: u.region for u in users.get_many(people).values()} if people else {}
    result: list[tuple[str, Engagement]] = []
    for arrival in arrivals:
        engagement = Engagement(
            arrival.post_id,
            None,
            regions.get(arrival.author_id, ""),
            _topics(arrival.hashtags),
            ARRIVAL_WEIGHT,
            arrival.occurred_at,
        )
        result.append((arrival.event_id, engagement))
    for reaction in reactions:
        record, actor = records.get(reaction.post_id), _actor(reaction)
        if record is None or actor == record.author_id or actor not in regions:
            continue  # (an actor without a profile: an erased account's unlike, delivered after its erasure)
        if isinstance(reaction, LikeChanged):
            weight = AFFINITY_WEIGHTS["like"] * (1 if reaction.liked else -1)
        else:
            weight = AFFINITY_WEIGHTS["comment"]
        topics = _topics(record.hashtags)
        engagement = Engagement(reaction.post_id, actor, regions.get(actor, ""), topics, weight, reaction.occurred_at)
        result.append((reaction.event_id, engagement))
    return result


def _actor(event: LikeChanged | CommentCreated) -> int:
    return event.user_id if isinstance(event, LikeChanged) else event.author_id


class ExploreSignals:
    """Counts domain events into explore's signals (explore_signals)."""

    def __init__(self, store: ExploreStore, posts: PostRepository, users: UserRepository) -> None:
        self._store = store
        self._posts = posts
        self._users = users

    def record(self, events: Sequence[AnyEvent]) -> int:
        """Count a batch of events. A redelivered event that was counted is skipped; one whose counting failed part
        way is counted again (at least once: a count may double, never go missing)."""
        store = self._store
        # One engagement per event id: a producer's retry can put the same event twice in one batch.
        pending = list(dict(engagements_of(events, self._posts, self._users)).items())
        claimed = store.claim_events([event_id for event_id, _ in pending])
        fresh = [(event_id, e) for (event_id, e), new in zip(pending, claimed, strict=True) if new]
        counted = store.apply(e for _, e in fresh)
        store.mark_counted([event_id for event_id, _ in fresh])
        return counted


def _topics(hashtags: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.lower() for t in hashtags))


# -- 2. the model -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefreshOutcome:
    generation: str
    posts: int
    embedded_posts: int
    embedded_users: int
    viewers_queued: int


@dataclass(frozen=True, kw_only=True)
class RefreshLimits:
    pool_size: int  # posts in the overall popularity pool
    dimensions: int
    active_days: int  # viewers seen this recently get their list ranked ahead of their visit
    job_size: int  # viewers per ranking job


class ExploreRefresh:
    """The scheduled refresh (explore_refresh): pools, embeddings and the k-NN index as one new generation."""

    def __init__(
        self,
        store: ExploreStore,
        posts: PostRepository,
        index: VectorIndex,
        enqueue: Callable[[list[ExploreJob]], int],
        limits: RefreshLimits,
        users: UserRepository | None = None,
    ) -> None:
        self._store = store
        self._posts = posts
        self._index = index
        self._enqueue = enqueue
        self._limits = limits
        self._users = users

    def run(self, now_ms: int) -> RefreshOutcome:
        """Rebuild the pools, embeddings and k-NN index as one new generation, then queue the viewers' rankings."""
        from aperture.embeddings import embed  # numpy: imported by the functions that embed, not every one

        generation = str(now_ms)
        regions = self._store.regions()
        popular = self._store.popular(regions, now_ms, REGION_POOL, overall_limit=self._limits.pool_size)
        top_topics = self._store.topics(now_ms, TOPIC_COUNT)
        self._store.trim(regions, top_topics, now_ms)
        topic_pools = self._store.topic_posts(top_topics, now_ms, TOPIC_POOL)
        universe = {p for pool in (*popular.values(), *topic_pools.values()) for p, _ in pool}
        records = self._posts.get_many(universe) if universe else {}
        hashtags = {p: _topics(r.hashtags) for p, r in records.items()}
        vectors = embed(self._store.engagers(sorted(records)), hashtags, self._limits.dimensions)
        try:
            self._index.replace(generation, vectors.posts)
        except IndexUnavailableError as error:
            # The pools and popularity still move on; k-NN serves the last generation it has (its posts outside
            # the new model are dropped when ranking).
            logger.warning("explore refreshed without publishing to the k-NN index", extra={"error": repr(error)})

        def ids(pool: Iterable[tuple[int, float]]) -> list[int]:
            return [p for p, _ in pool if p in records]

        model = {
            "generation": generation,
            "built_at": now_ms,
            "posts": {
                str(p): [r.author_id, r.created_at, r.like_count, r.comment_count, list(hashtags[p]), len(r.photos())]
                for p, r in records.items()
            },
            "authors": self._authors(records, dict(popular.get(GLOBAL, []))),
            "popular": {region: ids(pool) for region, pool in popular.items()},
            "topics": {tag: ids(pool) for tag, pool in topic_pools.items()},
            "tag_vectors": {tag: [round(x, 5) for x in v] for tag, v in vectors.tags.items()},
        }
        self._store.put_model(generation, model, vectors.users)
        viewers = self._store.active(now_ms - self._limits.active_days * DAY_MS)
        size = self._limits.job_size
        jobs = [ExploreJob(user_ids=tuple(viewers[i : i + size])) for i in range(0, len(viewers), size)]
        self._enqueue(jobs)
        return RefreshOutcome(generation, len(records), len(vectors.posts), len(vectors.users), len(viewers))

    def _authors(self, records: Mapping[int, PostRecord], scores: Mapping[int, float]) -> dict[str, list[Any]]:
        """The explore model's facts of each author in the pools: [followers, region, engagements per post]. A
        post's engagements are the larger of its flushed counts and its overall popularity score (newer, but
        only for posts in that pool). One BatchGetItem per hundred authors, every refresh."""
        engagement: dict[int, list[float]] = {}
        for post_id, record in records.items():
            counted = record.like_count + 2 * record.comment_count
            engagement.setdefault(record.author_id, []).append(max(float(counted), scores.get(post_id, 0.0)))
        profiles = self._users.get_many(engagement) if self._users is not None and engagement else {}
        return {
            str(author): [
                profiles[author].follower_count if author in profiles else 0,
                profiles[author].region if author in profiles else "",
                round(sum(values) / len(values), 3),
            ]
            for author, values in engagement.items()
        }


# -- 3. each viewer's list ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """What ranking knows of the viewer."""

    user_id: int
    region: str
    followees: frozenset[int]
    hidden: frozenset[int]  # blocked either way, or muted by the viewer
    engaged: tuple[int, ...]  # most recent first
    seen: frozenset[int]
    author_affinity: Mapping[int, float]
    topic_affinity: Mapping[str, float]
    vector: Sequence[float] | None


@dataclass(frozen=True)
class Model:
    """A refreshed generation, as ranking reads it."""

    generation: str
    built_at: int
    posts: Mapping[int, Candidate]
    popular: Mapping[str, Sequence[int]]
    topics: Mapping[str, Sequence[int]]
    tag_vectors: Mapping[str, Sequence[float]]
    authors: Mapping[int, Author] = field(default_factory=dict)
    photos: Mapping[int, int] = field(default_factory=dict)  # a post's photo count (absent: unknown)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Model:
        # A generation written before explore had its own model has five fields a post and no authors: it ranks
        # with those features at zero until the next refresh replaces it.
        posts = {
            int(p): Candidate(int(p), int(fields[0]), int(fields[1]), int(fields[2]), int(fields[3]), tuple(fields[4]))
            for p, fields in data["posts"].items()
        }
        return cls(
            generation=str(data["generation"]),
            built_at=int(data["built_at"]),
            posts=posts,
            popular={region: [int(p) for p in ids] for region, ids in data["popular"].items()},
            topics={tag: [int(p) for p in ids] for tag, ids in data["topics"].items()},
            tag_vectors=data["tag_vectors"],
            authors={
                int(a): Author(int(followers), str(region), float(rate))
                for a, (followers, region, rate) in data.get("authors", {}).items()
            },
            photos={int(p): int(fields[5]) for p, fields in data["posts"].items() if len(fields) > 5},
        )


def evidence_by_source(
    model: Model,
    viewer: Viewer,
    similar_posts: Mapping[int, float],
    neighbours: Sequence[tuple[int, float]],
) -> dict[int, dict[str, float]]:
    """Candidate post -> how strongly each retrieval source (explore_ranking.SOURCES) vouches for it, about 0..1
    each; pool sources by rank, so the tenth most popular post counts more than the two hundredth, and a post in
    several of the viewer's topic pools adds them up."""
    evidence: dict[int, dict[str, float]] = {}

    def add(post_id: int, source: str, value: float) -> None:
        by_source = evidence.setdefault(post_id, {})
        by_source[source] = by_source.get(source, 0.0) + value

    strongest = max(similar_posts.values(), default=0.0) or 1.0
    for post_id, score in similar_posts.items():
        add(post_id, "similar", score / strongest)
    for post_id, similarity in neighbours:
        add(post_id, "neighbours", max(0.0, similarity))
    pools: list[tuple[Sequence[int], float, str]] = [
        (model.popular.get(viewer.region, []) if viewer.region else [], DEPTH["region"], "regional"),
        (model.popular.get(GLOBAL, []), DEPTH["popular"], "popular"),
    ]
    pools += [
        (model.topics.get(tag, []), DEPTH["topic"], "topics")
        for tag in favourite_topics(viewer, model, 2 * FAVOURITE_TOPICS)
    ]
    for pool, depth, source in pools:
        for rank_, post_id in enumerate(pool[: int(depth)]):
            add(post_id, source, 1 / (1 + rank_ / 50))
    return evidence


def candidates(
    model: Model,
    viewer: Viewer,
    similar_posts: Mapping[int, float],
    neighbours: Sequence[tuple[int, float]],
) -> dict[int, float]:
    """Candidate post -> how strongly retrieval vouches for it in all: the sources' evidence, weighted
    (explore_ranking.SOURCE_STRENGTH)."""
    by_source = evidence_by_source(model, viewer, similar_posts, neighbours)
    return {post_id: total_evidence(evidence) for post_id, evidence in by_source.items()}


def favourite_topics(viewer: Viewer, model: Model, count: int) -> list[str]:
    ranked = sorted(viewer.topic_affinity.items(), key=lambda item: (-item[1], item[0]))
    return [tag for tag, weight in ranked if weight > 0 and tag in model.topics][:count]


def allowed(post: Candidate, viewer: Viewer) -> bool:
    return (
        post.author_id != viewer.user_id
        and post.author_id not in viewer.followees
        and post.author_id not in viewer.hidden
        and post.post_id not in viewer.seen
        and post.post_id not in viewer.engaged
    )


@dataclass(frozen=True)
class RankedList:
    """A viewer's list, best first, with the features the model saw for each post on it and the model's version."""

    post_ids: list[int]
    features: dict[int, dict[str, float]]
    model: str


def rank_viewer(
    model: Model,
    viewer: Viewer,
    similar_posts: Mapping[int, float],
    neighbours: Sequence[tuple[int, float]],
    ranking: RankingModel,
    now_ms: int,
    size: int,
    extra: Mapping[int, Candidate] | None = None,
) -> list[int]:
    """The viewer's explore list: candidates, filtered, ranked and diversified; best first. `extra` describes
    candidates outside the model's pools (collaborative filtering's long tail)."""
    return ranked_list(model, viewer, similar_posts, neighbours, ranking, now_ms, size, extra).post_ids


def ranked_list(
    model: Model,
    viewer: Viewer,
    similar_posts: Mapping[int, float],
    neighbours: Sequence[tuple[int, float]],
    ranking: RankingModel,
    now_ms: int,
    size: int,
    extra: Mapping[int, Candidate] | None = None,
) -> RankedList:
    """rank_viewer's list with the explore model's features of each post on it (what its impressions log)."""
    known = {**(extra or {}), **model.posts}
    inputs = candidate_features(model, viewer, similar_posts, neighbours, now_ms, known)
    kept = [known[p] for p in inputs]
    # The explore model (explore_ranking) weighs retrieval's evidence, source by source, with the viewer's history
    # of the author and topics and the post's own facts; it replaced the feed's model times the total evidence.
    scored = sorted(
        ((ranking.probability(inputs[c.post_id]), c) for c in kept), key=lambda item: (-item[0], -item[1].post_id)
    )
    favourites = set(favourite_topics(viewer, model, FAVOURITE_TOPICS))
    ids = diversify([c for _, c in scored], favourites, size)
    return RankedList(ids, {p: inputs[p] for p in ids}, ranking.version)


def candidate_features(
    model: Model,
    viewer: Viewer,
    similar_posts: Mapping[int, float],
    neighbours: Sequence[tuple[int, float]],
    now_ms: int,
    known: Mapping[int, Candidate],
) -> dict[int, dict[str, float]]:
    """Every candidate the viewer may be shown (of those `known`) -> the explore model's features of it."""
    evidence = evidence_by_source(model, viewer, similar_posts, neighbours)
    topics = {t.lower(): w for t, w in viewer.topic_affinity.items()}
    return {
        post_id: explore_features(
            known[post_id],
            by_source,
            viewer_region=viewer.region,
            author=model.authors.get(known[post_id].author_id),
            photos=model.photos.get(post_id, 0),
            author_affinity=viewer.author_affinity,
            topic_affinity=topics,
            now_ms=now_ms,
        )
        for post_id, by_source in evidence.items()
        if total_evidence(by_source) > 0 and post_id in known and allowed(known[post_id], viewer)
    }


def primary_topic(post: Candidate) -> str | None:
    return post.hashtags[0] if post.hashtags else None


def novel(post: Candidate, favourites: set[str]) -> bool:
    topic = primary_topic(post)
    return topic is not None and topic not in favourites


def _fits(post: Candidate, window: Sequence[Candidate], favourites: set[str], need_novel: bool) -> bool:
    topic = primary_topic(post)
    return (
        sum(c.author_id == post.author_id for c in window) < MAX_PER_AUTHOR
        and (topic is None or sum(primary_topic(c) == topic for c in window) < MAX_PER_TOPIC)
        and (not need_novel or novel(post, favourites))
    )


def diversify(ranked: Sequence[Candidate], favourites: set[str], size: int) -> list[int]:
    """Pick in rank order, but so that any WINDOW consecutive posts hold no author more than MAX_PER_AUTHOR
    times, no topic more than MAX_PER_TOPIC times and, where one is left, a post from outside the viewer's
    favourite topics. When nothing left fits, the best remaining post is taken, so the list is as long as the
    candidates allow."""
    remaining = list(ranked)
    chosen: list[Candidate] = []
    while remaining and len(chosen) < size:
        window = chosen[-(WINDOW - 1) :]
        need_novel = bool(favourites) and len(window) == WINDOW - 1 and not any(novel(c, favourites) for c in window)
        pick = None
        if need_novel:
            pick = next((i for i, c in enumerate(remaining) if _fits(c, window, favourites, True)), None)
        if pick is None:
            pick = next((i for i, c in enumerate(remaining) if _fits(c, window, favourites, False)), 0)
        chosen.append(remaining.pop(pick))
    return [c.post_id for c in chosen]


def similar_posts(store: ExploreStore, engaged: Sequence[int], viewer_id: int) -> dict[int, float]:
    """Collaborative filtering: people who engaged with the viewer's recent posts are their neighbours
    (each shared post counts 1/log2(2 + its engagers), so a hit everyone liked says little); what the
    neighbours engaged with scores their summed similarity. Two pipelined round trips."""
    seeds = list(engaged[:CF_SEEDS])
    if not seeds:
        return {}
    similarity: dict[int, float] = {}
    for engagers in store.engagers(seeds).values():
        weight = 1 / math.log2(2 + len(engagers))
        for user_id in engagers[:CF_ENGAGERS_PER_SEED]:
            if user_id != viewer_id:
                similarity[user_id] = similarity.get(user_id, 0.0) + weight
    neighbours = sorted(similarity, key=lambda u: (-similarity[u], u))[:CF_NEIGHBOURS]
    scores: dict[int, float] = {}
    for user_id, posts in store.engaged_by(neighbours, CF_POSTS_PER_NEIGHBOUR).items():
        for post_id in posts:
            scores[post_id] = scores.get(post_id, 0.0) + similarity[user_id]
    return scores


def user_vector(
    viewer_vector: Sequence[float] | None, topics: Mapping[str, float], model: Model, dims: int
) -> list[float] | None:
    """The viewer's own embedding, else (no recent engagement in the pool) their topics' vectors, weighted."""
    from aperture.embeddings import fold_in

    if viewer_vector is not None:
        return list(viewer_vector)
    known = [(model.tag_vectors[t], w) for t, w in topics.items() if t in model.tag_vectors and w > 0]
    return fold_in([v for v, _ in known], dims, [w for _, w in known]) if known else None


# -- serving ------------------------------------------------------------------------------------------------


def encode_cursor(generation: str, offset: int) -> str:
    return f"{generation}.{offset}"


def decode_cursor(cursor: str | None) -> tuple[str, int] | None:
    if not cursor:
        return None
    match = CURSOR.fullmatch(cursor)
    if match is None:
        raise InvalidCursorError("the cursor is not valid; start again without one")
    return match.group(1), int(match.group(2))


@dataclass(frozen=True, kw_only=True)
class ExplorePorts:
    store: ExploreStore
    index: VectorIndex
    posts: PostRepository
    users: UserRepository
    following_ids: Callable[[int], list[int]]
    graph: Graph
    affinity: AffinityStore
    views: PostViews
    # The explore model (wiring.explore_model: the promoted one, else the default shipped in the layer), read at
    # each ranking; None falls back to the shipped default
    ranking: Callable[[], RankingModel | None]
    activity: ActivityLog
    redis: Any
    now_ms: Callable[[], int]


def new_list_id(now_ms: int) -> str:
    """A fresh id for one ranking of one viewer's list: digits only (it travels in cursors)."""
    return f"{now_ms}{secrets.randbelow(1_000_000):06d}"


class Explore:
    def __init__(self, ports: ExplorePorts, page_seconds: int, list_size: int, dimensions: int) -> None:
        self.ports = ports
        self._page_seconds = page_seconds
        self._list_size = list_size
        self._dimensions = dimensions
        self._models: dict[str, Model] = {}  # the last two generations read (never a miss: it may appear later)
        self._index_down_until = 0

    def current_model(self) -> Model | None:
        generation = self.ports.store.current_generation()
        if generation is None:
            return None
        if generation not in self._models:
            data = self.ports.store.model(generation)
            if data is None:
                return None
            self._models = {**dict(list(self._models.items())[-1:]), generation: Model.from_json(data)}
        return self._models[generation]

    def viewer(self, viewer_id: int, model: Model) -> Viewer:
        user = self.ports.users.get(viewer_id)
        batch = PipelineBatch(self.ports.redis)
        affinity = self.ports.affinity.queue_all(batch, viewer_id)
        seen = self.ports.store.queue_seen(batch, viewer_id)
        engaged = self.ports.store.queue_engaged(batch, viewer_id, 200)
        vector = self.ports.store.queue_user_vector(batch, model.generation, viewer_id)
        batch.execute()
        authors, topics = affinity.value
        return Viewer(
            user_id=viewer_id,
            region=user.region if user else "",
            followees=frozenset(self.ports.following_ids(viewer_id)),
            hidden=frozenset(self.ports.graph.hidden_from(viewer_id) | self.ports.graph.muted_by(viewer_id)),
            engaged=tuple(engaged.value),
            seen=frozenset(seen.value),
            author_affinity=authors,
            topic_affinity=topics,
            vector=vector.value,
        )

    def _neighbours(self, query: Sequence[float] | None) -> list[tuple[int, float]]:
        if not query or self.ports.now_ms() < self._index_down_until:
            return []
        try:
            return self.ports.index.nearest(query, DEPTH["similar"])
        except IndexUnavailableError as error:
            # The other sources still make a list. The index is left alone for a while, so a job of a hundred
            # viewers does not wait out a timeout for each of them.
            self._index_down_until = self.ports.now_ms() + INDEX_BACKOFF_MS
            logger.warning("explore ranked without the k-NN index", extra={"error": repr(error)})
            return []

    def _long_tail(self, model: Model, viewer: Viewer, similar: Mapping[int, float]) -> dict[int, Candidate]:
        """Collaborative filtering's best candidates outside the pools: fetched, so CF can surface them too."""
        shown_or_engaged = viewer.seen | set(viewer.engaged)
        best = sorted((p for p in similar if p not in shown_or_engaged), key=lambda p: (-similar[p], -p))
        missing = [p for p in best if p not in model.posts][:CF_FETCH]
        return {p: _candidate(r) for p, r in self.ports.posts.get_many(missing).items()} if missing else {}

    def rank(self, viewer_id: int) -> tuple[str, list[int], RankedFeatures] | None:
        """Rank and store the viewer's list (under a new id) with the current generation and the explore model,
        the features it saw beside it; None before the first refresh."""
        model = self.current_model()
        if model is None:
            return None
        viewer = self.viewer(viewer_id, model)
        neighbours = self._neighbours(user_vector(viewer.vector, viewer.topic_affinity, model, self._dimensions))
        similar = similar_posts(self.ports.store, viewer.engaged, viewer_id)
        now = self.ports.now_ms()
        extra = self._long_tail(model, viewer, similar)
        scorer = self.ports.ranking() or default_model()
        ranked = ranked_list(model, viewer, similar, neighbours, scorer, now, self._list_size, extra)
        list_id = new_list_id(now)
        features = RankedFeatures(ranked.model, ranked.features)
        self.ports.store.put_list(viewer_id, list_id, ranked.post_ids, self._page_seconds, features)
        return list_id, ranked.post_ids, features

    def followed(self, follower_id: int, followee_id: int, following: bool) -> None:
        """A follow makes the followee's posts feed material: the list is ranked again, open pages skip them."""
        if following:
            self.ports.store.forget_list(follower_id, followee_id, self._page_seconds)

    def page(self, viewer_id: int, cursor: str | None, limit: int) -> Page[Post]:
        """A page of the viewer's list: one Redis round trip to find it, one to hydrate, one to mark it seen."""
        position = decode_cursor(cursor)
        now = self.ports.now_ms()
        batch = PipelineBatch(self.ports.redis)
        listed = self.ports.store.queue_viewer(batch, viewer_id, position[0] if position else None)
        hidden_slot = self.ports.graph.queue_hidden(batch, viewer_id)
        muted_slot = self.ports.graph.queue_muted(batch, viewer_id)
        self.ports.store.touch_active(batch, viewer_id, now)
        batch.execute()
        current, by_cursor, followed_since = listed.value.current, listed.value.by_cursor, listed.value.followed_since
        features = listed.value.features
        # A hit: the page comes from a list already ranked (the cursor's, or the viewer's current one)
        if (position and by_cursor is not None) or current is not None:
            count("ExploreCacheHit")
        else:
            count("ExploreCacheMiss")
        if position and by_cursor is not None:
            list_id, ids, start = position[0], by_cursor, position[1]
        else:
            ranked = self.rank(viewer_id) if current is None else None
            if ranked is not None:
                list_id, ids, features = ranked  # (a new ranking leaves out what was shown already)
            elif current is not None:
                list_id, ids = current.list_id, current.post_ids
            else:
                return Page[Post](items=[], next_cursor=None)  # no model yet
            start = 0
            if (
                position and ranked is None
            ):  # the cursor's list lapsed: carry on in the current one, past what was shown
                seen = self.ports.store.seen(viewer_id)
                ids = [p for p in ids if p not in seen]
                list_id = new_list_id(now)
                features = self.ports.store.current_features(viewer_id)
                self.ports.store.put_list(viewer_id, list_id, ids, self._page_seconds, features)
        hidden = hidden_slot.value if hidden_slot.value is not None else self.ports.graph.hidden_from(viewer_id)
        # Lists ranked before a mute still hold the muted account's posts: they are dropped as the page is read.
        muted = muted_slot.value if muted_slot.value is not None else self.ports.graph.muted_by(viewer_id)
        left_out = set(followed_since) | muted
        items, ids, offset, moved = self._fill(viewer_id, ids, start, limit, hidden, left_out)
        reordered = ReorderedList(list_id, ids, current is not None and current.list_id == list_id) if moved else None
        self.ports.store.mark_seen(viewer_id, [int(p.post_id) for p in items], now, reordered)
        self._log_impressions(viewer_id, items, ids, features, now)
        next_cursor = encode_cursor(list_id, offset) if offset < len(ids) else None
        return Page[Post](items=items, next_cursor=next_cursor)

    def _log_impressions(
        self, viewer_id: int, items: Sequence[Post], ids: Sequence[int], ranked: RankedFeatures | None, now: int
    ) -> None:
        """One impression per post served, at its position in the list, with the features of rank time. A list
        ranked before its features were stored (or whose features expired first) logs nothing: an impression
        without the model's inputs would teach the training job nothing true."""
        if not items:
            return
        if ranked is None:
            measure("ExploreImpressionsUnlogged", len(items))
            return
        position = {post_id: i for i, post_id in enumerate(ids)}
        impressions = [
            Impression(
                surface="explore",
                viewer_id=viewer_id,
                post_id=int(post.post_id),
                author_id=int(post.author.user_id),
                position=position[int(post.post_id)],
                served_at=now,
                model=ranked.model,
                features=ranked.features[int(post.post_id)],
            )
            for post in items
            if int(post.post_id) in ranked.features
        ]
        self.ports.activity.record(impressions)

    def _fill(
        self, viewer_id: int, ids: list[int], start: int, limit: int, hidden: set[int], left_out: set[int]
    ) -> tuple[list[Post], list[int], int, bool]:
        """The page's posts from `start` on, without `left_out`'s authors and at most PAGE_MAX_PER_AUTHOR by any
        other: the page, the list (its deferred posts moved right after the page, where the next page starts), the
        next offset, and whether anything moved."""
        items: list[Post] = []
        deferred: list[int] = []
        per_author: dict[str, int] = {}
        offset = start
        for _ in range(MAX_REFILLS):
            chunk = ids[offset : offset + limit - len(items)]
            if not chunk:
                break
            offset += len(chunk)
            # Private accounts' posts are left out as the page is read: one that went private since the list was
            # ranked (or the pools were refreshed) is gone at once.
            for post in self.ports.views.approved(viewer_id, self.ports.views.many(viewer_id, chunk, hidden=hidden)):
                author = post.author.user_id
                if int(author) in left_out:
                    continue
                if per_author.get(author, 0) >= PAGE_MAX_PER_AUTHOR:
                    deferred.append(int(post.post_id))  # to a later page: a short page beats a crowded one
                    continue
                per_author[author] = per_author.get(author, 0) + 1
                items.append(post)
            if len(items) >= limit:
                break
        if not deferred:
            return items, ids, offset, False
        moved = set(deferred)
        reordered = [p for p in ids[:offset] if p not in moved] + deferred + ids[offset:]
        return items, reordered, offset - len(deferred), True


def _candidate(record: PostRecord) -> Candidate:
    return Candidate(
        record.post_id,
        record.author_id,
        record.created_at,
        record.like_count,
        record.comment_count,
        _topics(record.hashtags),
    )
