"""Trains the feed's ranker on the synthetic world of local/world.py and checks it offline against chronological
order. Deterministic for a seed.

    python -m bench.world --users 2000 --seed 7     # generate, train the ranker, print the offline check
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from aperture.ranking import AFFINITY_WEIGHTS, FEATURES, Candidate, RankingModel, auc, features, ndcg_at, rank, train
from local.world import DAY_MS, HOUR_MS, World, generate, progress


@dataclass(frozen=True)
class Evaluation:
    train_examples: int
    test_examples: int
    model: RankingModel
    auc_ranked: float
    auc_chronological: float
    ndcg_ranked: float
    ndcg_chronological: float
    train_positives: int = 0
    test_positives: int = 0
    test_lists: int = 0  # (viewer, moment) lists with a like to find, the ones NDCG@10 averages over


# A ranking moment T: the viewer opens the feed. Its candidates are their followees' posts of the INVENTORY
# before T that they have not liked yet; one is a positive if they like it in [T, T + HORIZON). Features use
# only what happened before T, and recency is measured at T.
INVENTORY_MS = 3 * DAY_MS
HORIZON_MS = 2 * DAY_MS
MOMENT_EVERY_MS = 12 * HOUR_MS
MOMENTS = 5  # per phase: train at split - 4 days .. split - 2 days, test at split .. split + 2 days
TEST_DAYS = 4  # split = world end - TEST_DAYS: the last test moment's horizon ends at the world's end


@dataclass(frozen=True)
class Decision:
    """One candidate at one ranking moment, as ranking would have seen it then, and what the viewer did next."""

    viewer: int
    at: int  # the ranking moment, unix ms
    candidate: Candidate  # like and comment counts as of `at`
    label: int  # liked in [at, at + HORIZON_MS)


def _history(
    world: World, until: int, weights: Mapping[str, float] = AFFINITY_WEIGHTS
) -> tuple[dict[int, dict[int, float]], dict[int, dict[str, float]]]:
    """Each viewer's affinity to authors and topics from what they liked, commented on and (authors only) the
    stories they viewed before `until`, weighted as the live system weights them (or by `weights`)."""
    post_of = {p.post_id: p for p in world.posts}
    authors: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    topics: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for weight, events in ((weights["like"], world.likes), (weights["comment"], world.comments)):
        for user, post_id, at in events:
            if at < until:
                post = post_of[post_id]
                authors[user][post.author_id] += weight
                for tag in post.hashtags:
                    topics[user][tag] += weight
    author_of_story = {story_id: author for story_id, author, _ in world.stories}
    weight = weights["story_view"]
    for user, story_id, at in world.story_views:
        if at < until:
            authors[user][author_of_story[story_id]] += weight
    return authors, topics


def _decisions(world: World, at: int, until: int, viewers: int) -> list[Decision]:
    """Every candidate of the first `viewers` viewers at ranking moment `at`, labelled by likes in [at, until)."""
    liked_at = {(user, post_id): when for user, post_id, when in world.likes}
    times: dict[int, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for index, events in enumerate((world.likes, world.comments)):
        for _, post_id, when in events:
            times[post_id][index].append(when)
    by_author: dict[int, list[Candidate]] = defaultdict(list)
    for post in world.posts:
        if at - INVENTORY_MS <= post.created_at < at:
            by_author[post.author_id].append(post)
    rows = []
    for viewer in range(min(viewers, world.users)):
        for author in sorted(world.follows[viewer]):
            for post in by_author[author]:
                liked = liked_at.get((viewer, post.post_id))
                if liked is not None and liked < at:
                    continue  # already liked: not a candidate
                likes, comments = (sum(1 for t in ts if t < at) for ts in times[post.post_id])
                seen = Candidate(post.post_id, post.author_id, post.created_at, likes, comments, post.hashtags)
                rows.append(Decision(viewer, at, seen, int(liked is not None and liked < until)))
    return rows


def evaluate(
    world: World,
    viewers: int | None = None,
    weights: Mapping[str, float] = AFFINITY_WEIGHTS,
    version: str = "trained",
    model: RankingModel | None = None,
) -> Evaluation:
    """Train on ranking moments before the split, test on moments from it on: ranked against chronological.

    Train moments run every 12 hours from split - 4 days to split - 2 days, so their labels (likes within
    two days) all fall before the split; test moments run from the split to world end - 2 days, labelled by likes
    from the split on. Affinities (with `weights`), counts and recency are as of each moment. With `model`, that
    model is tested instead of one trained here.
    """
    count = world.users if viewers is None else viewers
    split = world.now_ms - TEST_DAYS * DAY_MS
    train_at = [split - HORIZON_MS - k * MOMENT_EVERY_MS for k in reversed(range(MOMENTS))]
    test_at = [split + k * MOMENT_EVERY_MS for k in range(MOMENTS)]
    if max(train_at) + HORIZON_MS > split or max(test_at) >= world.now_ms:
        raise ValueError("train labels must end by the split, and test moments come before the world's end")
    history = {}
    train_rows: list[Decision] = []
    test_rows: list[Decision] = []
    for done, at in enumerate(train_at + test_at, 1):
        progress("moments", done, len(train_at) + len(test_at))
        history[at] = _history(world, at, weights)
        rows = train_rows if at < split else test_rows
        rows.extend(_decisions(world, at, min(at + HORIZON_MS, world.now_ms), count))

    def inputs(row: Decision) -> dict[str, float]:
        authors, topics = history[row.at]
        return features(row.candidate, row.at, authors[row.viewer], topics[row.viewer])

    if model is None:
        model = train([(inputs(row), row.label) for row in train_rows], version=version)
    labels = [row.label for row in test_rows]
    ranked_scores = [model.probability(inputs(row)) for row in test_rows]
    chronological_scores = [float(row.candidate.created_at - row.at) for row in test_rows]  # minus the age
    lists: dict[tuple[int, int], list[Decision]] = defaultdict(list)
    for row in test_rows:
        lists[(row.viewer, row.at)].append(row)
    ranked_ndcg, chrono_ndcg = [], []
    for (viewer, at), rows in lists.items():
        if not any(row.label for row in rows):
            continue
        label_of = {row.candidate.post_id: row.label for row in rows}
        authors, topics = history[at]
        order = rank([row.candidate for row in rows], model, at, authors[viewer], topics[viewer])
        ranked_ndcg.append(ndcg_at([label_of[p] for p in order]))
        newest = sorted(rows, key=lambda row: (row.candidate.created_at, row.candidate.post_id), reverse=True)
        chrono_ndcg.append(ndcg_at([row.label for row in newest]))
    return Evaluation(
        len(train_rows),
        len(test_rows),
        model,
        auc(ranked_scores, labels),
        auc(chronological_scores, labels),
        sum(ranked_ndcg) / max(1, len(ranked_ndcg)),
        sum(chrono_ndcg) / max(1, len(chrono_ndcg)),
        sum(row.label for row in train_rows),
        sum(labels),
        len(ranked_ndcg),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--write-model", help="write the trained weights to this JSON file")
    parser.add_argument("--model", help="test this model JSON (e.g. the shipped default) instead of training one")
    parser.add_argument(
        "--sweep", help='story-view weights to compare instead, e.g. "0,0.05,0.1,0.25,0.5" (one world, retrained each)'
    )
    args = parser.parse_args()
    world = generate(args.users, args.seed)
    edges = sum(len(f) for f in world.follows.values())
    print(f"{world.users} users, {edges} follows, {len(world.posts)} posts, {len(world.likes)} likes, ")
    print(f"{len(world.comments)} comments, {len(world.stories)} stories, {len(world.story_views)} story views, ")
    print(f"{len(world.celebrities)} accounts above the celebrity threshold")
    if args.sweep:
        print("| story-view weight | AUC ranked | AUC chronological | NDCG@10 ranked | NDCG@10 chronological |")
        print("|---|---|---|---|---|")
        for value in (float(v) for v in args.sweep.split(",")):
            result = evaluate(world, weights={**AFFINITY_WEIGHTS, "story_view": value})
            print(
                f"| {value:g} | {result.auc_ranked:.3f} | {result.auc_chronological:.3f} "
                f"| {result.ndcg_ranked:.3f} | {result.ndcg_chronological:.3f} |"
            )
        return
    given = None
    if args.model:
        with open(args.model) as source:
            given = RankingModel.from_json(source.read())
    result = evaluate(world, version=f"world-{args.users}-seed{args.seed}-v2", model=given)
    print(
        f"train {result.train_examples} candidates ({result.train_positives} liked), "
        f"test {result.test_examples} ({result.test_positives} liked, {result.test_lists} lists with a like)"
    )
    print(f"story-view weight {AFFINITY_WEIGHTS['story_view']:g}")
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
