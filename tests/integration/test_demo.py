"""`python -m local --seed-demo`: the synthetic world loads, and its users see a ranked feed with celebrities in it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aperture import wiring
from local.demo import DEMO_PASSWORD, seed
from local.invoke import invoke
from local.pump import EventPump
from local.scheduler import scheduled_event
from local.seeding import Account
from tests.support import Api, settings_env


@pytest.fixture
def demo_threshold(api: Api) -> Iterator[int]:
    with settings_env(APERTURE_CELEBRITY_THRESHOLD="4"):
        yield 4


def test_a_seeded_world_gives_each_user_a_ranked_feed_with_celebrities_merged(
    api: Api, pump: EventPump, demo_threshold: int
) -> None:
    # Given a small demo world
    seeded = seed(users=16, random_seed=5, celebrity_threshold=demo_threshold)
    pump.drain()
    assert seeded.users == 16 and seeded.posts > 0 and seeded.celebrities >= 1
    # When a demo user who follows a celebrity signs in with the published password and reads their feed
    timeline = wiring.timeline()
    fans = [u for u in (wiring.users().get_by_username(f"demo{i:03}") for i in range(16)) if u]
    fan = next(u for u in fans if timeline.celebrities_followed(u.user_id))
    token = api.call("POST", "/auth/token", json={"username": fan.username, "password": DEMO_PASSWORD}).json
    viewer = Account(str(fan.user_id), fan.username, token["id_token"])
    feed = api.call("GET", "/feed", viewer, query_string={"limit": 50}).json
    # Then the feed holds celebrities' posts, merged at request time rather than pushed
    celebrities = set(timeline.celebrities_followed(fan.user_id))
    merged = [p for p in feed["items"] if int(p["author"]["user_id"]) in celebrities]
    assert merged, "no celebrity post in the feed"
    pushed = set(timeline.page(fan.user_id, None, 800))
    assert any(int(p["post_id"]) not in pushed for p in merged)
    # And its posts have real renditions behind their URLs
    key = feed["items"][0]["images"]["640"]["jpeg"].removeprefix("https://cdn.test/")
    assert (wiring.media_store().size(key) or 0) > 1000
    # And some are carousels, every photo with real renditions and alt text
    carousels = [p for p in feed["items"] if len(p["media"]) == 3]
    assert carousels, "no carousel in the feed"
    for photo in carousels[0]["media"]:
        key = photo["images"]["640"]["jpeg"].removeprefix("https://cdn.test/")
        assert (wiring.media_store().size(key) or 0) > 1000 and photo["alt_text"]
    # And the world's live stories are in trays, their views already counted
    assert seeded.stories > 0 and seeded.story_views > 0
    trays = {u.username: api.call("GET", "/stories/tray", _signed_in(api, u.username)).json["items"] for u in fans}
    watched = next(entries for entries in trays.values() if entries)
    author = watched[0]["user"]
    stories = api.call("GET", f"/users/{author['user_id']}/stories", viewer).json["items"]
    key = stories[0]["images"]["1080"]["jpeg"].removeprefix("https://cdn.test/")
    assert (wiring.media_store().size(key) or 0) > 1000
    # And once explore has refreshed (the demo runs it after seeding), explore offers posts of people not followed
    invoke("explore_refresh", scheduled_event("explore_refresh", "us-east-1"))
    explored = api.call("GET", "/explore", viewer).json["items"]
    followed = set(wiring.follows().following_ids(fan.user_id))
    assert explored, "explore is empty"
    assert not any(int(p["author"]["user_id"]) in followed | {fan.user_id} for p in explored)


def _signed_in(api: Api, username: str) -> Account:
    token = api.call("POST", "/auth/token", json={"username": username, "password": DEMO_PASSWORD}).json
    user = wiring.users().get_by_username(username)
    assert user is not None
    return Account(str(user.user_id), username, token["id_token"])
