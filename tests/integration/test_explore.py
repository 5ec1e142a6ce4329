"""Explore: signals from posts, likes and comments; the 15-minute refresh; each viewer's ranked, filtered,
diversified list; pages that never repeat; and what happens on follows, blocks, deletes and a Redis outage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from aperture import wiring
from aperture.explore import MAX_PER_AUTHOR, MAX_PER_TOPIC, PAGE_MAX_PER_AUTHOR, WINDOW
from aperture.models.events import LikeChanged
from bench.round_trips import RoundTrips
from local.invoke import invoke
from local.pump import EventPump
from local.redis_server import free_port
from local.scheduler import scheduled_event
from local.seeding import Account, ready_event
from tests.support import Api, logged_warnings, settings_env


def post(author: Account, *hashtags: str) -> int:
    """A post as the pipeline publishes it: its 'ready' event on the events stream (the pump delivers it)."""
    event = ready_event(author, "post", ("150", "640", "1080"), width=1080, height=1080, hashtags=hashtags)
    wiring.events().publish(event)
    return int(event.post_id)


def like(api: Api, user: Account, post_id: int) -> None:
    assert api.call("PUT", f"/posts/{post_id}/like", user).status_code == 200


def refresh(pump: EventPump) -> dict[str, Any]:
    pump.drain()  # signals first, as they would have arrived by the time the schedule fires
    outcome: dict[str, Any] = invoke("explore_refresh", scheduled_event("explore_refresh", "us-east-1"))
    pump.drain()  # the ranking jobs it queued
    return outcome


def explore(api: Api, viewer: Account, cursor: str | None = None, limit: int = 20) -> tuple[list[int], str | None]:
    query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
    response = api.call("GET", f"/explore{query}", viewer)
    assert response.status_code == 200, response.json
    return [int(p["post_id"]) for p in response.json["items"]], response.json["next_cursor"]


def set_region(api: Api, user: Account, region: str) -> None:
    assert api.call("PATCH", "/me", user, json={"region": region}).status_code == 200


@pytest.fixture(autouse=True)
def fresh_explore(pump: EventPump) -> None:
    """Explore's state starts empty: the pump has delivered what earlier tests left in flight, so forget it."""
    client = wiring.redis_client()
    for key in client.scan_iter("xp:*", count=1000):
        client.delete(key)


@pytest.fixture
def people(api: Api) -> Iterator[dict[str, Account]]:
    yield {name: api.sign_up(name) for name in ("alice", "bob", "carol", "dave", "erin", "frank")}


def test_explore_shows_posts_from_accounts_the_viewer_does_not_follow(
    api: Api, pump: EventPump, people: dict[str, Account]
) -> None:
    # Given alice follows bob, and bob, carol, dave and alice herself have posted, with likes from others
    alice, bob, carol, dave, erin = (people[n] for n in ("alice", "bob", "carol", "dave", "erin"))
    api.call("PUT", f"/users/{bob.user_id}/follow", alice)
    own, followed = post(alice, "cats"), post(bob, "cats")
    others = [post(carol, "cats"), post(dave, "food")]
    pump.drain()
    for post_id in (followed, *others):
        like(api, erin, post_id)
    refresh(pump)
    # When alice opens explore
    shown, _ = explore(api, alice)
    # Then she sees carol's and dave's posts, and neither her own nor bob's
    assert set(others) <= set(shown)
    assert own not in shown and followed not in shown


def test_a_newcomer_sees_posts_popular_in_their_region_first(
    api: Api, pump: EventPump, people: dict[str, Account]
) -> None:
    # Given two posts equally liked, one by people in Brazil and one by people in Japan
    carol, dave, erin, frank, bob = (people[n] for n in ("carol", "dave", "erin", "frank", "bob"))
    for fan, region in ((erin, "BR"), (frank, "BR"), (bob, "JP"), (dave, "JP")):
        set_region(api, fan, region)
    liked_in_brazil, liked_in_japan = post(carol, "beach"), post(carol, "temple")
    pump.drain()
    for fan in (erin, frank):
        like(api, fan, liked_in_brazil)
    for fan in (bob, dave):
        like(api, fan, liked_in_japan)
    refresh(pump)
    # When a newcomer from Brazil and one from Japan open explore
    brazilian, japanese = api.sign_up("newbr"), api.sign_up("newjp")
    set_region(api, brazilian, "BR")
    set_region(api, japanese, "JP")
    # Then each sees the post their region liked first
    assert explore(api, brazilian)[0][:2] == [liked_in_brazil, liked_in_japan]
    assert explore(api, japanese)[0][:2] == [liked_in_japan, liked_in_brazil]


def test_posts_liked_by_people_who_share_the_viewers_taste_rank_first(
    api: Api, pump: EventPump, people: dict[str, Account]
) -> None:
    # Given erin liked the same post as alice, and then liked one of dave's; frank liked one of carol's
    alice, carol, dave, erin, frank, bob = (people[n] for n in ("alice", "carol", "dave", "erin", "frank", "bob"))
    shared, erins_pick, unrelated = post(bob, "misc"), post(dave, "misc"), post(carol, "misc")
    pump.drain()
    like(api, alice, shared)
    like(api, erin, shared)
    like(api, erin, erins_pick)
    like(api, frank, unrelated)
    refresh(pump)
    # When alice opens explore
    shown, _ = explore(api, alice)
    # Then erin's pick (collaborative filtering) comes before the equally liked unrelated post, and the post she
    # already liked is not offered again
    assert shown.index(erins_pick) < shown.index(unrelated)
    assert shared not in shown


def test_the_refresh_precomputes_the_lists_of_active_viewers(
    api: Api, pump: EventPump, people: dict[str, Account]
) -> None:
    # Given alice has opened explore before, and new posts arrive
    alice, carol, erin = people["alice"], people["carol"], people["erin"]
    first = post(carol, "cats")
    pump.drain()
    like(api, erin, first)
    refresh(pump)
    assert explore(api, alice)[0] == [first]
    second = post(carol, "dogs")
    pump.drain()
    like(api, erin, second)
    # When the scheduled refresh runs (and its ranking jobs)
    outcome = refresh(pump)
    assert outcome["viewers_queued"] >= 1
    # Then alice's next visit is served from her precomputed list, without ranking on the request: one Redis
    # round trip to find the page, one to hydrate it, one for its authors' privacy flags (private accounts leave
    # explore as the page is read; the authors are known only once hydrated), one to remember what she saw (with
    # the post cached, as another viewer's visit leaves it), and one to log the page's impressions (the activity
    # log's own pipeline, best effort: a failure there must not fail the page, docs/ranking.md)
    explore(api, people["frank"])
    trips = RoundTrips(wiring.redis_client())
    shown, _ = explore(api, alice)
    assert shown == [second]  # the first was seen: it is not offered again
    assert trips.count <= 5


def test_pages_never_repeat_a_post_even_across_a_refresh(api: Api, pump: EventPump, people: dict[str, Account]) -> None:
    # Given thirty posts by ten authors on explore
    authors = [api.sign_up(f"auth{i}") for i in range(10)]
    posted = [post(authors[i % 10], f"topic{i % 7}") for i in range(30)]
    pump.drain()
    for post_id in posted:
        like(api, people["erin"], post_id)
    refresh(pump)
    viewer = people["alice"]
    # When alice pages through, with a refresh after the first page
    first, cursor = explore(api, viewer, limit=8)
    refresh(pump)
    seen = list(first)
    while cursor:
        page, cursor = explore(api, viewer, cursor, limit=8)
        seen += page
    # Then every post shows up exactly once
    assert sorted(seen) == sorted(posted)


def test_a_page_is_diverse_in_authors_and_topics(api: Api, pump: EventPump, people: dict[str, Account]) -> None:
    # Given one prolific author of food photos alice loves, and a few other authors and topics
    alice, carol, erin = people["alice"], people["carol"], people["erin"]
    foodie = api.sign_up("foodie")
    food = [post(foodie, "food") for _ in range(12)]
    topics = ("food", "food", "food", "food", "art", "sport", "travel", "music", "dance", "cars", "birds", "books")
    others = [post(api.sign_up(f"other{i}"), t) for i, t in enumerate(topics)]
    pump.drain()
    for post_id in (*food, *others):
        like(api, erin, post_id)
    liked_food = post(carol, "food")
    pump.drain()
    like(api, alice, liked_food)  # alice's taste: food
    refresh(pump)
    # When she opens explore
    response = api.call("GET", "/explore?limit=10", alice)
    items = response.json["items"]
    # Then no author appears twice in ten, no topic more than three times, and something other than food is in
    authors = [p["author"]["user_id"] for p in items]
    topics = [p["hashtags"][0] for p in items]
    assert len(items) == WINDOW
    assert max(authors.count(a) for a in authors) <= MAX_PER_AUTHOR
    assert topics.count("food") <= MAX_PER_TOPIC
    assert any(t != "food" for t in topics)


def test_a_small_instance_never_crowds_a_page_with_one_author(
    api: Api, pump: EventPump, people: dict[str, Account]
) -> None:
    # Given a small instance: one prolific author with eight posts, and two others with one each
    prolific = api.sign_up("prolific")
    theirs = [post(prolific, f"topic{i}") for i in range(8)]
    others = [post(api.sign_up(f"quiet{i}"), "quiet") for i in range(2)]
    pump.drain()
    for post_id in (*theirs, *others):
        like(api, people["erin"], post_id)
    refresh(pump)
    # When alice pages through explore, ten at a time
    pages: list[list[int]] = []
    cursor = None
    while True:
        page, cursor = explore(api, people["alice"], cursor, limit=10)
        pages.append(page)
        if cursor is None:
            break
    # Then no page holds more than three posts by one author (the first is short rather than crowded), and the
    # deferred posts come on later pages, each exactly once
    by_author = {p: "prolific" for p in theirs} | {p: p for p in others}
    for page in pages:
        authors = [by_author[p] for p in page]
        assert max(authors.count(a) for a in authors) <= PAGE_MAX_PER_AUTHOR
    assert len(pages[0]) == PAGE_MAX_PER_AUTHOR + len(others)
    shown = [p for page in pages for p in page]
    assert sorted(shown) == sorted([*theirs, *others])


def test_followed_blocked_and_deleted_never_show_and_the_page_is_refilled(
    api: Api, pump: EventPump, people: dict[str, Account]
) -> None:
    # Given alice's explore list holds posts by carol, dave, bob and others
    alice, bob, carol, dave, erin = (people[n] for n in ("alice", "bob", "carol", "dave", "erin"))
    extra = [api.sign_up(f"x{i}") for i in range(4)]
    by_carol, by_dave, by_bob = post(carol, "a"), post(dave, "b"), post(bob, "c")
    rest = [post(x, f"t{i}") for i, x in enumerate(extra)]
    pump.drain()
    for post_id in (by_carol, by_dave, by_bob, *rest):
        like(api, erin, post_id)
    refresh(pump)
    explore(api, people["frank"])  # (another viewer's list is untouched by what follows)
    wiring.explore().rank(int(alice.user_id))
    # When alice follows carol, blocks dave, and bob deletes his post
    api.call("PUT", f"/users/{carol.user_id}/follow", alice)
    api.call("PUT", f"/users/{dave.user_id}/block", alice)
    assert api.call("DELETE", f"/posts/{by_bob}", bob).status_code == 204
    # Then none of them shows, and the page still comes back full
    shown, _ = explore(api, alice, limit=4)
    assert not {by_carol, by_dave, by_bob} & set(shown)
    assert sorted(shown) == sorted(rest)


def test_a_redelivered_batch_of_events_counts_once(api: Api, pump: EventPump, people: dict[str, Account]) -> None:
    # Given a like delivered to the signals consumer twice (Kinesis redelivers after a failure)
    carol, erin = people["carol"], people["erin"]
    post_id = post(carol, "cats")
    pump.drain()
    from aperture.clock import now_ms

    kinesis_event = _signals_batch(_like_event("like-1", carol, erin, post_id).model_dump_json())
    assert invoke("explore_signals", kinesis_event) == {"batchItemFailures": []}
    assert invoke("explore_signals", kinesis_event) == {"batchItemFailures": []}
    # Then the post's popularity counts the like once (and its arrival)
    store = wiring.explore_store()
    popular = dict(store.popular([], now_ms(), 10)["*"])
    assert popular[post_id] == pytest.approx(1.5)


def _like_event(event_id: str, author: Account, fan: Account, post_id: int) -> LikeChanged:
    from aperture.clock import now_ms

    return LikeChanged(
        event_id=event_id,
        occurred_at=now_ms(),
        post_id=post_id,
        post_author_id=int(author.user_id),
        user_id=int(fan.user_id),
        liked=True,
    )


def _signals_batch(*payloads: str) -> dict[str, Any]:
    """A Kinesis batch for the signals consumer, one record per payload, in order."""
    import base64

    records = [
        {
            "kinesis": {
                "data": base64.b64encode(data.encode()).decode(),
                "sequenceNumber": str(i),
                "partitionKey": "p",
            },
            "eventSource": "aws:kinesis",
            "eventID": f"shard:{i}",
        }
        for i, data in enumerate(payloads, 1)
    ]
    return {"Records": records}


def test_explore_answers_503_when_redis_is_down(api: Api, people: dict[str, Account]) -> None:
    # Given Redis is unreachable
    with logged_warnings() as warnings, settings_env(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        response = api.call("GET", "/explore", people["alice"])
    # Then the client is told to retry, in the API's error shape, and the outage is logged
    assert response.status_code == 503
    assert response.json["error"]["code"] == "service_unavailable"
    assert any("explore unavailable" in w.getMessage() for w in warnings)


def test_a_bad_cursor_is_a_clear_error(api: Api, people: dict[str, Account]) -> None:
    response = api.call("GET", "/explore?cursor=not-a-cursor", people["alice"])
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid_cursor"


def test_explore_before_the_first_refresh_is_empty_not_an_error(api: Api, people: dict[str, Account]) -> None:
    response = api.call("GET", "/explore", people["alice"])
    assert response.status_code == 200
    assert response.json == {"items": [], "next_cursor": None}


def _posts_by_many(api: Api, pump: EventPump, fan: Account, count: int) -> list[int]:
    """`count` posts, each by its own author, all liked once by `fan` (so all are on explore)."""
    posted = [post(api.sign_up(f"p{i}"), f"tag{i}") for i in range(count)]
    pump.drain()
    for post_id in posted:
        like(api, fan, post_id)
    refresh(pump)
    return posted


def test_ranking_again_never_moves_the_posts_under_an_open_cursor(
    api: Api, pump: EventPump, people: dict[str, Account]
) -> None:
    # Given alice has read the first page of her explore list
    posted = _posts_by_many(api, pump, people["erin"], 12)
    viewer = people["alice"]
    first, cursor = explore(api, viewer, limit=4)
    # When her list is ranked again meanwhile (a ranking job, or its retry) and she keeps paging
    wiring.explore().rank(int(viewer.user_id))
    wiring.explore().rank(int(viewer.user_id))
    shown = list(first)
    while cursor:
        page, cursor = explore(api, viewer, cursor, limit=4)
        shown += page
    # Then she sees every post once: none skipped, none repeated
    assert sorted(shown) == sorted(posted)


def test_an_author_followed_from_explore_stays_out_of_pages_already_open(
    api: Api, pump: EventPump, people: dict[str, Account]
) -> None:
    # Given alice has a page of explore open
    viewer, erin = people["alice"], people["erin"]
    authors = [api.sign_up(f"a{i}") for i in range(6)]
    posted = {post(author, f"t{i}"): author for i, author in enumerate(authors)}
    pump.drain()
    for post_id in posted:
        like(api, erin, post_id)
    refresh(pump)
    first, cursor = explore(api, viewer, limit=2)
    # When she follows the author of a post further down, and a refresh ranks her list again before she pages
    # on with her cursor
    later = next(p for p in posted if p not in first)
    api.call("PUT", f"/users/{posted[later].user_id}/follow", viewer)
    refresh(pump)
    shown = list(first)
    while cursor:
        page, cursor = explore(api, viewer, cursor, limit=2)
        shown += page
    # Then that author's post never shows, and nothing else is lost
    assert later not in shown
    assert sorted(shown) == sorted(p for p in posted if p != later)


def test_paging_on_after_the_list_lapsed_continues_past_what_was_shown(
    api: Api, pump: EventPump, people: dict[str, Account]
) -> None:
    # Given alice read a first page, and then her list lapsed (she came back an hour later)
    posted = _posts_by_many(api, pump, people["erin"], 9)
    viewer = people["alice"]
    first, cursor = explore(api, viewer, limit=3)
    client = wiring.redis_client()
    for key in client.scan_iter(f"xp:{{u:{viewer.user_id}}}:*"):
        if ":list:" in key or key.endswith(":current"):
            client.delete(key)
    # When she pages on with her old cursor
    shown = list(first)
    while cursor:
        page, cursor = explore(api, viewer, cursor, limit=3)
        shown += page
    # Then she gets the rest of what explore has for her, nothing twice
    assert sorted(shown) == sorted(posted)


def test_likes_taken_back_and_comments_weigh_into_popularity(
    api: Api, pump: EventPump, people: dict[str, Account]
) -> None:
    from aperture.clock import now_ms

    # Given a post liked, unliked, and commented on by someone else
    carol, erin = people["carol"], people["erin"]
    post_id = post(carol, "cats")
    pump.drain()
    like(api, erin, post_id)
    assert api.call("DELETE", f"/posts/{post_id}/like", erin).status_code == 200
    assert api.call("POST", f"/posts/{post_id}/comments", erin, json={"text": "nice"}).status_code == 201
    pump.drain()
    # Then its score is its arrival (0.5) + the like (1) - the like (1) + the comment (2)
    assert dict(wiring.explore_store().popular([], now_ms(), 10)["*"])[post_id] == pytest.approx(2.5)
    assert wiring.explore_store().engagers([post_id]) == {post_id: [int(erin.user_id)]}


def test_a_malformed_event_is_skipped_and_the_rest_of_the_batch_counted(
    api: Api, pump: EventPump, people: dict[str, Account]
) -> None:
    from aperture.clock import now_ms

    carol, erin = people["carol"], people["erin"]
    post_id = post(carol, "cats")
    pump.drain()
    like_event = _like_event("like-after-garbage", carol, erin, post_id)
    event = _signals_batch('{"type": "like_changed", "post_id": "x"}', like_event.model_dump_json())
    assert invoke("explore_signals", event) == {"batchItemFailures": []}
    assert dict(wiring.explore_store().popular([], now_ms(), 10)["*"])[post_id] == pytest.approx(1.5)


def test_a_batch_whose_counting_failed_is_counted_on_the_retry_once(
    api: Api, pump: EventPump, people: dict[str, Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aperture.clock import now_ms
    from aperture.explore import ExploreSignals

    carol, erin = people["carol"], people["erin"]
    post_id = post(carol, "cats")
    pump.drain()
    event = _like_event("like-retried", carol, erin, post_id)
    store = wiring.explore_store()
    signals = ExploreSignals(store, wiring.post_repository(), wiring.users())
    # Given counting fails once after the batch was claimed (Redis lost mid-way)
    original = store.apply
    monkeypatch.setattr(store, "apply", lambda engagements: (_ for _ in ()).throw(RuntimeError("lost")))
    with pytest.raises(RuntimeError):
        signals.record([event])
    monkeypatch.setattr(store, "apply", original)
    # When Kinesis delivers the batch again, twice
    signals.record([event])
    signals.record([event])
    # Then the like counts exactly once
    assert dict(store.popular([], now_ms(), 10)["*"])[post_id] == pytest.approx(1.5)


def test_explore_carries_on_without_the_knn_index(
    api: Api, pump: EventPump, people: dict[str, Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aperture.adapters.vectors import IndexUnavailableError

    # Given explore has posts, alice has a taste (a like) the k-NN index would use, and the index is down
    alice = people["alice"]
    posted = [post(api.sign_up(f"k{i}"), f"tag{i}") for i in range(4)]
    pump.drain()
    for post_id in posted:
        like(api, people["erin"], post_id)
    like(api, alice, posted[0])
    refresh(pump)

    calls: list[int] = []

    def down(vector: Any, k: int) -> list[tuple[int, float]]:
        calls.append(k)
        raise IndexUnavailableError("connection refused")

    monkeypatch.setattr(wiring.vector_index(), "nearest", down)
    # When alice opens explore for the first time (ranked on request), and is ranked again soon after
    with logged_warnings() as warnings:
        shown, _ = explore(api, alice)
        wiring.explore().rank(int(alice.user_id))
    # Then she gets her page from the other sources, and the outage is logged
    assert sorted(shown) == sorted(posted[1:])
    assert any("without the k-NN index" in w.getMessage() for w in warnings)
    # And the index is left alone for a while rather than waited on for every viewer
    assert len(calls) == 1


def test_a_refresh_with_the_index_down_still_moves_explore_on(
    api: Api, pump: EventPump, people: dict[str, Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aperture.adapters.vectors import IndexUnavailableError

    def down(generation: str, vectors: Any) -> None:
        raise IndexUnavailableError("timed out")

    monkeypatch.setattr(wiring.vector_index(), "replace", down)
    # Given posts liked since the last refresh, and a k-NN index that cannot take the new generation
    posted = [post(api.sign_up(f"r{i}"), f"tag{i}") for i in range(3)]
    pump.drain()
    for post_id in posted:
        like(api, people["erin"], post_id)
    # When the refresh runs
    with logged_warnings() as warnings:
        refresh(pump)
    # Then the new pools are published all the same, and the failure is logged
    assert sorted(explore(api, people["alice"])[0]) == sorted(posted)
    assert any("without publishing to the k-NN index" in w.getMessage() for w in warnings)


def test_the_same_event_twice_in_one_batch_counts_once(api: Api, pump: EventPump, people: dict[str, Account]) -> None:
    from aperture.clock import now_ms

    carol, erin = people["carol"], people["erin"]
    post_id = post(carol, "cats")
    pump.drain()
    sent_twice = _like_event("like-sent-twice", carol, erin, post_id).model_dump_json()
    batch = _signals_batch(sent_twice, sent_twice)
    assert invoke("explore_signals", batch) == {"batchItemFailures": []}
    assert dict(wiring.explore_store().popular([], now_ms(), 10)["*"])[post_id] == pytest.approx(1.5)


def test_only_the_current_model_is_kept_for_good(api: Api) -> None:
    store, client = wiring.explore_store(), wiring.redis_client()
    store.put_model("1", {"generation": "1"}, {7: [1.0]})
    assert client.ttl("xp:model:1") == -1 and client.ttl("xp:model:1:users") == -1
    store.put_model("2", {"generation": "2"}, {7: [1.0]})
    assert 0 < client.ttl("xp:model:1") <= 1800 and 0 < client.ttl("xp:model:1:users") <= 1800
    assert client.ttl("xp:model:2") == -1 and store.current_generation() == "2"
    # A blob this code cannot read (an older format) counts as missing, never as an error
    client.set("xp:model:3", "not base64 \xff")
    assert store.model("3") is None


def test_collaborative_filtering_reaches_posts_newer_than_the_last_refresh(
    api: Api, pump: EventPump, people: dict[str, Account]
) -> None:
    # Given alice and erin liked the same post, and after the last refresh erin liked a brand-new post of dave's
    alice, erin, dave, bob = people["alice"], people["erin"], people["dave"], people["bob"]
    shared = post(bob, "misc")
    pump.drain()
    like(api, alice, shared)
    like(api, erin, shared)
    refresh(pump)
    newer = post(dave, "misc")
    pump.drain()
    like(api, erin, newer)
    pump.drain()
    # When alice opens explore
    shown, _ = explore(api, alice)
    # Then dave's new post is offered though no refresh has seen it yet
    assert newer in shown
