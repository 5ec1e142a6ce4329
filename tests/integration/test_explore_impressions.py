"""Explore's impressions: every post a page serves is logged to the activity log with the features the explore
model saw when the list was ranked (not when the page was read), its position in the list and the model's version."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace

import pytest
import redis

from aperture import clock, wiring
from aperture.activity import Impression, from_line
from aperture.adapters.redis_store.activity import SHARDS, RedisActivityLog, stream_key
from aperture.clock import ShiftedClock, SystemClock
from aperture.explore import Explore
from aperture.explore_ranking import BOUNDS, EXPLORE_FEATURES
from aperture.settings import get_settings
from local.pump import EventPump
from local.redis_server import free_port
from local.seeding import Account
from tests.faults import FailAfter, InjectedFaultError
from tests.integration.test_explore import explore, like, post, refresh
from tests.support import Api, logged_warnings

HOUR_MS = 3_600_000


@pytest.fixture(autouse=True)
def fresh_explore(pump: EventPump) -> None:
    client = wiring.redis_client()
    for key in client.scan_iter("xp:*", count=1000):
        client.delete(key)


@pytest.fixture
def shifted() -> Iterator[ShiftedClock]:
    moved = ShiftedClock()
    clock.use_clock(moved)
    yield moved
    clock.use_clock(SystemClock())


def explore_impressions(viewer: Account) -> list[Impression]:
    client = wiring.redis_client()
    records = [from_line(fields["r"]) for shard in range(SHARDS) for _, fields in client.xrange(stream_key(shard))]
    return [
        r
        for r in records
        if isinstance(r, Impression) and r.surface == "explore" and r.viewer_id == int(viewer.user_id)
    ]


def test_a_served_page_logs_each_post_with_the_features_of_rank_time(
    api: Api, pump: EventPump, shifted: ShiftedClock
) -> None:
    # Given six posts by six authors on explore, liked by erin
    alice, erin = api.sign_up("alice"), api.sign_up("erin")
    posted = [post(api.sign_up(f"author{i}"), f"topic{i}") for i in range(6)]
    pump.drain()
    for post_id in posted:
        like(api, erin, post_id)
    refresh(pump)
    # When alice opens explore (her list is ranked now), and an hour later reads the next page of the same list
    first, cursor = explore(api, alice, limit=3)
    shifted.advance(3600)
    second, _ = explore(api, alice, cursor, limit=3)
    # Then each post served was logged once, in the order served, at its position in the list
    logged = explore_impressions(alice)
    assert [i.post_id for i in logged] == first + second
    assert [i.position for i in logged] == list(range(len(first + second)))
    serving = wiring.explore_model()
    assert serving is not None and {i.model for i in logged} == {serving.version}
    ranked_at = logged[0].served_at
    assert logged[-1].served_at >= ranked_at + 3600 * 1000
    for impression in logged:
        # with every feature of the explore model, within its bounds
        assert set(impression.features) == set(EXPLORE_FEATURES)
        assert all(BOUNDS[n][0] <= v <= BOUNDS[n][1] for n, v in impression.features.items())
        # and the recency the model saw at rank time, not an hour later when the second page was read
        record = wiring.post_repository().get(impression.post_id)
        assert record is not None
        at_rank_time = math.exp(-(ranked_at - record.created_at) / HOUR_MS / 24)
        assert impression.features["recency"] == pytest.approx(at_rank_time, abs=2e-4)
        assert impression.author_id == record.author_id


def test_a_page_read_from_a_precomputed_list_logs_the_features_stored_with_it(api: Api, pump: EventPump) -> None:
    # Given alice's list ranked ahead of her visit by the refresh's ranking job (she opened explore before)
    alice, erin = api.sign_up("alice"), api.sign_up("erin")
    first = post(api.sign_up("carol"), "cats")
    pump.drain()
    like(api, erin, first)
    refresh(pump)
    explore(api, alice)
    second = post(api.sign_up("dave"), "dogs")
    pump.drain()
    like(api, erin, second)
    refresh(pump)
    # When she opens explore again
    shown, _ = explore(api, alice)
    # Then the page's post is logged with the explore model's features of the precomputed list
    assert shown == [second]
    logged = explore_impressions(alice)
    assert [i.post_id for i in logged] == [first, second]
    assert logged[-1].position == 0
    assert logged[-1].features["source_popular"] > 0  # erin's like put it in the overall popularity pool


def _explore_with(**ports: object) -> Explore:
    settings = get_settings()
    changed = replace(wiring.explore().ports, **ports)  # type: ignore[arg-type]
    return Explore(changed, settings.explore_page_seconds, settings.explore_list_size, settings.explore_dimensions)


@pytest.fixture
def three_posts(api: Api, pump: EventPump) -> list[int]:
    erin = api.sign_up("erin")
    posted = [post(api.sign_up(f"author{i}"), f"topic{i}") for i in range(3)]
    pump.drain()
    for post_id in posted:
        like(api, erin, post_id)
    refresh(pump)
    return posted


@pytest.mark.parametrize("step", ["put_list", "mark_seen", "record"])
def test_a_page_that_dies_after_any_step_is_served_and_logged_by_its_retry(
    api: Api, three_posts: list[int], step: str
) -> None:
    # Given a first explore page that dies right after storing the ranked list, after remembering what it showed,
    # or after logging its impressions
    alice = api.sign_up("alice")
    real = wiring.explore()
    if step == "record":
        failing = _explore_with(activity=FailAfter(real.ports.activity, "record"))
    else:
        failing = _explore_with(store=FailAfter(real.ports.store, step))
    with pytest.raises(InjectedFaultError):
        failing.page(int(alice.user_id), None, 3)
    # When the client retries
    page = real.page(int(alice.user_id), None, 3)
    # Then the retry serves the page, and every post served is logged with its features: once, or (the attempt
    # that died after logging) twice: impressions are at least once, and the training job joins on viewer and post
    served = [int(p.post_id) for p in page.items]
    assert sorted(served) == sorted(three_posts)
    logged = explore_impressions(alice)
    expected = served * 2 if step == "record" else served
    assert sorted(i.post_id for i in logged) == sorted(expected)
    assert all(set(i.features) == set(EXPLORE_FEATURES) for i in logged)


def test_a_page_whose_impressions_cannot_be_logged_is_served_all_the_same(api: Api, three_posts: list[int]) -> None:
    # Given the activity log's Redis refusing connections
    alice = api.sign_up("alice")
    unreachable = RedisActivityLog(redis.Redis(port=free_port(), socket_connect_timeout=0.5))
    # When alice opens explore
    with logged_warnings() as warnings:
        page = _explore_with(activity=unreachable).page(int(alice.user_id), None, 3)
    # Then she gets her page, nothing is logged, and the loss is a warning (and a metric)
    assert sorted(int(p.post_id) for p in page.items) == sorted(three_posts)
    assert explore_impressions(alice) == []
    assert any("activity records not logged" in w.getMessage() for w in warnings)
