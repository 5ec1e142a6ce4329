"""A synthetic social world: power-law follower counts with a few celebrities, posts with topics, stories, and
likes, comments and story views driven by hidden tastes, so a ranking model has something real to learn.
Deterministic for a seed. `python -m local --seed-demo` fills the platform with one; bench/world.py trains and
checks the ranker on them.
"""

from __future__ import annotations

import math
import random
import sys
from collections import defaultdict
from dataclasses import dataclass, field

from aperture.ranking import Candidate

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
    stories: list[tuple[int, int, int]] = field(default_factory=list)  # (story_id, author, created_at_ms)
    story_views: list[tuple[int, int, int]] = field(default_factory=list)  # (viewer, story_id, at_ms)
    # The hidden tastes the engagements come from: each user's weight per topic (TOPICS order), and each follow's
    # affinity (follower, followee); ranking never sees them, only what they cause.
    taste: list[list[float]] = field(default_factory=list)
    affinity: dict[tuple[int, int], float] = field(default_factory=dict)

    def followers_of(self) -> dict[int, set[int]]:
        found: dict[int, set[int]] = defaultdict(set)
        for follower, followees in self.follows.items():
            for followee in followees:
                found[followee].add(follower)
        return found


@dataclass(frozen=True)
class Tastes:
    """How a world's people weigh what they are shown: the log-odds of engaging are `bias`, plus `affinity` times
    the log of their affinity for the author, plus `topic` times the share of their taste in the post's topics."""

    bias: float = -3.2
    affinity: float = 0.9
    topic: float = 3.0


# The world every synthetic figure so far comes from, and the one the shipped default feed model was fit on.
WORLD_TASTES = Tastes()


def like_logit(taste: list[float], affinity: float, hashtags: tuple[str, ...], tastes: Tastes = WORLD_TASTES) -> float:
    """The log-odds that a person with this taste likes a post with these hashtags by an author they hold in this
    affinity (1.0 is neutral), once it is in front of them."""
    total_taste = sum(taste) or 1.0
    topic = sum(taste[TOPICS.index(t)] for t in hashtags) / total_taste
    return tastes.bias + tastes.affinity * math.log(affinity) + tastes.topic * topic


def progress(label: str, done: int, total: int) -> None:
    """A one-line progress bar on stderr."""
    if total and (done == total or done % max(1, total // 50) == 0):
        filled = int(30 * done / total)
        sys.stderr.write(f"\r{label:<10} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _stories(
    users: int,
    seed: int,
    days: int,
    now: int,
    follows: dict[int, set[int]],
    affinity: dict[tuple[int, int], float],
) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """Stories over the world's days and their views by followers, driven by the same hidden affinity as likes.

    A separate random stream, so adding stories leaves the follows, posts, likes and comments of a seed as they
    were. A story is seen at most once per viewer, within its 24 hours and before now.
    """
    rng = random.Random(f"{seed}:stories")
    stories: list[tuple[int, int, int]] = []
    by_author: dict[int, list[tuple[int, int]]] = defaultdict(list)  # author -> [(story_id, created_at)]
    for author in range(users):
        progress("stories", author + 1, users)
        if rng.random() >= 0.3:  # most users never post a story
            continue
        for day in range(days):
            start = now - (days - day) * DAY_MS
            for _ in range(rng.randint(0, 3)):
                created = start + rng.randrange(DAY_MS)
                stories.append((len(stories) + 1, author, created))
                by_author[author].append((stories[-1][0], created))
    views: list[tuple[int, int, int]] = []
    for viewer in range(users):
        progress("views", viewer + 1, users)
        for author in follows[viewer]:
            posted = by_author.get(author)
            if not posted:
                continue
            chance = 1 / (1 + math.exp(1.0 - 1.2 * math.log(affinity[(viewer, author)])))
            for story_id, created in posted:
                if rng.random() < chance:
                    at = created + int(rng.expovariate(1 / (3 * HOUR_MS)))
                    if at < min(created + DAY_MS, now):
                        views.append((viewer, story_id, at))
    return stories, views


def generate(  # noqa: PLR0912 - one pass that reads in the order the world is made
    users: int, seed: int, days: int = 14, celebrity_threshold: int | None = None
) -> World:
    """Users with tastes, a power-law follow graph, two weeks of posts and stories, and the likes, comments and
    story views they drew."""
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
        for author in follows[viewer]:
            for post in by_author[author]:
                z = like_logit(taste[viewer], affinity[(viewer, author)], post.hashtags)
                if rng.random() < 1 / (1 + math.exp(-z)):
                    at = post.created_at + int(rng.expovariate(1 / (6 * HOUR_MS)))
                    if at < now:
                        likes.append((viewer, post.post_id, at))
                        if rng.random() < 0.15:
                            comments.append((viewer, post.post_id, at + 60_000))
    stories, story_views = _stories(users, seed, days, now, follows, affinity)
    return World(users, follows, posts, likes, comments, now, celebrities, stories, story_views, taste, affinity)
