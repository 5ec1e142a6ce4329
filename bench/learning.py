"""Ranking loop, end to end: a synthetic world whose people have hidden tastes (local/world.py) uses the platform for
several simulated days through its HTTP API (posting, reading the feed and explore, liking, commenting, saving and
opening profiles according to their tastes, only of what they were shown); each day ends with `activity_flush` and
the clock moves a day; from the third day `ranking_train` runs each morning, and its gate decides what serves. Each
day's logged impressions, which no model serving that day was trained on, are then replayed offline: the serving
model against the shipped default and the baseline (chronological on the feed, popularity on explore).

    PYTHONPATH=layers/core/python:. python -m bench.learning [--people 80] [--days 6] [--seed 7]
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from aperture import wiring
from aperture.activity import ENGAGEMENT, IMPRESSION, Engagement, Impression, Surface
from aperture.adapters.activity_archive import read_records
from aperture.clock import now_ms
from aperture.learning import ExampleBuilder, Examples, Labels, baseline_scores, figures, hit_rate, scores
from aperture.ranking import RankingModel
from aperture.settings import get_settings
from local.seeding import Account, publish_post
from local.world import DAY_MS, HOUR_MS, TOPICS, WORLD_TASTES, Tastes, World, generate, like_logit

SURFACES: tuple[Surface, ...] = ("feed", "explore")
PASSWORD = "Bench-pass-1!"
PAGE = 20
TOP = 3  # the hit rate: share of pages with an engagement that has one among the model's first TOP posts
# What an engagement is, once a post moves someone (the label's actions; a profile open labels the author's posts)
ACTIONS = (("like", 0.55), ("save", 0.15), ("comment", 0.1), ("profile_open", 0.2))
# Explore shows posts of people one does not follow: their affinity is below a follow's median (1.0)
STRANGER_AFFINITY = 0.5
# A deployment's people are not the synthetic world the shipped defaults were fit on (local/world.py's, where
# engagement follows the affinity for the author and the taste for the post's topics, 0.9 and 3.0): here they
# engage by topic three times as strongly and care little who posted (an interest community rather than friends).
# Learning that is what the loop is for; with the world's own tastes the shipped feed model is already the right
# one (docs/benchmarks.md, "the loop end to end").
DEPLOYMENT_TASTES = Tastes(bias=-4.4, affinity=0.3, topic=9.0)
TASTES = {"deployment": DEPLOYMENT_TASTES, "world": WORLD_TASTES}
# The loop's own settings: a small world's day has a few thousand impressions, not the production minimum
LOOP_SETTINGS = {"APERTURE_RANKING_MIN_EXAMPLES": "200"}


class Driver(Protocol):
    """How the loop uses the platform: its API, the event pump, the scheduled jobs and the clock."""

    def call(self, method: str, path: str, account: Account | None = None, **kwargs: Any) -> Any: ...
    def sign_up(self, name: str) -> Account: ...
    def drain(self) -> None: ...
    def run(self, job: str) -> None: ...
    def advance(self, seconds: float) -> None: ...


@dataclass
class DayFigures:
    surface: Surface
    auc: float
    ndcg: float
    hit: float


@dataclass
class DayRow:
    """One day of the loop, one surface: the model that served, and every model's figures on that day's pages."""

    day: str
    surface: Surface
    served: str
    impressions: int
    positives: int
    figures: dict[str, DayFigures] = field(default_factory=dict)  # "served", "default", "baseline"


@dataclass
class Loop:
    """What the loop leaves: the rows per day and surface, and what each morning's training run decided."""

    rows: list[DayRow]
    decisions: dict[str, dict[str, str]]  # day -> surface -> "promoted"/"refused ..."/"rejected ..."
    seconds: float


@dataclass
class People:
    world: World
    accounts: list[Account]
    tastes: Tastes
    index: dict[int, int]  # user id -> world index
    posts: dict[int, tuple[int, tuple[str, ...]]] = field(default_factory=dict)  # post id -> (author index, tags)
    engaged: set[tuple[int, int]] = field(default_factory=set)  # (viewer index, post id) engaged with already
    opened: set[tuple[int, int, str]] = field(default_factory=set)  # (viewer, author, day): one profile open a day


def _favourites(taste: list[float]) -> list[str]:
    return [TOPICS[t] for t in sorted(range(len(TOPICS)), key=lambda t: taste[t], reverse=True)[:3]]


def _next_day_start(at_ms: int) -> int:
    return (at_ms // DAY_MS + 1) * DAY_MS


def populate(driver: Driver, people: int, seed: int, follows: int, tastes: Tastes = DEPLOYMENT_TASTES) -> People:
    """The world's people signed up, each following up to `follows` of those the world says they follow (a
    follow is the costliest call of a small world's setup)."""
    world = generate(people, seed, days=1)
    accounts = [driver.sign_up(f"taste{seed}x{i}") for i in range(people)]
    rng = random.Random(f"{seed}:follows")
    for follower, followees in world.follows.items():
        for followee in rng.sample(sorted(followees), min(follows, len(followees))):
            driver.call("PUT", f"/users/{accounts[followee].user_id}/follow", accounts[follower])
    driver.drain()
    return People(world, accounts, tastes, {int(a.user_id): i for i, a in enumerate(accounts)})


def post_round(driver: Driver, who: People, rng: random.Random, chance: float) -> None:
    """Some people post a photo with hashtags from their own favourite topics."""
    for author, account in enumerate(who.accounts):
        if rng.random() < chance:
            favourite = _favourites(who.world.taste[author])
            tags = tuple(sorted({rng.choice(favourite) for _ in range(rng.randint(1, 2))}))
            post_id = publish_post(account, " ".join(f"#{t}" for t in tags), tags)
            who.posts[int(post_id)] = (author, tags)
    driver.drain()


def engage(driver: Driver, who: People, rng: random.Random, viewer: int, items: list[dict[str, Any]]) -> None:
    """The viewer's reactions to a page they were shown, by their hidden taste and affinity alone."""
    account, world = who.accounts[viewer], who.world
    today = datetime.datetime.fromtimestamp(now_ms() / 1000, tz=datetime.UTC).date().isoformat()
    # (in post order, not page order: what a person would do with a post does not depend on where it was ranked,
    # and a run is the same whichever model ordered the page)
    for post_id in sorted(int(item["post_id"]) for item in items):
        known = who.posts.get(post_id)
        if known is None or (viewer, post_id) in who.engaged:
            continue
        author, tags = known
        affinity = world.affinity.get((viewer, author), STRANGER_AFFINITY)
        if rng.random() >= 1 / (1 + math.exp(-like_logit(world.taste[viewer], affinity, tags, who.tastes))):
            continue
        who.engaged.add((viewer, post_id))
        action = rng.choices([a for a, _ in ACTIONS], weights=[w for _, w in ACTIONS])[0]
        if action == "like":
            driver.call("PUT", f"/posts/{post_id}/like", account)
        elif action == "save":
            driver.call("PUT", f"/posts/{post_id}/save", account)
        elif action == "comment":
            driver.call("POST", f"/posts/{post_id}/comments", account, json={"text": "love this"})
        elif (viewer, author, today) not in who.opened:
            who.opened.add((viewer, author, today))
            driver.call("GET", f"/users/{who.accounts[author].username}", account)


def session(driver: Driver, who: People, rng: random.Random, explore: bool = True) -> None:
    """Everyone opens their ranked feed (and explore) once, and reacts to what they were shown."""
    if explore:
        driver.run("explore_refresh")
    for viewer, account in enumerate(who.accounts):
        feed = driver.call("GET", "/feed", account, query_string={"limit": PAGE, "order": "ranked"})
        engage(driver, who, rng, viewer, feed["items"])
        if explore:
            shown = driver.call("GET", "/explore", account, query_string={"limit": PAGE})
            engage(driver, who, rng, viewer, shown["items"])
    driver.drain()


def run_loop(
    driver: Driver,
    people: int = 80,
    days: int = 6,
    seed: int = 7,
    sessions: int = 2,
    posts_per_day: float = 4.0,
    follows: int = 8,
    explore: bool = True,
    report: Callable[[str], None] = lambda line: None,
    tastes: Tastes = DEPLOYMENT_TASTES,
) -> Loop:
    """The loop for `days` simulated days, from the next UTC midnight; returns each day's replayed figures."""
    started = time.perf_counter()
    rng = random.Random(f"{seed}:loop")
    who = populate(driver, people, seed, follows, tastes)
    driver.advance((_next_day_start(now_ms()) - now_ms()) / 1000)
    first = datetime.datetime.fromtimestamp(now_ms() / 1000, tz=datetime.UTC).date()
    served: dict[str, dict[Surface, RankingModel]] = {}
    decisions: dict[str, dict[str, str]] = {}
    store = wiring.model_store()
    for index in range(days):
        today = (first + datetime.timedelta(days=index)).isoformat()
        driver.advance(HOUR_MS / 1000)
        if index >= 2:  # the first run with a day held out and a day before it to train on
            driver.run("ranking_train")
            decisions[today] = {s: _decision(store, s, today) for s in SURFACES}
            report(f"{today}: ranking_train {decisions[today]}")
        driver.advance(HOUR_MS / 1000)  # past the serving cache's TTL (300 s): what was promoted serves now
        served[today] = {s: _serving(store, s) for s in SURFACES}
        for _ in range(sessions):
            post_round(driver, who, rng, posts_per_day / sessions)
            session(driver, who, rng, explore)
            driver.advance(20 * HOUR_MS / sessions / 1000)
        driver.run("activity_flush")
        report(f"{today}: {len(who.engaged)} engagements so far, served {[m.version for m in served[today].values()]}")
        driver.advance((_next_day_start(now_ms()) - now_ms()) / 1000)
    rows = [row for day in served for row in replay(day, served[day], first.isoformat())]
    return Loop(rows, decisions, time.perf_counter() - started)


def _decision(store: Any, surface: str, version_day: str) -> str:
    held_out = (datetime.date.fromisoformat(version_day) - datetime.timedelta(days=2)).isoformat()
    found = store.report(surface, held_out)
    if found is None:
        return "no report"
    return "promoted" if found["promoted"] else f"not promoted: {found['reason']}"


def _serving(store: Any, surface: Surface) -> RankingModel:
    found = store.current(surface)
    if found is not None:
        return RankingModel.from_json(found)
    return shipped(surface)


def shipped(surface: Surface) -> RankingModel:
    """The default shipped in the layer: what serves before any promotion."""
    model = RankingModel.default() if surface == "feed" else wiring.shipped_explore_model()
    if model is None:
        raise LookupError("no explore model is shipped in the layer (aperture/explore_model.json)")
    return model


def day_examples(day: str, first: str) -> dict[Surface, Examples]:
    """The day's logged impressions, per surface, labelled by the engagements of that day and the next, as the
    job's gate holds a day out: only first showings, none of a post its viewer was shown since `first`."""
    media = wiring.media_store()
    date = datetime.date.fromisoformat(day)
    following, before = (date + datetime.timedelta(days=1)).isoformat(), (date - datetime.timedelta(days=1)).isoformat()
    engagements = [r for r in read_records(media, ENGAGEMENT, day, following) if isinstance(r, Engagement)]
    labels = Labels(engagements, get_settings().ranking_label_window_seconds * 1000)
    builders = {surface: ExampleBuilder(surface, labels) for surface in SURFACES}
    if first < day:
        for record in read_records(media, IMPRESSION, first, before):
            if isinstance(record, Impression) and record.surface in builders:
                builders[record.surface].shown_before(record)
    for record in read_records(media, IMPRESSION, day, day):
        if isinstance(record, Impression) and record.surface in builders:
            builders[record.surface].add(record)
    return {surface: builder.build() for surface, builder in builders.items()}


def replay(day: str, serving: dict[Surface, RankingModel], first: str) -> list[DayRow]:
    """The day's pages scored offline by the model that served, by the shipped default and by the baseline."""
    rows = []
    for surface, examples in day_examples(day, first).items():
        if not len(examples):
            continue
        row = DayRow(day, surface, serving[surface].version, len(examples), examples.positives)
        candidates = {
            "served": scores(serving[surface], examples),
            "default": scores(shipped(surface), examples),
            "baseline": baseline_scores(examples)[1],
        }
        for name, values in candidates.items():
            measured = figures(values, examples)
            row.figures[name] = DayFigures(surface, measured.auc, measured.ndcg, hit_rate(values, examples, TOP))
        rows.append(row)
    return rows


def table(loop: Loop) -> str:
    lines = []
    for surface in SURFACES:
        baseline = "chronological" if surface == "feed" else "popularity"
        lines += [
            "",
            f"{surface}: each day's impressions (unseen by the model serving them), replayed",
            f"| day | served model | impressions (engaged) | AUC served / default / {baseline} "
            f"| NDCG@10 served / default / {baseline} | hit@{TOP} served / default / {baseline} |",
            "|---|---|---|---|---|---|",
        ]
        for row in (r for r in loop.rows if r.surface == surface):
            f = row.figures
            lines.append(
                f"| {row.day} | {row.served} | {row.impressions:,} ({row.positives:,}) "
                f"| {f['served'].auc:.3f} / {f['default'].auc:.3f} / {f['baseline'].auc:.3f} "
                f"| {f['served'].ndcg:.3f} / {f['default'].ndcg:.3f} / {f['baseline'].ndcg:.3f} "
                f"| {f['served'].hit:.3f} / {f['default'].hit:.3f} / {f['baseline'].hit:.3f} |"
            )
    return "\n".join(lines)


class GatewayDriver:
    """The platform through its gateway in process (the same routes, JWT checks and API Gateway events as over
    HTTP, as bench/feed.py's handler timings do) and its local controls (/_local/run, /_local/clock, /_local/drain)."""

    def __init__(self, app: Any) -> None:
        from werkzeug.test import Client

        self._client = Client(app)

    def call(self, method: str, path: str, account: Account | None = None, **kwargs: Any) -> Any:
        headers = account.headers if account else {}
        response = self._client.open(path, method=method, headers=headers, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.get_data(as_text=True)}")
        return response.json

    def sign_up(self, name: str) -> Account:
        user = self.call("POST", "/auth/signup", json={"username": name, "password": PASSWORD, "email": f"{name}@x.io"})
        token = self.call("POST", "/auth/token", json={"username": name, "password": PASSWORD})
        return Account(user["user_id"], name, token["id_token"])

    def drain(self) -> None:
        self.call("POST", "/_local/drain")

    def run(self, job: str) -> None:
        self.call("POST", f"/_local/run/{job}")

    def advance(self, seconds: float) -> None:
        self.call("POST", "/_local/clock", json={"advance_seconds": max(0.0, seconds)})


def weights(loop: Loop) -> str:
    store = wiring.model_store()
    lines = []
    for surface in SURFACES:
        model = _serving(store, surface)
        top = sorted(model.weights.items(), key=lambda kv: -abs(kv[1]))[:6]
        lines.append(f"{surface} serving {model.version}: " + ", ".join(f"{n}={w:+.2f}" for n, w in top))
    return "\n".join(lines)


def main() -> None:
    from bench import lift_rate_limits

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=80)
    parser.add_argument("--days", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sessions", type=int, default=2, help="feed (and explore) reads a person a day")
    parser.add_argument("--posts-per-day", type=float, default=4.0)
    parser.add_argument("--follows", type=int, default=8, help="at most this many of the world's follows each")
    parser.add_argument("--json", help="also write the rows and decisions to this file (what the loop test reads)")
    parser.add_argument(
        "--tastes",
        choices=sorted(TASTES),
        default="deployment",
        help="how people engage: the deployment's own (default), or the world the shipped models were fit on",
    )
    args = parser.parse_args()
    lift_rate_limits()
    os.environ["APERTURE_SCHEDULES"] = "manual"
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # (the platform's metric lines, not this table)
    os.environ.update(LOOP_SETTINGS)
    from local.runtime import start

    platform = start(0)
    driver = GatewayDriver(platform.server.app)
    loop = run_loop(
        driver,
        args.people,
        args.days,
        args.seed,
        args.sessions,
        args.posts_per_day,
        args.follows,
        report=lambda line: print(line, flush=True),
        tastes=TASTES[args.tastes],
    )
    platform.shutdown()
    print(f"\n{args.people} people, {args.days} days, seed {args.seed}: {loop.seconds:.0f} s")
    for day, decided in loop.decisions.items():
        print(f"{day} ranking_train: {decided}")
    print(table(loop))
    print()
    print(weights(loop))
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"rows": [asdict(row) for row in loop.rows], "decisions": loop.decisions}, out, indent=1)


if __name__ == "__main__":
    main()
