"""Explore's state in Redis: engagement signals, the refreshed model, and each viewer's precomputed list.

Keys are cluster-safe: every multi-key command (the two-day popularity unions) stays inside one hash tag, and
pipelines touching many tags are split per node by the cluster client.

- Popularity per region and per topic is counted in day buckets that expire after three days; reading unions
  today's and yesterday's at half weight, a decay with no rewrite of old scores.
- Co-engagement: each user's recently engaged posts and each post's recent engagers (200 each), the input of
  collaborative filtering and of the embedding model.
- The model (pools, post metadata, tag vectors; zlib JSON) and the user vectors are written under a generation
  id; the previous generation stays readable for two refresh cycles while jobs and cursors finish with it.
- A viewer's list: the ranked post ids under the generation that ranked them, and a pointer to the current one
  that lapses after APERTURE_EXPLORE_PAGE_SECONDS (the next visit ranks again if no refresh has).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aperture.adapters.redis_store import PipelineBatch, Slot

DAY_MS = 86_400_000
GLOBAL = "*"  # the popularity of every region together
BUCKET_SECONDS = 3 * 86_400
ENGAGEMENT_CAP = 200  # posts per user, users per post
POPULAR_CAP = 20_000  # posts kept per day bucket
SEEN_CAP = 2_000
SEEN_SECONDS = 30 * 86_400
EVENT_SECONDS = 86_400  # how long an applied event id is remembered (Kinesis keeps records 24 h)
MODEL_SECONDS = 2 * 3_600
ACTIVE_KEY = "xp:active"
REGIONS_KEY = "xp:regions"
MODEL_POINTER = "xp:model"


def day_of(ms: int) -> int:
    return ms // DAY_MS


def popular_key(region: str, day: int) -> str:
    return f"xp:{{pop:{region or GLOBAL}}}:{day}"


def topic_key(tag: str, day: int) -> str:
    return f"xp:{{topic:{tag}}}:{day}"


def tags_key(day: int) -> str:
    return f"xp:{{tags}}:{day}"


def engaged_key(user_id: int) -> str:
    return f"xp:{{u:{user_id}}}:engaged"


def engagers_key(post_id: int) -> str:
    return f"xp:{{p:{post_id}}}:engagers"


def seen_key(user_id: int) -> str:
    return f"xp:{{u:{user_id}}}:seen"


def followed_key(user_id: int) -> str:
    return f"xp:{{u:{user_id}}}:followed"


def list_key(user_id: int, generation: str) -> str:
    return f"xp:{{u:{user_id}}}:list:{generation}"


def current_key(user_id: int) -> str:
    return f"xp:{{u:{user_id}}}:current"


def model_key(generation: str) -> str:
    return f"xp:model:{generation}"


def user_vectors_key(generation: str) -> str:
    return f"xp:model:{generation}:users"


def event_key(event_id: str) -> str:
    return f"xp:event:{event_id}"


@dataclass(frozen=True)
class Engagement:
    """One change of interest: `weight` from `user_id` (of `region`) to a post (of `topics`), at `at_ms`.

    A negative weight takes a like back; `user_id` None is a post's own arrival (a small score so new posts get
    seen at all)."""

    post_id: int
    user_id: int | None
    region: str
    topics: tuple[str, ...]
    weight: float
    at_ms: int


@dataclass(frozen=True)
class ViewerList:
    generation: str
    post_ids: list[int]


class ExploreStore:
    def __init__(self, client: Any) -> None:
        self._redis = client

    # -- signals -------------------------------------------------------------------------------------------

    def claim_events(self, event_ids: Sequence[str]) -> list[bool]:
        """Whether each event is new (and now claimed): a redelivered batch applies nothing twice."""
        pipe = self._redis.pipeline(transaction=False)
        for event_id in event_ids:
            pipe.set(event_key(event_id), "1", nx=True, ex=EVENT_SECONDS)
        return [bool(reply) for reply in pipe.execute()] if event_ids else []

    def unclaim_events(self, event_ids: Sequence[str]) -> None:
        if event_ids:
            self._redis.delete(*[event_key(e) for e in event_ids])

    def apply(self, engagements: Iterable[Engagement]) -> int:
        """Count every engagement into popularity and co-engagement, in one pipeline."""
        pipe = self._redis.pipeline(transaction=False)
        touched: set[str] = set()
        count = 0
        for e in engagements:
            count += 1
            day = day_of(e.at_ms)
            buckets = [popular_key(GLOBAL, day)]
            if e.region:
                buckets.append(popular_key(e.region, day))
                pipe.sadd(REGIONS_KEY, e.region)
            buckets += [topic_key(tag, day) for tag in e.topics]
            for key in buckets:
                pipe.zincrby(key, e.weight, str(e.post_id))
                touched.add(key)
            for tag in e.topics:
                pipe.zincrby(tags_key(day), e.weight, tag)
            touched.add(tags_key(day))
            if e.user_id is None:
                continue
            engaged, engagers = engaged_key(e.user_id), engagers_key(e.post_id)
            if e.weight > 0:
                pipe.zadd(engaged, {str(e.post_id): e.at_ms})
                pipe.zadd(engagers, {str(e.user_id): e.at_ms})
                pipe.zremrangebyrank(engaged, 0, -ENGAGEMENT_CAP - 1)
                pipe.zremrangebyrank(engagers, 0, -ENGAGEMENT_CAP - 1)
            else:
                pipe.zrem(engaged, str(e.post_id))
                pipe.zrem(engagers, str(e.user_id))
        for key in touched:
            pipe.zremrangebyrank(key, 0, -POPULAR_CAP - 1)
            pipe.expire(key, BUCKET_SECONDS)
        if count:
            pipe.execute()
        return count

    # -- reading signals for the refresh -------------------------------------------------------------------

    def regions(self) -> list[str]:
        return sorted(self._redis.smembers(REGIONS_KEY))

    def popular(self, regions: Sequence[str], now_ms: int, limit: int) -> dict[str, list[tuple[int, float]]]:
        """Per region (and GLOBAL): the top posts by today's score plus half of yesterday's."""
        names = [GLOBAL, *regions]
        return self._unions(popular_key, names, now_ms, limit)

    def topics(self, now_ms: int, limit: int) -> list[str]:
        today = day_of(now_ms)
        reply = self._redis.zunion({tags_key(today): 1.0, tags_key(today - 1): 0.5}, withscores=True)
        ranked = sorted(((float(s), str(t)) for t, s in reply), reverse=True)
        return [tag for score, tag in ranked[:limit] if score > 0]

    def topic_posts(self, tags: Sequence[str], now_ms: int, limit: int) -> dict[str, list[tuple[int, float]]]:
        return self._unions(topic_key, list(tags), now_ms, limit)

    def _unions(self, key_of: Any, names: list[str], now_ms: int, limit: int) -> dict[str, list[tuple[int, float]]]:
        today = day_of(now_ms)
        pipe = self._redis.pipeline(transaction=False)
        for name in names:
            # Yesterday at half weight: a decay with no rewrite of old scores.
            pipe.zunion({key_of(name, today): 1.0, key_of(name, today - 1): 0.5}, withscores=True)
        result: dict[str, list[tuple[int, float]]] = {}
        for name, reply in zip(names, pipe.execute() if names else [], strict=True):
            ranked = sorted(((float(score), int(member)) for member, score in reply), reverse=True)
            result[name] = [(post_id, score) for score, post_id in ranked[:limit] if score > 0]
        return result

    def engagers(self, post_ids: Sequence[int], chunk: int = 1_000) -> dict[int, list[int]]:
        """Each post's recent engagers, most recent first."""
        result: dict[int, list[int]] = {}
        for start in range(0, len(post_ids), chunk):
            part = post_ids[start : start + chunk]
            pipe = self._redis.pipeline(transaction=False)
            for post_id in part:
                pipe.zrevrange(engagers_key(post_id), 0, -1)
            for post_id, members in zip(part, pipe.execute(), strict=True):
                result[post_id] = [int(m) for m in members]
        return result

    # -- the model -----------------------------------------------------------------------------------------

    def put_model(self, generation: str, model: Mapping[str, Any], user_vectors: Mapping[int, Sequence[float]]) -> None:
        """Store a generation's model and user vectors, then point readers at it (last, so never half-made)."""
        blob = zlib.compress(json.dumps(model, separators=(",", ":")).encode())
        pipe = self._redis.pipeline(transaction=False)
        # decode_responses clients read strings: the compressed blob travels as latin-1 text, byte for byte.
        pipe.set(model_key(generation), blob.decode("latin-1"), ex=MODEL_SECONDS)
        vectors_key = user_vectors_key(generation)
        items = {str(u): json.dumps([round(float(x), 5) for x in v]) for u, v in user_vectors.items()}
        keys = list(items)
        for start in range(0, len(keys), 1_000):
            pipe.hset(vectors_key, mapping={k: items[k] for k in keys[start : start + 1_000]})
        pipe.expire(vectors_key, MODEL_SECONDS)
        pipe.set(MODEL_POINTER, generation)
        pipe.execute()

    def current_generation(self) -> str | None:
        value = self._redis.get(MODEL_POINTER)
        return str(value) if value else None

    def model(self, generation: str) -> dict[str, Any] | None:
        raw = self._redis.get(model_key(generation))
        if raw is None:
            return None
        data: dict[str, Any] = json.loads(zlib.decompress(raw.encode("latin-1")))
        return data

    def user_vector(self, generation: str, user_id: int) -> list[float] | None:
        raw = self._redis.hget(user_vectors_key(generation), str(user_id))
        return [float(x) for x in json.loads(raw)] if raw else None

    # -- viewers -------------------------------------------------------------------------------------------

    def touch_active(self, batch: PipelineBatch, user_id: int, now_ms: int) -> None:
        def commands(pipe: Any) -> int:
            pipe.zadd(ACTIVE_KEY, {str(user_id): now_ms})
            return 1

        batch.queue(commands, lambda replies: None)

    def active(self, since_ms: int) -> list[int]:
        """Viewers who opened explore since `since_ms`; older entries are dropped."""
        self._redis.zremrangebyscore(ACTIVE_KEY, "-inf", f"({since_ms}")
        return [int(m) for m in self._redis.zrangebyscore(ACTIVE_KEY, since_ms, "+inf")]

    def queue_viewer(
        self, batch: PipelineBatch, user_id: int, generation: str | None
    ) -> Slot[tuple[ViewerList | None, list[int] | None, set[int]]]:
        """(the current list, the list of `generation` when one is given, authors followed since)."""

        def commands(pipe: Any) -> int:
            pipe.get(current_key(user_id))
            pipe.get(list_key(user_id, generation) if generation else current_key(user_id))
            pipe.smembers(followed_key(user_id))
            return 3

        def parse(replies: list[Any]) -> tuple[ViewerList | None, list[int] | None, set[int]]:
            current, listed, followed = replies
            ids = _ids(listed) if generation and listed is not None else None
            return _current(current), ids, {int(a) for a in followed}

        return batch.queue(commands, parse)

    def put_list(self, user_id: int, generation: str, post_ids: Sequence[int], seconds: int) -> None:
        """Store a viewer's ranked list: current for `seconds` (one GET serves a first page), and under its
        generation twice as long, for the cursors of pages already open."""
        listed = ",".join(map(str, post_ids))
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(list_key(user_id, generation), listed, ex=2 * seconds)
        pipe.set(current_key(user_id), f"{generation}:{listed}", ex=seconds)
        pipe.delete(followed_key(user_id))
        pipe.execute()

    def forget_list(self, user_id: int, followed_author: int | None, seconds: int) -> None:
        """Drop the viewer's current list (they followed someone); pages already open skip that author."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.delete(current_key(user_id))
        if followed_author is not None:
            pipe.sadd(followed_key(user_id), str(followed_author))
            pipe.expire(followed_key(user_id), 2 * seconds)
        pipe.execute()

    def queue_seen(self, batch: PipelineBatch, user_id: int) -> Slot[set[int]]:
        def commands(pipe: Any) -> int:
            pipe.zrange(seen_key(user_id), 0, -1)
            return 1

        return batch.queue(commands, lambda replies: {int(m) for m in replies[0]})

    def seen(self, user_id: int) -> set[int]:
        return {int(m) for m in self._redis.zrange(seen_key(user_id), 0, -1)}

    def queue_engaged(self, batch: PipelineBatch, user_id: int, limit: int) -> Slot[list[int]]:
        def commands(pipe: Any) -> int:
            pipe.zrevrange(engaged_key(user_id), 0, limit - 1)
            return 1

        return batch.queue(commands, lambda replies: [int(m) for m in replies[0]])

    def engaged_by(self, user_ids: Sequence[int], limit: int) -> dict[int, list[int]]:
        """Each user's most recently engaged posts."""
        if not user_ids:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.zrevrange(engaged_key(user_id), 0, limit - 1)
        return {u: [int(m) for m in reply] for u, reply in zip(user_ids, pipe.execute(), strict=True)}

    def mark_seen(self, user_id: int, post_ids: Sequence[int], now_ms: int) -> None:
        if not post_ids:
            return
        key = seen_key(user_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.zadd(key, {str(p): now_ms for p in post_ids})
        pipe.zremrangebyrank(key, 0, -SEEN_CAP - 1)
        pipe.expire(key, SEEN_SECONDS)
        pipe.execute()


def _current(raw: str | None) -> ViewerList | None:
    if not raw:
        return None
    generation, _, listed = raw.partition(":")
    return ViewerList(generation, _ids(listed))


def _ids(raw: str | None) -> list[int]:
    return [int(p) for p in raw.split(",")] if raw else []
