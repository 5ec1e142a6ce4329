"""Bounded Redis: every kind of key the platform writes is listed here with its bound (an expiry, or a cap on its
size), and a workload that touches every feature leaves no key outside the list and none past its bound."""

from __future__ import annotations

import re
from typing import Any

from aperture import wiring
from aperture.adapters.redis_store.activity import STREAM_CAP
from aperture.adapters.redis_store.affinity import AFFINITY_CAP
from aperture.adapters.redis_store.explore import ENGAGEMENT_CAP, POPULAR_CAP, SEEN_CAP
from aperture.adapters.redis_store.saves import SAVED_CACHE_CAP
from aperture.likes import flush_counts
from aperture.settings import get_settings
from local.invoke import invoke
from local.pump import EventPump
from local.scheduler import scheduled_event
from local.seeding import publish_post, publish_story, ready_event
from tests.support import Api, settings_env

ID = r"\d+"
TAG = r"\{[^}]+\}"


def _timeline_cap() -> int:
    settings = get_settings()
    return settings.timeline_cap + settings.timeline_slack  # a push trims only past cap + slack


# pattern -> (expires, cap on its size or None, why it is bounded). A key that does not expire needs a cap.
KEY_BOUNDS: dict[str, tuple[bool, Any, str]] = {
    # Feed
    rf"tl:\{{{ID}\}}": (True, _timeline_cap, "a timeline: capped, and gone a day after its owner's activity mark"),
    rf"tl:\{{{ID}\}}:active": (True, None, "the activity mark: the inactivity window"),
    rf"tl:\{{{ID}\}}:celebs": (True, None, "celebrities followed: with the timeline"),
    rf"tl:\{{{ID}\}}:aff:[at]": (True, lambda: AFFINITY_CAP, "affinities: the strongest 500, 90 days after the last"),
    rf"recent:\{{{ID}\}}": (True, lambda: 201, "an author's latest 200 posts (+ the whole marker), 30 days"),
    r"celebrities": (False, lambda: 1_000_000, "one member per account over the celebrity threshold"),
    rf"post:\{{{ID}\}}": (True, None, "a cached post"),
    # Likes
    rf"likes:\{{{ID}\}}:count": (True, None, "a live count: 30 days after its last change"),
    rf"likes:\{{{ID}\}}:set": (True, lambda: get_settings().like_bloom_threshold + 1, "likers until the threshold"),
    rf"likes:\{{{ID}\}}:bloom": (True, lambda: 64 << 20, "a scalable Bloom filter: grows by layers, 30 days"),
    rf"likes:\{{{ID}\}}:bloomn": (True, None, "how many went into the Bloom filter"),
    rf"likes:\{{{ID}\}}:applied": (True, None, "like changes applied lately: 2 days after the last"),
    rf"likes:\{{{ID}\}}:lock:{ID}": (True, None, "a like's lock: seconds"),
    rf"likes:\{{{ID}\}}:rebuild": (True, None, "a rebuild's lock: a minute"),
    r"likes:dirty": (False, lambda: 100_000, "posts liked since the last flush: drained every minute"),
    # Saves
    rf"saved:\{{{ID}\}}:set": (True, lambda: SAVED_CACHE_CAP + 1, "a user's saved ids (+ a marker): 6 h after loading"),
    rf"saved:\{{{ID}\}}:gen": (True, None, "how often a user's saves changed: 6 h after the last change"),
    # Comments and relationships
    rf"comments:\{{{ID}\}}:preview": (True, None, "a post's first comments"),
    rf"rel:\{{{ID}\}}:follows:{ID}": (True, None, "does A follow B"),
    rf"rel:\{{{ID}\}}:blocked": (True, None, "whom A blocks or is blocked by"),
    rf"rel:\{{{ID}\}}:muted": (True, None, "whom A mutes"),
    rf"rel:\{{{ID}\}}:private": (True, None, "whether A is a private account"),
    # Stories
    rf"stories:\{{{ID}\}}": (True, None, "an author's live stories: their lifetime"),
    rf"stories:\{{{ID}\}}:changed": (True, None, "when they last changed"),
    rf"stories:\{{{ID}\}}:close": (True, None, "an author's live close-friends stories: their lifetime"),
    rf"cfof:\{{{ID}\}}:set": (True, None, "whose close friend a viewer is, cached: six hours"),
    rf"cfof:\{{{ID}\}}:gen": (True, None, "that answer's change generation: six hours"),
    rf"seen:\{{{ID}\}}": (True, None, "stories a viewer has seen: their lifetime"),
    rf"story:\{{{ID}\}}:views": (True, None, "a story's view count: its lifetime and the archive's"),
    rf"tray:\{{{ID}\}}": (True, None, "a viewer's tray: seconds"),
    rf"tray:\{{{ID}\}}:v": (True, None, "how often a viewer's tray was dropped: five minutes after the last"),
    rf"storyrec:\{{{ID}\}}": (True, None, "a story's record: its lifetime"),
    # Disabled accounts (aperture.standing)
    r"acct:disabled": (True, None, "every disabled account: seconds, dropped whenever the set changes"),
    # Rate limits (aperture.limits)
    rf"limit:\{{{ID}\}}:[a-z]+": (True, None, "a user's bucket for one action: until it is full again (one period)"),
    # Explore
    r"xp:regions": (False, lambda: 300, "ISO 3166 regions seen"),
    rf"xp:active:\{{{ID}\}}": (
        False,
        lambda: 1_000_000,
        "who opened explore lately: trimmed to the window by the refresh",
    ),
    rf"xp:{TAG}:{ID}": (True, lambda: POPULAR_CAP, "a day's popularity or topic bucket: three days"),
    rf"xp:\{{u:{ID}\}}:engaged": (True, lambda: ENGAGEMENT_CAP, "posts a user engaged with"),
    rf"xp:\{{p:{ID}\}}:engagers": (True, lambda: ENGAGEMENT_CAP, "users who engaged with a post"),
    rf"xp:\{{u:{ID}\}}:seen": (True, lambda: SEEN_CAP, "posts explore showed a user"),
    rf"xp:\{{u:{ID}\}}:followed": (True, None, "authors followed since the list was ranked"),
    rf"xp:\{{u:{ID}\}}:list:[\w.-]+": (True, None, "a ranked list: two refresh cycles"),
    rf"xp:\{{u:{ID}\}}:current": (True, None, "which list a user pages through"),
    rf"xp:\{{u:{ID}\}}:features:[\w.-]+": (True, None, "the explore model's features of a ranked list: with it"),
    rf"xp:\{{u:{ID}\}}:current:features": (True, None, "the current list's features: with the current list"),
    r"xp:model": (False, lambda: 64, "the current model generation's name"),
    r"xp:model:[\w.-]+": (False, lambda: 64 << 20, "the current generation (replaced ones expire in 30 minutes)"),
    r"xp:model:[\w.-]+:users": (False, lambda: 10_000_000, "the current generation's user vectors"),
    r"xp:event:[\w-]+": (True, None, "an event counted once: a day"),
    # Search (rebuilt from DynamoDB when lost, so nothing expires; bounded by the accounts and tags that exist)
    r"usearch:\{.+\}:b:.+": (False, lambda: 128, "a bucket of folded names: split past 100 members"),
    r"usearch:\{.+\}:(split|dir)": (False, lambda: 10_000_000, "a root's split prefixes and buckets in use"),
    r"usearch:roots": (False, lambda: 10_000_000, "the user index's roots (first three characters)"),
    r"usearch:built": (False, lambda: 1, "the mark of a finished rebuild"),
    r"htag:\{.\}:(lex|count)": (False, lambda: 10_000_000, "hashtags in use starting with one character"),
    rf"htop:{TAG}:{ID}": (True, None, "a tag's engagement per post on one day (hashtag pages' top): eight days"),
    # The ranking loop
    r"activity:\{\d\}": (False, lambda: STREAM_CAP + 100, "an activity log shard: capped (approximate trim)"),
}


def _size(client: Any, key: str) -> int:
    kind = client.type(key)
    sizes = {"zset": client.zcard, "set": client.scard, "hash": client.hlen, "list": client.llen, "stream": client.xlen}
    return int(sizes[kind](key)) if kind in sizes else int(client.strlen(key))


def _workload(api: Api, pump: EventPump) -> None:
    """A little of everything a person does, with a post past the Bloom threshold."""
    alice, bob, carol, dave = (api.sign_up(name) for name in ("alice", "bob", "carol", "dave"))
    for follower in (bob, carol):
        api.call("PUT", f"/users/{alice.user_id}/follow", follower)
    api.call("PATCH", "/me", carol, json={"region": "FR"})
    api.call("GET", "/feed", bob)
    post = publish_post(alice, "a #sunset")
    api.call("PUT", f"/posts/{post}/like", bob)
    api.call("PUT", f"/posts/{post}/save", bob)
    api.call("POST", f"/posts/{post}/comments", carol, json={"text": f"wow @{alice.username}"})
    api.call("GET", "/feed", bob, query_string={"order": "ranked"})
    api.call("GET", f"/users/{alice.username}", carol)
    api.call("PUT", f"/users/{carol.user_id}/block", bob)
    api.call("PUT", f"/users/{dave.user_id}/mute", carol)
    record = wiring.post_repository().get(int(post))
    assert record is not None
    for liker in range(70_000, 70_012):  # past the threshold of 5: the set becomes a Bloom filter
        wiring.likes().set_liked(record, liker, True)
    story = publish_story(alice)
    api.call("GET", "/stories/tray", bob)
    api.call("POST", f"/stories/{story}/views", bob)
    api.call("GET", f"/users/{alice.user_id}/stories", bob)
    wiring.events().publish(ready_event(alice, "post", ("150", "640", "1080"), width=1080, height=1080))
    pump.drain()
    invoke("explore_refresh", scheduled_event("explore_refresh", "us-east-1"))
    pump.drain()
    flush_counts(wiring.like_cache(), wiring.post_repository().set_like_count)
    # Reads after the writes: cached posts, previews, trays and explore pages
    small = publish_post(bob)
    api.call("PUT", f"/posts/{small}/like", dave)
    for viewer in (bob, carol, dave):
        api.call("GET", "/feed", viewer)
        api.call("GET", "/explore", viewer)
        api.call("GET", "/stories/tray", viewer)
        api.call("GET", f"/posts/{post}", viewer)
    api.call("GET", "/notifications", alice)


def test_every_key_is_listed_and_within_its_bound(api: Api, pump: EventPump) -> None:
    with settings_env(APERTURE_LIKE_BLOOM_THRESHOLD="5", APERTURE_CELEBRITY_THRESHOLD="2"):
        _workload(api, pump)
        client = wiring.redis_client()
        keys = sorted(client.scan_iter("*", count=1000))
        assert len(keys) > 30  # the workload reached the features
        kinds: set[str] = set()
        for key in keys:
            matching = [p for p in KEY_BOUNDS if re.fullmatch(p, key)]
            assert matching, f"{key!r} is a kind of key with no declared bound"
            pattern = matching[0]
            kinds.add(pattern)
            expires, cap, why = KEY_BOUNDS[pattern]
            if expires:
                assert client.ttl(key) > 0, f"{key!r} ({why}) should expire"
            else:
                assert cap is not None, f"{pattern}: a key that never expires needs a cap"
            if cap is not None:
                assert _size(client, key) <= cap(), f"{key!r} ({why}) is past its cap"
        # The workload touched most kinds (the rest are locks that come and go, and the model's user vectors)
        assert len(kinds) >= 36, "\n".join(sorted(set(KEY_BOUNDS) - kinds))
