"""The activity log end to end: feed impressions and engagements appended to the Redis streams, moved to S3 by the
flush job (exactly once, through crashes), and read back by day for the training job."""

from __future__ import annotations

import pytest

from aperture import wiring
from aperture.activity import ENGAGEMENT, IMPRESSION, Engagement, Impression, Record, day, from_line
from aperture.activity_flush import ActivityFlush
from aperture.adapters.activity_archive import ActivityArchive, read_records
from aperture.adapters.redis_store.activity import SHARDS, ActivityStreams, RedisActivityLog
from aperture.clock import now_ms
from aperture.ranking import FEATURES
from local.invoke import invoke
from local.pump import EventPump
from local.seeding import publish_post
from tests.faults import FailAfter, InjectedFaultError
from tests.support import Api

TODAY_MS = now_ms()


@pytest.fixture(autouse=True)
def _no_log_objects(api: Api) -> None:
    wiring.media_store().delete_unserved("logs/")  # (the emulated bucket outlives a test)


def _flushed(kind: str) -> list[Record]:
    today = day(now_ms())
    return list(read_records(wiring.media_store(), kind, today, today))


def _impression(viewer: int, post: int, at: int = TODAY_MS, position: int = 0) -> Impression:
    return Impression(
        surface="feed",
        viewer_id=viewer,
        post_id=post,
        author_id=viewer + 1000,
        position=position,
        served_at=at,
        model="test",
        features={"recency": 0.5},
    )


def test_a_ranked_feed_page_logs_one_impression_per_post_with_the_features_it_was_ranked_by(api: Api) -> None:
    # Given bob follows alice, who posted three times
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    posts = [publish_post(alice) for _ in range(3)]
    # When bob reads his ranked feed and the flush job runs
    page = api.call("GET", "/feed", bob, query_string={"limit": 10, "order": "ranked"}).json
    assert invoke("activity_flush", {"source": "aws.events"})["records"] == 3
    # Then S3 holds one impression per post shown, at its position, with the model's four features
    logged = sorted((r for r in _flushed(IMPRESSION) if isinstance(r, Impression)), key=lambda r: r.position)
    assert [str(r.post_id) for r in logged] == [p["post_id"] for p in page["items"]]
    assert sorted(str(r.post_id) for r in logged) == sorted(posts)
    assert {r.viewer_id for r in logged} == {int(bob.user_id)}
    assert {r.author_id for r in logged} == {int(alice.user_id)}
    assert all(set(r.features) == set(FEATURES) and r.surface == "feed" for r in logged)
    assert {r.model for r in logged} == {wiring.ranking_model().version}


def test_a_chronological_page_logs_nothing(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    publish_post(alice)
    api.call("GET", "/feed", bob, query_string={"order": "chronological"})
    assert ActivityStreams(wiring.redis_client()).backlog() == 0


def test_the_feed_is_served_when_the_log_cannot_be_written(api: Api, redis: object) -> None:
    # Given a log whose streams are not streams (every append fails)
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    post = publish_post(alice)
    client = wiring.redis_client()
    for shard in range(SHARDS):
        client.set(f"activity:{{{shard}}}", "not a stream")
    # When bob reads his ranked feed, then the page is served all the same
    response = api.call("GET", "/feed", bob, query_string={"order": "ranked"})
    assert response.status_code == 200
    assert [p["post_id"] for p in response.json["items"]] == [post]


def test_records_are_grouped_by_kind_and_day_into_objects_read_back_by_day_range(api: Api) -> None:
    # Given impressions of two days and an engagement, for viewers on several shards
    yesterday = TODAY_MS - 86_400_000
    records: list[Record] = [_impression(v, 100 + v) for v in range(1, 20)]
    records += [_impression(7, 555, at=yesterday)]
    records += [Engagement(action="like", viewer_id=3, author_id=1003, at=TODAY_MS, post_id=103)]
    RedisActivityLog(wiring.redis_client()).record(records)
    # When the job runs
    outcome = invoke("activity_flush", {"source": "aws.events"})
    # Then every record is in S3 once, under its kind and day, and the streams are empty
    assert outcome == {"records": 21, "objects": outcome["objects"], "backlog": 0}
    store = wiring.media_store()
    assert {k.split("/dt=")[1][:10] for k in store.keys_under("logs/impression/")} == {day(TODAY_MS), day(yesterday)}
    both = list(read_records(store, IMPRESSION, day(yesterday), day(TODAY_MS)))
    assert sorted(both, key=repr) == sorted(records[:-1], key=repr)
    assert _flushed(ENGAGEMENT) == records[-1:]
    # ...and the training job's source (the same reader, one day's lines) finds today's
    todays = [from_line(line) for line in ActivityArchive(store).lines(IMPRESSION, day(TODAY_MS))]
    assert sorted(todays, key=repr) == sorted(records[:-2], key=repr)
    # ...and a second run finds nothing more to write
    assert invoke("activity_flush", {"source": "aws.events"})["records"] == 0


@pytest.mark.parametrize("step", ["read", "write", "done"])
def test_a_flush_that_dies_after_any_step_is_finished_by_its_retry_with_nothing_lost_or_doubled(
    api: Api, step: str
) -> None:
    # Given records of many viewers in the streams, and a flush whose `step` fails after doing its work, once
    records: list[Record] = [_impression(v, 1000 + v, position=v) for v in range(40)]
    records += [Engagement(action="comment", viewer_id=v, author_id=9, at=TODAY_MS, post_id=5) for v in range(5)]
    RedisActivityLog(wiring.redis_client()).record(records)
    streams, store = ActivityStreams(wiring.redis_client()), wiring.media_store()
    faulty = FailAfter(streams, step) if step != "write" else FailAfter(store, step)
    flush = ActivityFlush(
        faulty if step != "write" else streams,  # type: ignore[arg-type]
        faulty if step == "write" else store,
        batch_size=4,
        rounds=10,
    )
    # When it runs and dies, and then runs again (new records arriving in between)
    with pytest.raises(InjectedFaultError):
        flush.run()
    late = _impression(3, 99_999, position=1)
    RedisActivityLog(wiring.redis_client()).record([late])
    flush.run()
    # Then S3 holds every record exactly once, and the streams are drained
    flushed = _flushed(IMPRESSION) + _flushed(ENGAGEMENT)
    assert sorted(flushed, key=repr) == sorted([*records, late], key=repr)
    assert streams.backlog() == 0


def test_likes_comments_saves_and_profile_opens_are_logged_as_engagements_and_unlikes_are_not(
    api: Api, pump: EventPump
) -> None:
    # Given bob, who likes, comments on and saves alice's post, takes back a like of another, and opens her profile
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    liked, unliked = publish_post(alice), publish_post(alice)
    api.call("PUT", f"/posts/{liked}/like", bob)
    api.call("PUT", f"/posts/{unliked}/like", bob)
    api.call("DELETE", f"/posts/{unliked}/like", bob)
    api.call("POST", f"/posts/{liked}/comments", bob, json={"text": "nice"})
    api.call("PUT", f"/posts/{liked}/save", bob)
    api.call("GET", f"/users/{alice.username}", bob)
    api.call("GET", f"/users/{alice.user_id}/posts", bob)
    # ...and alice, who likes her own post and opens her own profile (no signal)
    api.call("PUT", f"/posts/{liked}/like", alice)
    api.call("GET", f"/users/{alice.username}", alice)
    # When the events are consumed and the log flushed
    pump.drain()
    invoke("activity_flush", {"source": "aws.events"})
    # Then bob's engagements are there, each naming alice as the author; the unlike and alice's own are not
    logged = {
        (e.action, e.viewer_id, e.author_id, e.post_id) for e in _flushed(ENGAGEMENT) if isinstance(e, Engagement)
    }
    bob_id, alice_id = int(bob.user_id), int(alice.user_id)
    assert logged == {
        ("like", bob_id, alice_id, int(liked)),
        ("like", bob_id, alice_id, int(unliked)),  # (the like before it was taken back)
        ("comment", bob_id, alice_id, int(liked)),
        ("save", bob_id, alice_id, int(liked)),
        ("profile_open", bob_id, alice_id, None),
    }
