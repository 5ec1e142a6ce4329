"""A synthetic social world: power-law follower counts with a few celebrities, posts with topics, and likes and
comments driven by hidden tastes, so a ranking model has something real to learn. Deterministic for a seed.

    python -m bench.world --users 2000 --seed 7     # generate, train the ranker, print the offline check
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections import defaultdict
from dataclasses import dataclass, field

from aperture.ranking import FEATURES, Candidate, RankingModel, auc, features, ndcg_at, rank, train

TOPICS = ("food", "travel", "cats", "dogs", "city", "nature", "sport", "art", "music", "fashion")
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@dataclass
class World:
    users: int
    follows: dict[int, set[int]]  # follower -> followees
    posts: list[Candidate]
    likes: list[tuple[int, int, int]]  # (user, post_id, at_ms)
    comments: list[tuple[int, int, int]]
    now_ms: int
    celebrities: set[int] = field(default_factory=set)

    def followers_of(self) -> dict[int, set[int]]:
        found: dict[int, set[int]] = defaultdict(set)
        for follower, followees in self.follows.items():
            for followee in followees:
                found[followee].add(follower)
        return found


def progress(label: str, done: int, total: int) -> None:
    """A one-line progress bar on stderr."""
    if total and (done == total or done % max(1, total // 50) == 0):
        filled = int(30 * done / total)
        sys.stderr.write(f"\r{label:<10} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def generate(users: int, seed: int, days: int = 14, celebrity_threshold: int | None = None) -> World:
    """Users with tastes, a power-law follow graph, two weeks of posts, and the likes and comments they drew."""
    rng = random.Random(seed)
    now = 1_800_000_000_000
    taste = [[rng.gammavariate(0.3, 1.0) for _ in TOPICS] for _ in range(users)]
    popularity = [1 / (rank + 1) ** 1.1 for rank in range(users)]  # Zipf: user 0 is the most followed
    rng.shuffle(popularity)
    ranked = sorted(range(users), key=lambda u: popularity[u], reverse=True)
    threshold = celebrity_threshold or max(10, users // 10)
    follows: dict[int, set[int]] = {}
    for user in range(users):
        progress("follows", user + 1, users)
        wanted = min(users - 1, max(3, int(rng.lognormvariate(3.0, 0.8))))
        chosen = set(rng.choices(range(users), weights=popularity, k=wanted * 2)) - {user}
        follows[user] = set(list(chosen)[:wanted])
    followers: dict[int, set[int]] = defaultdict(set)
    for follower, followees in follows.items():
        for followee in followees:
            followers[followee].add(follower)
    for star in ranked[:3]:  # a few accounts well past the threshold
        for fan in rng.sample(range(users), min(users - 1, threshold + users // 20)):
            if fan != star:
                follows[fan].add(star)
                followers[star].add(fan)
    celebrities = {u for u in range(users) if len(followers[u]) >= threshold}
    affinity = {(f, a): rng.lognormvariate(0, 1) for f, fs in follows.items() for a in fs}

    posts: list[Candidate] = []
    post_id = 1
    for author in range(users):
        progress("posts", author + 1, users)
        favourite = sorted(range(len(TOPICS)), key=lambda t: taste[author][t], reverse=True)[:3]
        for _ in range(rng.randint(0, 6)):
            created = now - rng.randint(0, days * DAY_MS)
            tags = tuple(sorted({TOPICS[rng.choice(favourite)] for _ in range(rng.randint(1, 2))}))
            posts.append(Candidate(post_id, author, created, 0, 0, tags))
            post_id += 1
    by_author: dict[int, list[Candidate]] = defaultdict(list)
    for post in posts:
        by_author[post.author_id].append(post)

    likes: list[tuple[int, int, int]] = []
    comments: list[tuple[int, int, int]] = []
    for viewer in range(users):
        progress("likes", viewer + 1, users)
        total_taste = sum(taste[viewer]) or 1.0
        for author in follows[viewer]:
            for post in by_author[author]:
                topic = sum(taste[viewer][TOPICS.index(t)] for t in post.hashtags) / total_taste
                z = -3.2 + 0.9 * math.log(affinity[(viewer, author)]) + 3.0 * topic
                if rng.random() < 1 / (1 + math.exp(-z)):
                    at = post.created_at + int(rng.expovariate(1 / (6 * HOUR_MS)))
                    if at < now:
                        likes.append((viewer, post.post_id, at))
                        if rng.random() < 0.15:
                            comments.append((viewer, post.post_id, at + 60_000))
    return World(users, follows, posts, likes, comments, now, celebrities)


@dataclass(frozen=True)
class Evaluation:
    train_examples: int
    test_examples: int
    model: RankingModel
    auc_ranked: float
    auc_chronological: float
    ndcg_ranked: float
    ndcg_chronological: float


def _history(world: World, until: int) -> tuple[dict[int, dict[int, float]], dict[int, dict[str, float]]]:
    """Each viewer's affinity to authors and topics from what they liked and commented on before `until`."""
    post_of = {p.post_id: p for p in world.posts}
    authors: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    topics: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for weight, events in ((1.0, world.likes), (2.0, world.comments)):
        for user, post_id, at in events:
            if at < until:
                post = post_of[post_id]
                authors[user][post.author_id] += weight
                for tag in post.hashtags:
                    topics[user][tag] += weight
    return authors, topics


def _examples(
    world: World, start: int, end: int, history_until: int, viewers: int
) -> list[tuple[int, Candidate, int, int]]:
    """(viewer, post with counts as of view time, label, view time) for posts made in [start, end)."""
    liked = {(u, p) for u, p, _ in world.likes}
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for index, events in enumerate((world.likes, world.comments)):
        for _, post_id, at in events:
            if at < history_until:
                counts[post_id][index] += 1
    rows = []
    for viewer in range(min(viewers, world.users)):
        for post in world.posts:
            if start <= post.created_at < end and post.author_id in world.follows[viewer]:
                likes, comments = counts[post.post_id]
                seen = Candidate(post.post_id, post.author_id, post.created_at, likes, comments, post.hashtags)
                rows.append((viewer, seen, int((viewer, post.post_id) in liked), end))
    return rows


def evaluate(world: World, viewers: int = 400) -> Evaluation:
    """Train on the first ten days' likes, test on the last four: ranked against chronological."""
    split = world.now_ms - 4 * DAY_MS
    authors, topics = _history(world, split - 2 * DAY_MS)
    train_rows = _examples(world, split - 6 * DAY_MS, split - 2 * DAY_MS, split - 2 * DAY_MS, viewers)
    model = train([(features(c, at, authors[v], topics[v]), label) for v, c, label, at in train_rows])
    authors, topics = _history(world, split)
    test_rows = _examples(world, split, world.now_ms, split, viewers)
    ranked_scores = [model.probability(features(c, at, authors[v], topics[v])) for v, c, _, at in test_rows]
    labels = [label for _, _, label, _ in test_rows]
    chronological_scores = [float(c.created_at) for _, c, _, _ in test_rows]
    by_viewer: dict[int, list[tuple[Candidate, int]]] = defaultdict(list)
    for viewer, candidate, label, _ in test_rows:
        by_viewer[viewer].append((candidate, label))
    ranked_ndcg, chrono_ndcg = [], []
    for viewer, rows in by_viewer.items():
        if not any(label for _, label in rows):
            continue
        label_of = {c.post_id: label for c, label in rows}
        order = rank([c for c, _ in rows], model, world.now_ms, authors[viewer], topics[viewer])
        ranked_ndcg.append(ndcg_at([label_of[p] for p in order]))
        newest = sorted(rows, key=lambda row: row[0].created_at, reverse=True)
        chrono_ndcg.append(ndcg_at([label for _, label in newest]))
    return Evaluation(
        len(train_rows),
        len(test_rows),
        model,
        auc(ranked_scores, labels),
        auc(chronological_scores, labels),
        sum(ranked_ndcg) / max(1, len(ranked_ndcg)),
        sum(chrono_ndcg) / max(1, len(chrono_ndcg)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--write-model", help="write the trained weights to this JSON file")
    args = parser.parse_args()
    world = generate(args.users, args.seed)
    edges = sum(len(f) for f in world.follows.values())
    print(f"{world.users} users, {edges} follows, {len(world.posts)} posts, {len(world.likes)} likes, ")
    print(f"{len(world.comments)} comments, {len(world.celebrities)} accounts above the celebrity threshold")
    result = evaluate(world)
    print(f"train {result.train_examples} examples, test {result.test_examples}")
    print("| order | AUC (held-out likes) | NDCG@10 |")
    print("|---|---|---|")
    print(f"| ranked ({result.model.version}) | {result.auc_ranked:.3f} | {result.ndcg_ranked:.3f} |")
    print(f"| chronological | {result.auc_chronological:.3f} | {result.ndcg_chronological:.3f} |")
    print(
        "weights: "
        + ", ".join(f"{f}={result.model.weights[f]:.2f}" for f in FEATURES)
        + f", bias={result.model.bias:.2f}"
    )
    if args.write_model:
        with open(args.write_model, "w") as out:
            out.write(result.model.to_json())


if __name__ == "__main__":
    main()
