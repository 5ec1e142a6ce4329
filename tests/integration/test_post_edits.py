"""Editing a post: author only, hashtags and mentions parsed again, every cached copy current before the answer, and
exactly once under faults (docs/reliability.md)."""

from __future__ import annotations

from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from aperture import wiring
from aperture.adapters.dynamo.post_edits import PostEditRepository
from aperture.editing import PostEditPorts, PostEdits
from aperture.models.events import PostEdited
from aperture.models.records import Photo
from local.pump import EventPump
from local.seeding import Account, ready_event
from tests.faults import Broken, FailAfter, InjectedFaultError
from tests.support import Api

SIZES = ("150", "640", "1080")


def _post(author: Account, caption: str = "", **fields: Any) -> str:
    event = ready_event(author, "post", SIZES, caption=caption, width=1080, height=1080, **fields)
    wiring.posts().ingest(event)
    return str(event.post_id)


def _edit(api: Api, who: Account, post: str, **body: Any) -> Any:
    return api.call("PATCH", f"/posts/{post}", who, json=body)


def _shown(api: Api, viewer: Account, post: str) -> dict[str, Any]:
    response = api.call("GET", f"/posts/{post}", viewer)
    assert response.status_code == 200, response.json
    return dict(response.json)


def _mentions(api: Api, who: Account) -> list[str]:
    items = api.call("GET", "/notifications", who).json["items"]
    return [n["post_id"] for n in items if n["type"] == "mention"]


def _edit_ports(**replaced: Any) -> PostEditPorts:
    ports = {
        "edits": PostEditRepository(wiring.dynamo_table(wiring.get_settings().table_posts), wiring.outbox()),
        "cache": wiring.post_cache(),
        "views": wiring.post_views(),
        "users": wiring.users(),
        "graph": wiring.graph(),
        "now_ms": wiring.now_ms,
    }
    return PostEditPorts(**{**ports, **replaced})


def test_an_edit_shows_at_once_in_the_post_and_the_feed_of_a_follower_whose_copy_was_cached(
    api: Api, pump: EventPump
) -> None:
    # Given bob follows alice and has read her post (so it is cached), which was sent with the hashtag "travel"
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    post = _post(alice, "sunset #beach", location="Porto", hashtags=("travel", "beach"))
    pump.drain()
    assert api.call("GET", "/feed", bob).json["items"][0]["caption"] == "sunset #beach"
    assert _shown(api, bob, post)["edited_at"] is None
    # When alice edits the caption and the location
    response = _edit(api, alice, post, caption="sunrise #Dawn #travel", location="Lisbon")
    # Then the answer, the post and the feed show the edit, with when, and hashtags follow the new caption
    assert response.status_code == 200, response.json
    assert isinstance(response.json["edited_at"], int)
    for shown in (response.json, _shown(api, bob, post), api.call("GET", "/feed", bob).json["items"][0]):
        assert (shown["caption"], shown["location"]) == ("sunrise #Dawn #travel", "Lisbon")
        assert shown["hashtags"] == ["travel", "dawn"]  # sent at upload, then the new caption's; #beach went
        assert shown["edited_at"] == response.json["edited_at"]


def test_only_the_author_may_edit_and_bad_input_changes_nothing(api: Api) -> None:
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    post = _post(alice, "as posted", location="Oslo")
    assert _edit(api, bob, post, caption="mine now").status_code == 403
    api.call("PUT", f"/users/{carol.user_id}/block", alice)
    assert _edit(api, carol, post, caption="x").json["error"]["code"] == "post_not_found"  # blocked: as if missing
    assert _edit(api, alice, "123456", caption="x").status_code == 404
    assert api.call("PATCH", f"/posts/{post}", json={"caption": "x"}).status_code == 401
    for body in (
        {},
        {"caption": "x" * 2201},
        {"location": "x" * 201},
        {"caption": None},
        {"caption": 5},
        {"alt_text": "not editable here"},
    ):
        response = _edit(api, alice, post, **body)
        assert response.status_code == 422 and "error" in response.json, body
    shown = _shown(api, alice, post)
    assert (shown["caption"], shown["location"], shown["edited_at"]) == ("as posted", "Oslo", None)
    # An empty location removes it; an empty caption is a caption
    assert _edit(api, alice, post, location="", caption="").json["location"] is None


def test_an_edit_notifies_only_users_it_names_for_the_first_time(api: Api, pump: EventPump) -> None:
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    post = _post(alice, f"with @{bob.username}", mentioned_ids=(int(bob.user_id),))
    pump.drain()
    assert _mentions(api, bob) == [post]
    # When alice names carol, then drops bob, then names him again
    for caption in (f"@{bob.username} and @{carol.username}", f"@{carol.username}", f"@{bob.username} back"):
        assert _edit(api, alice, post, caption=caption).status_code == 200
    pump.drain()
    # Then carol is told once, and bob never twice
    assert _mentions(api, carol) == [post]
    assert _mentions(api, bob) == [post]


def test_a_cache_fill_that_read_the_post_before_the_edit_never_shows_the_old_caption(api: Api) -> None:
    # Given a reader that read alice's post from DynamoDB before her edit, and writes it to the cache after it
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = _post(alice, "old")
    before = wiring.post_repository().get(int(post))
    assert before is not None
    _edit(api, alice, post, caption="new")
    fields = {"record": before.model_dump_json(), "version": "0", "author_username": alice.username}
    wiring.post_cache().put_many({int(post): fields})
    assert _shown(api, bob, post)["caption"] == "new"
    # Nor after the copy is dropped (a comment), the old fill landing again
    api.call("POST", f"/posts/{post}/comments", bob, json={"text": "nice"})
    wiring.post_cache().put_many({int(post): fields})
    assert _shown(api, bob, post)["caption"] == "new"


def test_two_edits_whose_cache_writes_arrive_out_of_order_leave_the_later(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = _post(alice, "v0")
    _edit(api, alice, post, caption="v1")
    first = wiring.post_repository().get(int(post), consistent=True)
    assert first is not None and first.version == 1
    _edit(api, alice, post, caption="v2")
    # When the first edit's cache write comes last
    assert wiring.post_cache().put_edited(int(post), 1, first.model_dump_json(), alice.username) is False
    # Then the later edit stays; and an edit built on a version another edit overtook writes nothing
    assert _shown(api, bob, post)["caption"] == "v2"
    event = PostEdited(event_id="late", occurred_at=1, post_id=int(post), author_id=int(alice.user_id), version=2)
    repo = _edit_ports().edits
    assert repo.apply(first, {"caption": "late"}, event) is False
    assert _shown(api, bob, post)["caption"] == "v2"


@pytest.mark.parametrize(("port", "step"), [("edits", "apply"), ("cache", "put_edited")])
def test_an_edit_that_dies_after_any_step_is_made_once_by_its_retry(
    api: Api, pump: EventPump, port: str, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given bob's cached copy of a post, and alice's edit naming carol that dies right after `step`
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    post = _post(alice, "before")
    assert _shown(api, bob, post)["caption"] == "before"
    ports = _edit_ports()
    failing = _edit_ports(**{port: FailAfter(getattr(ports, port), step)})
    monkeypatch.setattr(wiring, "post_edits", lambda: PostEdits(failing))
    with pytest.raises(InjectedFaultError):  # (a 500 on AWS; the client retries)
        _edit(api, alice, post, caption=f"after @{carol.username}")
    monkeypatch.setattr(wiring, "post_edits", lambda: PostEdits(ports))
    # When the client retries
    response = _edit(api, alice, post, caption=f"after @{carol.username}")
    # Then the edit shows everywhere, was made once (one version), and carol is told once
    assert response.status_code == 200, response.json
    assert _shown(api, bob, post)["caption"] == f"after @{carol.username}"
    stored = wiring.post_repository().get(int(post), consistent=True)
    assert stored is not None and stored.version == 1
    pump.drain()
    assert _mentions(api, carol) == [post]


def test_an_edit_whose_cache_write_fails_is_not_answered_as_done_and_the_relay_brings_the_copy_up(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given bob's cached copy, and Redis refusing the edit's cache write
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = _post(alice, "before")
    assert _shown(api, bob, post)["caption"] == "before"
    broken = Broken(wiring.post_cache(), "put_edited", RedisConnectionError("down"))
    monkeypatch.setattr(wiring, "post_edits", lambda: PostEdits(_edit_ports(cache=broken)))
    # Then the answer is 503 (saved, not yet shown everywhere), never a success
    response = _edit(api, alice, post, caption="after")
    assert response.status_code == 503 and response.json["error"]["code"] == "service_unavailable"
    # And once the relay has handled the committed edit, everyone sees it
    pump.drain()
    assert _shown(api, bob, post)["caption"] == "after"


def test_the_author_edits_each_photos_alt_text_and_every_reader_sees_it_at_once(api: Api, pump: EventPump) -> None:
    # Given bob follows alice and has read her three-photo carousel (so its copy is cached)
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    event = ready_event(alice, "post", SIZES, width=1080, height=1080)
    photo = Photo(images=event.images, width=1080, height=1080, blurhash="LEHV6nWB2yk8", alt_text="old")
    wiring.posts().ingest(event.model_copy(update={"media": (photo, photo, photo)}))
    post = str(event.post_id)
    pump.drain()
    assert [m["alt_text"] for m in _shown(api, bob, post)["media"]] == ["old"] * 3
    # When alice sends one alt text per photo
    alts = ["A harbour at dawn", "", "Two gulls on a post"]
    edited = _edit(api, alice, post, alt_texts=alts)
    # Then the answer, the post and bob's feed show them in order, with the rest of the post as it was
    assert edited.status_code == 200, edited.json
    assert [m["alt_text"] for m in edited.json["media"]] == alts and edited.json["edited_at"]
    assert [m["alt_text"] for m in _shown(api, bob, post)["media"]] == alts
    (in_feed,) = [p for p in api.call("GET", "/feed", bob).json["items"] if p["post_id"] == post]
    assert [m["alt_text"] for m in in_feed["media"]] == alts
    assert [m["images"] for m in in_feed["media"]] == [m["images"] for m in edited.json["media"]]
    # And sending them again changes nothing: the same edit time
    again = _edit(api, alice, post, alt_texts=alts)
    assert again.json["edited_at"] == edited.json["edited_at"]


@pytest.mark.parametrize(
    "alt_texts", [["one"], ["a", "b", "c", "d"], None, [], ["x" * 1001, "", ""], "not a list"], ids=repr
)
def test_alt_texts_that_do_not_fit_the_post_are_422_and_change_nothing(
    api: Api, pump: EventPump, alt_texts: Any
) -> None:
    alice = api.sign_up("alice")
    event = ready_event(alice, "post", SIZES, width=1080, height=1080)
    photo = Photo(images=event.images, width=1080, height=1080, blurhash="LEHV6nWB2yk8", alt_text="kept")
    wiring.posts().ingest(event.model_copy(update={"media": (photo, photo, photo)}))
    post = str(event.post_id)
    response = _edit(api, alice, post, alt_texts=alt_texts)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] in {"invalid_request", "invalid_input"}
    shown = _shown(api, alice, post)
    assert [m["alt_text"] for m in shown["media"]] == ["kept"] * 3 and shown["edited_at"] is None
