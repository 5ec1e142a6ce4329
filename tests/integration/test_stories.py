"""Stories: publishing, the tray, views counted once, viewer lists, expiry and highlights."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from aperture import clock, wiring
from aperture.adapters.redis_store.stories import StoryCache
from aperture.clock import ShiftedClock, SystemClock
from aperture.models.events import StoryViewed
from aperture.ranking import AFFINITY_WEIGHTS
from local.invoke import invoke
from local.pump import EventPump
from local.redis_server import free_port
from local.seeding import Account, ingest_story, publish_post, publish_story
from tests.support import Api, jpeg_bytes, logged_warnings, settings_env, upload_photo

DAY = 86_400


@pytest.fixture
def shifted() -> Iterator[ShiftedClock]:
    moved = ShiftedClock()
    clock.use_clock(moved)
    yield moved
    clock.use_clock(SystemClock())


def _tray(api: Api, viewer: Account) -> list[tuple[str, bool, int]]:
    response = api.call("GET", "/stories/tray", viewer)
    assert response.status_code == 200, response.json
    return [(e["user"]["username"], e["has_unseen"], e["story_count"]) for e in response.json["items"]]


def _stories(api: Api, viewer: Account, author: Account) -> list[dict[str, Any]]:
    response = api.call("GET", f"/users/{author.user_id}/stories", viewer)
    assert response.status_code == 200, response.json
    items: list[dict[str, Any]] = response.json["items"]
    return items


def test_an_uploaded_story_is_rendered_once_full_size_and_shown_to_followers(api: Api, pump: EventPump) -> None:
    # Given bob follows alice
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    # When alice uploads a tall photo as a story and the pipeline runs
    grant = upload_photo(api, alice, jpeg_bytes(1200, 2400), kind="story")
    pump.drain()
    # Then the upload is ready, and bob sees one unseen story in his tray and on alice's stories
    status = api.call("GET", f"/uploads/{grant['upload_id']}", alice).json
    assert (status["kind"], status["status"]) == ("story", "ready")
    assert _tray(api, bob) == [(alice.username, True, 1)]
    [story] = _stories(api, bob, alice)
    assert story["story_id"] == grant["target_id"] and story["seen"] is False
    assert set(story["images"]) == {"1080"} and (story["width"], story["height"]) == (1080, 1920)
    assert story["images"]["1080"]["avif"].endswith(f"/images/{alice.user_id}/{grant['target_id']}/1080.avif")
    assert "view_count" not in story or story["view_count"] is None
    # And it lives exactly the story lifetime
    created, expires = (story[k] for k in ("created_at", "expires_at"))
    assert _ms(expires) - _ms(created) == DAY * 1000
    # And it is no post: nobody's feed shows it
    assert api.call("GET", "/feed", bob).json["items"] == []


def _ms(iso_time: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(iso_time.replace("Z", "+00:00")).timestamp() * 1000)


def test_a_users_stories_come_oldest_first(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    posted = [publish_story(alice) for _ in range(4)]
    first = api.call("GET", f"/users/{alice.user_id}/stories", bob, query_string={"limit": 3}).json
    rest = api.call(
        "GET", f"/users/{alice.user_id}/stories", bob, query_string={"limit": 3, "cursor": first["next_cursor"]}
    ).json
    assert [s["story_id"] for s in first["items"] + rest["items"]] == posted


def test_the_tray_puts_unseen_first_then_the_authors_you_engage_with(api: Api) -> None:
    # Given bob follows three authors who all posted stories, dave's a while before alice's
    alice, carol, dave, bob = (api.sign_up(n) for n in ("alice", "carol", "dave", "bob"))
    for author in (alice, carol, dave):
        api.call("PUT", f"/users/{author.user_id}/follow", bob)
    liked = publish_post(dave)
    dave_story, carol_story, _ = publish_story(dave), publish_story(carol), publish_story(alice)
    # When bob has liked a post of dave's and watched carol's story
    api.call("PUT", f"/posts/{liked}/like", bob)
    assert api.call("POST", f"/stories/{carol_story}/views", bob).status_code == 204
    # Then unseen authors come first, dave (whom bob engages with) before the newer alice; carol, all seen, last
    assert _tray(api, bob) == [(dave.username, True, 1), (alice.username, True, 1), (carol.username, False, 1)]
    # And once bob has seen dave's story too, dave joins carol among the seen
    api.call("POST", f"/stories/{dave_story}/views", bob)
    assert [(name, unseen) for name, unseen, _ in _tray(api, bob)] == [
        (alice.username, True),
        (dave.username, False),
        (carol.username, False),
    ]


def test_a_new_story_refreshes_a_precomputed_tray(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    assert _tray(api, bob) == []  # computed and cached
    publish_story(alice)
    publish_story(alice)
    assert _tray(api, bob) == [(alice.username, True, 2)]


def test_a_story_published_while_the_tray_is_being_built_is_not_hidden_by_the_stored_tray(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    wiring.story_cache().mark_live_sets_intact()  # (trays are kept, as on a running platform)
    storing = StoryCache.put_tray

    def a_story_published_before_the_tray_is_stored(cache: StoryCache, *args: Any, **kwargs: Any) -> bool:
        # Bob's tray has been built without it; alice's story goes live (dropping his tray) just before it is kept
        monkeypatch.setattr(StoryCache, "put_tray", storing)
        publish_story(alice)
        return storing(cache, *args, **kwargs)

    monkeypatch.setattr(StoryCache, "put_tray", a_story_published_before_the_tray_is_stored)
    assert _tray(api, bob) == []  # as it was read
    # That build was older than the story, so it was not kept: the next read sees the story
    assert _tray(api, bob) == [(alice.username, True, 1)]


def test_a_celebritys_new_story_reaches_trays_without_touching_each_one(api: Api) -> None:
    with settings_env(APERTURE_CELEBRITY_THRESHOLD="1"):
        star, fan = api.sign_up("star"), api.sign_up("fan")
        api.call("PUT", f"/users/{star.user_id}/follow", fan)  # star is now past the threshold
        assert wiring.fanout().is_celebrity(int(star.user_id))
        assert _tray(api, fan) == []
        publish_story(star)
        assert _tray(api, fan) == [(star.username, True, 1)]


def test_following_and_unfollowing_change_the_tray_at_once(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    publish_story(alice)
    assert _tray(api, bob) == []
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    assert _tray(api, bob) == [(alice.username, True, 1)]
    api.call("DELETE", f"/users/{alice.user_id}/follow", bob)
    assert _tray(api, bob) == []


def test_views_count_once_per_viewer_and_only_the_author_sees_who(api: Api, pump: EventPump) -> None:
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    story = publish_story(alice)
    # When bob views it twice, carol once, and alice watches her own
    for viewer in (bob, bob, carol, alice):
        assert api.call("POST", f"/stories/{story}/views", viewer).status_code == 204
    # Then the live count says two at once, before the viewer list is written
    assert api.call("GET", f"/stories/{story}/viewers", alice).json["view_count"] == 2
    pump.drain()
    viewers = api.call("GET", f"/stories/{story}/viewers", alice).json
    assert viewers["view_count"] == 2
    assert [v["user"]["username"] for v in viewers["items"]] == [carol.username, bob.username]
    # And alice sees the count on her own stories, and bob's copy says he has seen it
    assert _stories(api, alice, alice)[0]["view_count"] == 2
    assert _stories(api, bob, alice)[0]["seen"] is True
    # And nobody else may read the list
    forbidden = api.call("GET", f"/stories/{story}/viewers", bob)
    assert forbidden.status_code == 403 and forbidden.json["error"]["code"] == "forbidden"


def test_viewer_lists_page_newest_first(api: Api, pump: EventPump) -> None:
    alice = api.sign_up("alice")
    story = publish_story(alice)
    viewers = [api.sign_up("viewer") for _ in range(5)]
    for viewer in viewers:
        api.call("POST", f"/stories/{story}/views", viewer)
    pump.drain()
    first = api.call("GET", f"/stories/{story}/viewers", alice, query_string={"limit": 3}).json
    rest = api.call(
        "GET", f"/stories/{story}/viewers", alice, query_string={"limit": 3, "cursor": first["next_cursor"]}
    ).json
    names = [v["user"]["username"] for v in first["items"] + rest["items"]]
    assert sorted(names) == sorted(v.username for v in viewers) and len(names) == 5


def test_a_story_view_counts_toward_affinity_with_its_author(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    story = publish_story(alice)
    api.call("POST", f"/stories/{story}/views", bob)
    api.call("POST", f"/stories/{story}/views", bob)  # a repeat adds nothing
    from aperture.adapters.redis_store.client import PipelineBatch

    batch = PipelineBatch(wiring.redis_client())
    slot = wiring.affinity().queue_all(batch, int(bob.user_id))
    batch.execute()
    assert slot.value[0] == {int(alice.user_id): AFFINITY_WEIGHTS["story_view"]}


def test_unknown_and_malformed_story_ids_are_404(api: Api) -> None:
    bob = api.sign_up("bob")
    for story in ("123456789", "abc", "-1"):
        response = api.call("POST", f"/stories/{story}/views", bob)
        assert response.status_code == 404, story
    assert api.call("GET", "/stories/123456789/viewers", bob).status_code == 404


def test_blocked_users_see_none_of_the_blockers_stories(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    story = publish_story(alice)
    assert _tray(api, bob) == [(alice.username, True, 1)]
    api.call("PUT", f"/users/{bob.user_id}/block", alice)
    assert _tray(api, bob) == []
    assert api.call("GET", f"/users/{alice.user_id}/stories", bob).status_code == 404
    assert api.call("POST", f"/stories/{story}/views", bob).status_code == 404


def test_expired_stories_leave_and_are_kept_as_highlights_only_when_enabled(api: Api, shifted: ShiftedClock) -> None:
    # Given alice keeps highlights and dave does not, and both posted a story bob follows
    alice, dave, bob = api.sign_up("alice"), api.sign_up("dave"), api.sign_up("bob")
    assert api.call("PATCH", "/me", alice, json={"highlights_enabled": True}).json["highlights_enabled"] is True
    for author in (alice, dave):
        api.call("PUT", f"/users/{author.user_id}/follow", bob)
    kept, gone = publish_story(alice), publish_story(dave)
    store = wiring.media_store()
    for author, story in ((alice, kept), (dave, gone)):
        store.write_immutable(f"images/{author.user_id}/{story}/1080.jpg", jpeg_bytes(64, 64), "image/jpeg")
    assert len(_tray(api, bob)) == 2
    # When a day passes
    shifted.advance(DAY + 1)
    # Then the stories are gone from the tray, the lists, and cannot be viewed
    assert _tray(api, bob) == []
    assert _stories(api, bob, alice) == []
    assert api.call("POST", f"/stories/{kept}/views", bob).status_code == 404
    # And the expiry job keeps alice's as a highlight and deletes dave's images
    ended = invoke("story_expiry", {})  # (other tests' stories on this emulated AWS may end too)
    assert ended["archived"] >= 1 and ended["deleted"] >= 1
    highlights = api.call("GET", f"/users/{alice.user_id}/highlights", bob).json["items"]
    assert [h["story_id"] for h in highlights] == [kept]
    assert store.keys_under(f"images/{alice.user_id}/{kept}/") != set()
    assert store.keys_under(f"images/{dave.user_id}/{gone}/") == set()
    assert api.call("GET", f"/users/{dave.user_id}/highlights", bob).json["items"] == []
    # And running it again changes nothing
    assert invoke("story_expiry", {}) == {"archived": 0, "deleted": 0}


def test_highlights_are_hidden_from_others_when_turned_off(api: Api, shifted: ShiftedClock) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PATCH", "/me", alice, json={"highlights_enabled": True})
    story = publish_story(alice)
    shifted.advance(DAY + 1)
    invoke("story_expiry", {})
    api.call("PATCH", "/me", alice, json={"highlights_enabled": False})
    assert api.call("GET", f"/users/{alice.user_id}/highlights", bob).json["items"] == []
    own = api.call("GET", f"/users/{alice.user_id}/highlights", alice).json["items"]
    assert [h["story_id"] for h in own] == [story]


def test_live_stories_come_back_to_trays_after_redis_loses_its_data(api: Api) -> None:
    # Given bob follows alice, who has a live story, and Redis then loses everything (a failover, a flush)
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    story = publish_story(alice)
    invoke("story_expiry", {})  # (a run with Redis intact restores nothing)
    assert _tray(api, bob) == [(alice.username, True, 1)]
    wiring.redis_client().flushdb()
    assert _tray(api, bob) == []  # the live sets went with it
    # When the expiry job next runs (every 5 minutes)
    with logged_warnings() as warnings:
        invoke("story_expiry", {})
    # Then alice's story is back in bob's tray, and the loss was logged
    assert _tray(api, bob) == [(alice.username, True, 1)]
    assert [s["story_id"] for s in _stories(api, bob, alice)] == [story]
    assert any("restored from DynamoDB" in w.getMessage() for w in warnings)


def test_stories_still_answer_with_redis_down(api: Api, pump: EventPump) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    seen, unseen = publish_story(alice), publish_story(alice)
    api.call("POST", f"/stories/{seen}/views", bob)
    pump.drain()
    with logged_warnings() as warnings, settings_env(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        tray = _tray(api, bob)
        stories = _stories(api, bob, alice)
        viewed = api.call("POST", f"/stories/{unseen}/views", bob)
    assert tray == [(alice.username, True, 2)]
    assert [(s["story_id"], s["seen"]) for s in stories] == [(seen, True), (unseen, False)]
    assert viewed.status_code == 204
    assert "stories tray built without Redis" in [r.getMessage() for r in warnings]


def _kinesis_event(views: list[StoryViewed]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventSource": "aws:kinesis",
                "eventID": f"shardId-000000000000:{i}",
                "kinesis": {
                    "partitionKey": v.partition_key,
                    "sequenceNumber": str(1000 + i),
                    "data": base64.b64encode(v.model_dump_json().encode()).decode(),
                    "approximateArrivalTimestamp": 1.0,
                    "kinesisSchemaVersion": "1.0",
                },
            }
            for i, v in enumerate(views)
        ]
    }


def test_the_views_consumer_writes_a_batch_once_even_when_redelivered(api: Api) -> None:
    alice = api.sign_up("alice")
    story = int(publish_story(alice))
    views = [
        StoryViewed(
            event_id=f"{story}:{v}",
            occurred_at=1_800_000_000_000 + v,
            story_id=story,
            author_id=int(alice.user_id),
            viewer_id=v,
        )
        for v in range(1, 61)
    ]
    event = _kinesis_event(views + views[:5])  # duplicates inside one batch too
    assert invoke("story_views", event) == {"batchItemFailures": []}
    assert invoke("story_views", event) == {"batchItemFailures": []}  # the whole batch again
    assert wiring.story_views().count(story) == 60


def test_a_failed_batch_write_is_reported_for_retry(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    views = [StoryViewed(event_id="1:2", occurred_at=1, story_id=1, author_id=3, viewer_id=2)]

    def refuse(*_: Any) -> None:
        raise RuntimeError("throttled")

    monkeypatch.setattr(wiring.story_views(), "put_many", refuse)
    assert invoke("story_views", _kinesis_event(views)) == {"batchItemFailures": [{"itemIdentifier": "1000"}]}


def test_profile_settings_are_validated_and_kept(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    changed = api.call("PATCH", "/me", alice, json={"display_name": "Alice", "region": "FR", "bio": "hi"})
    assert changed.status_code == 200, changed.json
    assert (changed.json["display_name"], changed.json["region"], changed.json["bio"]) == ("Alice", "FR", "hi")
    assert api.call("GET", "/me", alice).json["region"] == "FR"
    # Others see the profile but not the settings
    seen = api.call("GET", f"/users/{alice.username}", bob).json
    assert seen["display_name"] == "Alice" and seen.get("region") is None
    for body in ({}, {"region": "France"}, {"bio": "x" * 151}, {"nickname": "a"}, {"highlights_enabled": "maybe"}):
        response = api.call("PATCH", "/me", alice, json=body)
        assert response.status_code == 422, body
    assert api.call("GET", "/me", alice).json["bio"] == "hi"
    assert json.loads(api.call("PATCH", "/me", json={"bio": "x"}).get_data())["error"]["code"] == "unauthorized"


def test_an_author_deletes_a_story_and_it_is_gone_everywhere(api: Api, pump: EventPump) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    kept, removed = publish_story(alice), publish_story(alice)
    store = wiring.media_store()
    store.write_immutable(f"images/{alice.user_id}/{removed}/1080.jpg", jpeg_bytes(64, 64), "image/jpeg")
    assert _tray(api, bob) == [(alice.username, True, 2)]
    assert api.call("DELETE", f"/stories/{removed}", bob).status_code == 403
    assert api.call("DELETE", f"/stories/{removed}", alice).status_code == 204
    assert [s["story_id"] for s in _stories(api, bob, alice)] == [kept]
    assert _tray(api, bob) == [(alice.username, True, 1)]
    pump.drain()  # its cascade
    assert store.keys_under(f"images/{alice.user_id}/{removed}/") == set()
    assert api.call("POST", f"/stories/{removed}/views", bob).status_code == 404
    assert api.call("DELETE", f"/stories/{removed}", alice).status_code == 404


def _redeliver(story_id: str) -> bool:
    """The pipeline's 'ready' event for a story, delivered again (a Kinesis retry)."""
    from aperture.models.events import PostReady

    record = wiring.story_repository().get(int(story_id))
    assert record is not None
    event = PostReady(
        event_id=f"again-{story_id}",
        occurred_at=record.created_at,
        upload_id=record.upload_id,
        post_id=record.story_id,
        author_id=record.author_id,
        kind="story",
        width=record.width,
        height=record.height,
        images=record.images,
    )
    return ingest_story(event)


def test_a_deleted_story_stays_deleted_when_its_upload_is_processed_or_announced_again(
    api: Api, pump: EventPump
) -> None:
    from aperture.media.pipeline import process_upload
    from aperture.uploads import upload_key

    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    grant = upload_photo(api, alice, jpeg_bytes(1080, 1920), kind="story")
    pump.drain()
    story = grant["target_id"]
    assert api.call("DELETE", f"/stories/{story}", alice).status_code == 204
    # When the S3 notification and the 'ready' event come again (retries, redrives)
    key = upload_key(int(alice.user_id), int(grant["upload_id"]))
    assert process_upload(key, wiring.media_ports(), wiring.media_limits()) != "published"
    assert _redeliver(story) is False
    pump.drain()
    # Then nothing comes back: no images, no story, nothing in the tray
    assert wiring.media_store().keys_under(f"images/{alice.user_id}/{story}/") == set()
    assert _stories(api, bob, alice) == [] and _tray(api, bob) == []
    assert api.call("POST", f"/stories/{story}/views", bob).status_code == 404


def test_a_deleted_post_stays_deleted_when_its_ready_event_comes_again(api: Api) -> None:
    from aperture.models.events import PostReady

    alice = api.sign_up("alice")
    post_id = publish_post(alice)
    record = wiring.post_repository().get(int(post_id))
    assert record is not None
    assert api.call("DELETE", f"/posts/{post_id}", alice).status_code == 204
    event = PostReady(
        event_id="again",
        occurred_at=record.created_at,
        upload_id=record.upload_id,
        post_id=record.post_id,
        author_id=record.author_id,
        kind="post",
        width=1080,
        height=1080,
        images=record.images,
    )
    assert wiring.posts().ingest(event) is False
    assert api.call("GET", f"/posts/{post_id}", alice).status_code == 404


def test_yesterdays_stories_do_not_crowd_out_todays(api: Api, shifted: ShiftedClock) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    for _ in range(3):
        publish_story(alice)
    shifted.advance(DAY - 60)
    fresh = publish_story(alice)
    shifted.advance(120)  # the first three have just expired; the fourth is two minutes old
    page = api.call("GET", f"/users/{alice.user_id}/stories", bob, query_string={"limit": 3}).json
    assert [s["story_id"] for s in page["items"]] == [fresh] and page["next_cursor"] is None


def test_deleting_an_archived_story_removes_its_highlight(api: Api, shifted: ShiftedClock) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PATCH", "/me", alice, json={"highlights_enabled": True})
    story = publish_story(alice)
    shifted.advance(DAY + 1)
    invoke("story_expiry", {})
    assert [h["story_id"] for h in api.call("GET", f"/users/{alice.user_id}/highlights", bob).json["items"]] == [story]
    assert api.call("DELETE", f"/stories/{story}", alice).status_code == 204
    assert api.call("GET", f"/users/{alice.user_id}/highlights", bob).json["items"] == []


def test_an_ended_story_keeps_its_view_count_after_the_live_counter_is_gone(
    api: Api, pump: EventPump, shifted: ShiftedClock
) -> None:
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    story = publish_story(alice)
    for viewer in (bob, carol):
        api.call("POST", f"/stories/{story}/views", viewer)
    pump.drain()
    shifted.advance(DAY + 1)
    invoke("story_expiry", {})
    from aperture.adapters.redis_store.stories import story_views_key

    wiring.redis_client().delete(story_views_key(int(story)))  # the live counter expires some time later
    assert api.call("GET", f"/stories/{story}/viewers", alice).json["view_count"] == 2


def test_the_tray_pages(api: Api) -> None:
    bob = api.sign_up("bob")
    authors = [api.sign_up("author") for _ in range(5)]
    for author in authors:
        api.call("PUT", f"/users/{author.user_id}/follow", bob)
        publish_story(author)
    first = api.call("GET", "/stories/tray", bob, query_string={"limit": 2}).json
    second = api.call("GET", "/stories/tray", bob, query_string={"limit": 2, "cursor": first["next_cursor"]}).json
    third = api.call("GET", "/stories/tray", bob, query_string={"limit": 2, "cursor": second["next_cursor"]}).json
    names = [e["user"]["username"] for page in (first, second, third) for e in page["items"]]
    assert sorted(names) == sorted(a.username for a in authors) and third["next_cursor"] is None
    assert api.call("GET", "/stories/tray", bob, query_string={"limit": 0}).status_code == 422
    assert api.call("GET", "/stories/tray", bob, query_string={"cursor": "x"}).status_code == 422


def test_concurrent_first_views_count_once(api: Api) -> None:
    from concurrent.futures import ThreadPoolExecutor

    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    story = int(publish_story(alice))
    with ThreadPoolExecutor(max_workers=6) as pool:
        counted = list(pool.map(lambda _: wiring.stories().view(int(bob.user_id), story), range(6)))
    assert counted.count(True) == 1
    assert api.call("GET", f"/stories/{story}/viewers", alice).json["view_count"] == 1


def test_a_celebrity_story_published_before_a_tray_was_built_but_ingested_after_still_shows(api: Api) -> None:
    from aperture.clock import now_ms
    from aperture.ids import new_id
    from aperture.models.events import PostReady
    from aperture.models.records import Upload

    with settings_env(APERTURE_CELEBRITY_THRESHOLD="1"):
        star, fan = api.sign_up("star"), api.sign_up("fan")
        api.call("PUT", f"/users/{star.user_id}/follow", fan)
        # The pipeline announced the story a few seconds ago; the fan's tray is built before it is ingested
        story_id, upload_id = new_id(), new_id()
        wiring.upload_repository().create(
            Upload(
                upload_id=upload_id,
                user_id=int(star.user_id),
                kind="story",
                target_id=story_id,
                content_type="image/jpeg",
                content_length=1,
            )
        )
        event = PostReady(
            event_id="late",
            occurred_at=now_ms() - 5_000,
            upload_id=upload_id,
            post_id=story_id,
            author_id=int(star.user_id),
            kind="story",
            width=1080,
            height=1920,
            images={"1080": {"jpeg": "a", "webp": "b", "avif": "c"}},
        )
        assert _tray(api, fan) == []
        ingest_story(event)
        assert _tray(api, fan) == [(star.username, True, 1)]
