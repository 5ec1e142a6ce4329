"""Explore's state in Redis: engagement signals, the refreshed model, and each viewer's precomputed list.

Keys are cluster-safe: every multi-key command (the two-day popularity unions) stays inside one hash tag, and
pipelines touching many tags are split per node by the cluster client.

- Popularity per region and per topic is counted in day buckets that expire after three days; reading unions
  today's and yesterday's at half weight, a decay with no rewrite of old scores.
- Co-engagement: each user's recently engaged posts and each post's recent engagers (200 each), the input of
  collaborative filtering and of the embedding model.
- The model (pools, post metadata, tag vectors; zlib JSON in base64) and the user vectors are written under a
  generation id; the current generation never expires, a replaced one stays two refresh cycles for the jobs and
  requests still using it.
- A viewer's list: the ranked post ids under an id of their own (every ranking makes a new one, so a cursor
  always indexes the list it was issued for), and a copy as the current list that lapses after
  APERTURE_EXPLORE_PAGE_SECONDS (the next visit ranks again if no refresh has).
- Beside each list, the features the explore model saw for its posts and the model's version (zlib JSON in base64,
  four decimals), with the same lifetimes: the pages served later log them as their impressions.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aperture.adapters.redis_store.client import PipelineBatch, Slot, queue_capped_add, single
from aperture.adapters.redis_store.search import queue_hashtag_engagement

DAY_MS = 86_400_000
GLOBAL = "*"  # the popularity of every region together
BUCKET_SECONDS = 3 * 86_400
ENGAGEMENT_CAP = 200  # posts per user, users per post
ENGAGEMENT_SECONDS = 7 * 86_400
POPULAR_CAP = 100_000  # posts kept per day bucket at each refresh
SEEN_CAP = 2_000
SEEN_SECONDS = 30 * 86_400
EVENT_SECONDS = 86_400  # how long an event id is remembered (Kinesis keeps records 24 h)
PENDING, COUNTED = "pending", "counted"
# A replaced generation's model stays this long (two refresh cycles) for the jobs and requests still using it; the
# current one never expires, so explore keeps working on the last model if refreshes stop.
REPLACED_MODEL_SECONDS = 1_800
VECTORS_PER_COMMAND = 1_000
COMMANDS_PER_ROUND_TRIP = 10
ACTIVE_SHARDS = 16  # who opened explore lately, over this many keys: every page view writes one, so no hot key
REGIONS_KEY = "xp:regions"
MODEL_POINTER = "xp:model"


def active_key(user_id: int) -> str:
    return f"xp:active:{{{user_id % ACTIVE_SHARDS}}}"


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


def list_key(user_id: int, list_id: str) -> str:
    return f"xp:{{u:{user_id}}}:list:{list_id}"


def current_key(user_id: int) -> str:
    return f"xp:{{u:{user_id}}}:current"


def list_features_key(user_id: int, list_id: str) -> str:
    return f"xp:{{u:{user_id}}}:features:{list_id}"


def current_features_key(user_id: int) -> str:
    return f"xp:{{u:{user_id}}}:current:features"


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
    list_id: str
    post_ids: list[int]


@dataclass(frozen=True)
class RankedFeatures:
    """The features the explore model saw for each post of one ranked list, and the model's version."""

    model: str
    features: Mapping[int, Mapping[str, float]]

    def encode(self) -> str:
        names = sorted({name for values in self.features.values() for name in values})
        data = {
            "model": self.model,
            "names": names,
            "posts": {str(p): [round(values.get(n, 0.0), 4) for n in names] for p, values in self.features.items()},
        }
        return base64.b64encode(zlib.compress(json.dumps(data, separators=(",", ":")).encode())).decode("ascii")

    @classmethod
    def decode(cls, raw: str | None) -> RankedFeatures | None:
        if not raw:
            return None
        try:
            data = json.loads(zlib.decompress(base64.b64decode(raw, validate=True)))
            names = [str(n) for n in data["names"]]
            features = {
                int(p): dict(zip(names, map(float, values), strict=True)) for p, values in data["posts"].items()
            }
        except (ValueError, KeyError, TypeError, zlib.error):  # not one this code wrote: as good as missing
            return None
        return cls(str(data["model"]), features)


@dataclass(frozen=True)
class ListedViewer:
    """What a page reads first: the current list, the cursor's list when one was given, authors followed since,
    and the features of the list the page is read from (the cursor's, else the current one)."""

    current: ViewerList | None
    by_cursor: list[int] | None
    followed_since: set[int]
    features: RankedFeatures | None


class ExploreStore:
    def __init__(self, client: Any) -> None:
        self._redis = client

    # -- signals -------------------------------------------------------------------------------------------

    def claim_events(self, event_ids: Sequence[str]) -> list[bool]:
        """Whether each event is still to be counted. An event is claimed "pending" until `mark_counted`; one a
        failed attempt left pending is counted again (a crash between counting and marking may count a batch
        twice; no failure loses it), one marked counted is skipped."""
        if not event_ids:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for event_id in event_ids:
            pipe.set(event_key(event_id), PENDING, nx=True, ex=EVENT_SECONDS)
            pipe.get(event_key(event_id))
        replies = pipe.execute()
        return [bool(claimed) or state == PENDING for claimed, state in zip(replies[::2], replies[1::2], strict=True)]

    def mark_counted(self, event_ids: Sequence[str]) -> None:
        if event_ids:
            pipe = self._redis.pipeline(transaction=False)
            for event_id in event_ids:
                pipe.set(event_key(event_id), COUNTED, ex=EVENT_SECONDS)
            pipe.execute()

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
            queue_hashtag_engagement(pipe, e.topics, e.post_id, e.weight, e.at_ms)  # hashtag pages' `top`
            if e.user_id is None:
                continue
            engaged, engagers = engaged_key(e.user_id), engagers_key(e.post_id)
            # Co-engagement is recent by construction: a week after its last change a set is gone.
            if e.weight > 0:
                queue_capped_add(pipe, engaged, {str(e.post_id): e.at_ms}, ENGAGEMENT_CAP, ENGAGEMENT_SECONDS)
                queue_capped_add(pipe, engagers, {str(e.user_id): e.at_ms}, ENGAGEMENT_CAP, ENGAGEMENT_SECONDS)
            else:
                pipe.zrem(engaged, str(e.post_id))
                pipe.zrem(engagers, str(e.user_id))
                pipe.expire(engaged, ENGAGEMENT_SECONDS)
                pipe.expire(engagers, ENGAGEMENT_SECONDS)
        for key in touched:  # (trimmed by the refresh, not here: a post must be able to grow from one like)
            pipe.expire(key, BUCKET_SECONDS)
        if count:
            pipe.execute()
        return count

    def forget_post(self, post_id: int, hashtags: Sequence[str], now_ms: int) -> None:
        """A deleted post out of the popularity and topic buckets it can be in (they live BUCKET_SECONDS), out of
        its engagers' engagements, and its engagers; lists ranked before hold it until they expire, and hydration
        skips it meanwhile."""
        today = day_of(now_ms)
        days = range(today - BUCKET_SECONDS // 86_400, today + 1)
        regions = [GLOBAL, *sorted(self._redis.smembers(REGIONS_KEY))]
        pipe = self._redis.pipeline(transaction=False)
        for day in days:
            for region in regions:
                pipe.zrem(popular_key(region, day), str(post_id))
            for tag in hashtags:
                pipe.zrem(topic_key(tag.lower(), day), str(post_id))
        engagers = self._redis.zrange(engagers_key(post_id), 0, -1)
        for user_id in engagers:
            pipe.zrem(engaged_key(int(user_id)), str(post_id))
        pipe.delete(engagers_key(post_id))
        pipe.execute()

    def trim(self, regions: Sequence[str], tags: Sequence[str], now_ms: int) -> None:
        """Keep the POPULAR_CAP best of today's and yesterday's buckets that the refresh reads (the rest expire
        with their day): every 15 minutes, so a new post has that long to gather its first engagements."""
        today = day_of(now_ms)
        keys = [popular_key(name, day) for name in (GLOBAL, *regions) for day in (today, today - 1)]
        keys += [topic_key(tag, day) for tag in tags for day in (today, today - 1)]
        keys += [tags_key(today), tags_key(today - 1)]
        pipe = self._redis.pipeline(transaction=False)
        for key in keys:
            pipe.zremrangebyrank(key, 0, -POPULAR_CAP - 1)
        pipe.execute()

    # -- reading signals for the refresh -------------------------------------------------------------------

    def regions(self) -> list[str]:
        return sorted(self._redis.smembers(REGIONS_KEY))

    def popular(
        self, regions: Sequence[str], now_ms: int, limit: int, overall_limit: int | None = None
    ) -> dict[str, list[tuple[int, float]]]:
        """Per region (and GLOBAL, `overall_limit` deep if given): the top posts by today's score plus half of
        yesterday's, all in one pipeline."""
        names = [GLOBAL, *regions]
        limits = [overall_limit or limit] + [limit] * len(regions)
        return self._unions(popular_key, names, now_ms, limits)

    def topics(self, now_ms: int, limit: int) -> list[str]:
        """The day's most engaged hashtags (today plus half of yesterday)."""
        today = day_of(now_ms)
        return [str(tag) for tag, _ in self._tops([(tags_key(today), tags_key(today - 1), limit)])[0]]

    def topic_posts(self, tags: Sequence[str], now_ms: int, limit: int) -> dict[str, list[tuple[int, float]]]:
        return self._unions(topic_key, list(tags), now_ms, [limit] * len(tags))

    def _unions(
        self, key_of: Any, names: list[str], now_ms: int, limits: list[int]
    ) -> dict[str, list[tuple[int, float]]]:
        today = day_of(now_ms)
        buckets = [
            (key_of(name, today), key_of(name, today - 1), limit) for name, limit in zip(names, limits, strict=True)
        ]
        tops = self._tops(buckets)
        return {name: [(int(member), score) for member, score in top] for name, top in zip(names, tops, strict=True)}

    def _tops(self, buckets: list[tuple[str, str, int]]) -> list[list[tuple[str, float]]]:
        """For each (today, yesterday, limit): the `limit` best of today's scores plus half of yesterday's (a decay
        with no rewrite of old scores), best first. Summed into a scratch key beside the pair (same hash tag) and
        only the top read back, so a refresh never moves a whole bucket; one pipeline for all pairs."""
        if not buckets:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for today_key, yesterday_key, limit in buckets:
            scratch = today_key.rsplit(":", 1)[0] + ":union"
            pipe.zunionstore(scratch, {today_key: 1.0, yesterday_key: 0.5})
            pipe.zrevrange(scratch, 0, limit - 1, withscores=True)
            pipe.delete(scratch)
        replies = pipe.execute()
        return [[(str(m), float(score)) for m, score in reply if score > 0] for reply in replies[1::3]]

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
        """Store a generation's model and user vectors, then point readers at it: the pointer last, in its own
        round trip, so no reader finds it before what it points to. Until then the generation carries a TTL (a
        refresh that dies half way leaves nothing behind); once current it has none, and the generation it
        replaced (read and swapped in one SET ... GET, so overlapping refreshes each expire what they replaced)
        keeps REPLACED_MODEL_SECONDS for the jobs and requests still on it."""
        blob = base64.b64encode(zlib.compress(json.dumps(model, separators=(",", ":")).encode())).decode("ascii")
        vectors_key = user_vectors_key(generation)
        items = [(str(u), json.dumps([round(float(x), 5) for x in v])) for u, v in user_vectors.items()]
        self._redis.set(model_key(generation), blob, ex=REPLACED_MODEL_SECONDS)
        per_round_trip = VECTORS_PER_COMMAND * COMMANDS_PER_ROUND_TRIP
        for start in range(0, len(items), per_round_trip):
            pipe = self._redis.pipeline(transaction=False)
            for first in range(start, min(len(items), start + per_round_trip), VECTORS_PER_COMMAND):
                pipe.hset(vectors_key, mapping=dict(items[first : first + VECTORS_PER_COMMAND]))
            pipe.expire(vectors_key, REPLACED_MODEL_SECONDS)
            pipe.execute()
        pipe = self._redis.pipeline(transaction=False)
        pipe.persist(model_key(generation))
        pipe.persist(vectors_key)
        pipe.execute()
        replaced = self._redis.set(MODEL_POINTER, generation, get=True)
        if replaced and replaced != generation:
            pipe = self._redis.pipeline(transaction=False)
            pipe.expire(model_key(replaced), REPLACED_MODEL_SECONDS)
            pipe.expire(user_vectors_key(replaced), REPLACED_MODEL_SECONDS)
            pipe.execute()

    def current_generation(self) -> str | None:
        value = self._redis.get(MODEL_POINTER)
        return str(value) if value else None

    def model(self, generation: str) -> dict[str, Any] | None:
        raw = self._redis.get(model_key(generation))
        if raw is None:
            return None
        try:
            data: dict[str, Any] = json.loads(zlib.decompress(base64.b64decode(raw, validate=True)))
        except (ValueError, zlib.error):  # not one this code wrote (an older format): as good as missing
            return None
        return data

    def user_vector(self, generation: str, user_id: int) -> list[float] | None:
        return _vector(self._redis.hget(user_vectors_key(generation), str(user_id)))

    def queue_user_vector(self, batch: PipelineBatch, generation: str, user_id: int) -> Slot[list[float] | None]:
        return batch.queue(
            single(lambda pipe: pipe.hget(user_vectors_key(generation), str(user_id))),
            lambda replies: _vector(replies[0]),
        )

    # -- viewers -------------------------------------------------------------------------------------------

    def touch_active(self, batch: PipelineBatch, user_id: int, now_ms: int) -> None:
        batch.queue(single(lambda pipe: pipe.zadd(active_key(user_id), {str(user_id): now_ms})), lambda replies: None)

    def active(self, since_ms: int) -> list[int]:
        """Viewers who opened explore since `since_ms`; older entries are dropped."""
        pipe = self._redis.pipeline(transaction=False)
        for shard in range(ACTIVE_SHARDS):
            pipe.zremrangebyscore(active_key(shard), "-inf", f"({since_ms}")
            pipe.zrangebyscore(active_key(shard), since_ms, "+inf")
        replies = pipe.execute()
        return sorted(int(m) for reply in replies[1::2] for m in reply)

    def queue_viewer(self, batch: PipelineBatch, user_id: int, list_id: str | None) -> Slot[ListedViewer]:
        """The current list, the list `list_id` when one is given, authors followed since, and the features of
        the list asked for (`list_id`'s, else the current one's)."""

        def commands(pipe: Any) -> int:
            pipe.get(current_key(user_id))
            pipe.get(list_key(user_id, list_id) if list_id else current_key(user_id))
            pipe.smembers(followed_key(user_id))
            pipe.get(list_features_key(user_id, list_id) if list_id else current_features_key(user_id))
            return 4

        def parse(replies: list[Any]) -> ListedViewer:
            current, listed, followed, features = replies
            ids = _ids(listed) if list_id and listed is not None else None
            return ListedViewer(_current(current), ids, {int(a) for a in followed}, RankedFeatures.decode(features))

        return batch.queue(commands, parse)

    def current_features(self, user_id: int) -> RankedFeatures | None:
        return RankedFeatures.decode(self._redis.get(current_features_key(user_id)))

    def put_list(
        self, user_id: int, list_id: str, post_ids: Sequence[int], seconds: int, features: RankedFeatures | None = None
    ) -> None:
        """Store a viewer's ranked list: current for `seconds` (one GET serves a first page), and under its id
        twice as long, for the cursors of pages already open; its features beside each, with the same lifetimes
        (a copy under the current list too, so that a first page finds them in the same round trip)."""
        listed = ",".join(map(str, post_ids))
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(list_key(user_id, list_id), listed, ex=2 * seconds)
        pipe.set(current_key(user_id), f"{list_id}:{listed}", ex=seconds)
        if features is not None:
            blob = features.encode()
            pipe.set(list_features_key(user_id, list_id), blob, ex=2 * seconds)
            pipe.set(current_features_key(user_id), blob, ex=seconds)
        else:
            pipe.delete(current_features_key(user_id))
        pipe.execute()

    def forget_list(self, user_id: int, followed_author: int | None, seconds: int) -> None:
        """Drop the viewer's current list (they followed someone). Pages of any list made before or during this
        skip that author until the set expires with the longest-lived list, so no ranking race can bring the
        author back."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.delete(current_key(user_id), current_features_key(user_id))
        if followed_author is not None:
            pipe.sadd(followed_key(user_id), str(followed_author))
            pipe.expire(followed_key(user_id), 2 * seconds)
        pipe.execute()

    def queue_seen(self, batch: PipelineBatch, user_id: int) -> Slot[set[int]]:
        return batch.queue(
            single(lambda pipe: pipe.zrange(seen_key(user_id), 0, -1)), lambda replies: {int(m) for m in replies[0]}
        )

    def seen(self, user_id: int) -> set[int]:
        return {int(m) for m in self._redis.zrange(seen_key(user_id), 0, -1)}

    def queue_engaged(self, batch: PipelineBatch, user_id: int, limit: int) -> Slot[list[int]]:
        return batch.queue(
            single(lambda pipe: pipe.zrevrange(engaged_key(user_id), 0, limit - 1)),
            lambda replies: [int(m) for m in replies[0]],
        )

    def engaged_by(self, user_ids: Sequence[int], limit: int) -> dict[int, list[int]]:
        """Each user's most recently engaged posts."""
        if not user_ids:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.zrevrange(engaged_key(user_id), 0, limit - 1)
        return {u: [int(m) for m in reply] for u, reply in zip(user_ids, pipe.execute(), strict=True)}

    def mark_seen(
        self, user_id: int, post_ids: Sequence[int], now_ms: int, reordered: ReorderedList | None = None
    ) -> None:
        """Remember what a page showed; with `reordered`, also store the list in its new order (posts a page
        deferred moved down), in the same round trip and keeping each key's expiry."""
        if not post_ids and reordered is None:
            return
        pipe = self._redis.pipeline(transaction=False)
        if post_ids:
            queue_capped_add(pipe, seen_key(user_id), {str(p): now_ms for p in post_ids}, SEEN_CAP, SEEN_SECONDS)
        if reordered is not None:
            listed = ",".join(map(str, reordered.post_ids))
            pipe.set(list_key(user_id, reordered.list_id), listed, keepttl=True, xx=True)
            if reordered.current:
                pipe.set(current_key(user_id), f"{reordered.list_id}:{listed}", keepttl=True, xx=True)
        pipe.execute()


@dataclass(frozen=True)
class ReorderedList:
    """A viewer's list in a new order, under its id (and as their current list when it is that one)."""

    list_id: str
    post_ids: Sequence[int]
    current: bool


def _vector(raw: str | None) -> list[float] | None:
    return [float(x) for x in json.loads(raw)] if raw else None


def _current(raw: str | None) -> ViewerList | None:
    if not raw:
        return None
    generation, _, listed = raw.partition(":")
    return ViewerList(generation, _ids(listed))


def _ids(raw: str | None) -> list[int]:
    return [int(p) for p in raw.split(",")] if raw else []
