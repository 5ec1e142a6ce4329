"""Hashtag pages: a tag's posts newest first with a cursor, or top by engagement over the last week, hydrated like the
feed; private accounts' posts (to anyone but the owner and approved followers), blocked relations and deleted posts
never appear."""

from __future__ import annotations

from typing import Any

import pytest

from aperture import wiring
from aperture.models.events import PostEdited
from local.pump import EventPump
from local.seeding import Account, ready_event
from tests.integration.test_search import _word
from tests.support import Api


def _post(author: Account, *tags: str) -> str:
    event = ready_event(author, "post", ("150",), hashtags=tags, width=1080, height=1080)
    wiring.posts().ingest(event)
    return str(event.post_id)


def _page(api: Api, viewer: Account, tag: str, **query: Any) -> Any:
    response = api.call("GET", f"/hashtags/{tag}/posts", viewer, query_string=query)
    assert response.status_code == 200, response.json
    return response.json


def _counts(api: Api, viewer: Account, prefix: str) -> dict[str, int]:
    found = api.call("GET", "/search/hashtags", viewer, query_string={"q": prefix}).json["items"]
    return {h["tag"]: h["post_count"] for h in found}


def _ids(api: Api, viewer: Account, tag: str, **query: Any) -> list[str]:
    return [p["post_id"] for p in _page(api, viewer, tag, **query)["items"]]


def test_recent_posts_come_newest_first_page_by_page_hydrated_like_the_feed(api: Api, pump: EventPump) -> None:
    # Given three posts tagged alike (one also otherwise), and one with another tag
    tag = _word()
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    first, second, third = _post(alice, tag), _post(bob, tag, "other"), _post(alice, tag.upper())
    _post(alice, f"{tag}x")
    pump.drain()
    assert api.call("PUT", f"/posts/{second}/like", bob).status_code == 200
    assert api.call("PUT", f"/posts/{second}/save", bob).status_code == 200
    # When bob pages through the tag two at a time (typed in capitals)
    one = _page(api, bob, tag.upper(), limit=2)
    two = _page(api, bob, tag, limit=2, cursor=one["next_cursor"])
    # Then he sees every post once, newest first, with his like and save on them
    assert [p["post_id"] for p in one["items"] + two["items"]] == [third, second, first]
    shown = one["items"][1]
    assert (shown["like_count"], shown["liked_by_me"], shown["saved_by_me"]) == (1, True, True)
    assert shown["hashtags"] == [tag, "other"]


def test_top_posts_are_ranked_by_the_weeks_engagement(api: Api, pump: EventPump) -> None:
    tag = _word()
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    quiet, liked, loved = _post(alice, tag), _post(alice, tag), _post(alice, tag)
    for post, fans in ((liked, (bob,)), (loved, (bob, carol))):
        for fan in fans:
            assert api.call("PUT", f"/posts/{post}/like", fan).status_code == 200
    assert api.call("POST", f"/posts/{loved}/comments", bob, json={"text": "wow"}).status_code == 201
    pump.drain()
    assert _ids(api, carol, tag, order="top") == [loved, liked]
    assert quiet in _ids(api, carol, tag)  # it is on the recent page all the same


def test_private_blocked_and_deleted_posts_stay_out(api: Api, pump: EventPump) -> None:
    # Given posts by a private account, by someone the viewer blocked, by someone who blocked the viewer, a
    # deleted one and a public one, all with the tag, and a follower of the private account
    tag = _word()
    viewer, private, blocked, blocker, public, follower = (
        api.sign_up(n) for n in ("viewer", "private", "blocked", "blocker", "public", "follower")
    )
    assert api.call("PUT", f"/users/{private.user_id}/follow", follower).status_code == 200
    wiring.users().update(int(private.user_id), {"private": True})
    hidden = {_post(private, tag), _post(blocked, tag), _post(blocker, tag)}
    deleted, shown = _post(public, tag), _post(public, tag)
    for post in hidden | {deleted, shown}:
        api.call("PUT", f"/posts/{post}/like", follower)
    api.call("PUT", f"/users/{blocked.user_id}/block", viewer)
    api.call("PUT", f"/users/{viewer.user_id}/block", blocker)
    assert api.call("DELETE", f"/posts/{deleted}", public).status_code == 204
    pump.drain()
    # Then the viewer sees only the public post, in either order
    assert _ids(api, viewer, tag) == [shown]
    assert _ids(api, viewer, tag, order="top") == [shown]
    # While the private account's follower and the account itself see its post
    private_post = next(p for p in hidden if p in _ids(api, private, tag))
    assert private_post in _ids(api, follower, tag)
    assert private_post in _ids(api, follower, tag, order="top")


@pytest.mark.parametrize(
    ("tag", "query"),
    [
        ("no-dash", {}),
        ("a" * 101, {}),
        ("fine", {"order": "best"}),
        ("fine", {"limit": 0}),
        ("fine", {"limit": 51}),
        ("fine", {"cursor": "not-a-cursor"}),
        ("fine", {"order": "top", "cursor": "eyJwb3N0X2lkIjogMX0"}),
    ],
)
def test_a_bad_tag_order_limit_or_cursor_is_422(api: Api, tag: str, query: dict[str, Any]) -> None:
    viewer = api.sign_up("viewer")
    response = api.call("GET", f"/hashtags/{tag}/posts", viewer, query_string=query)
    assert response.status_code == 422, response.json
    assert set(response.json["error"]) == {"code", "message"}


def test_an_edited_caption_moves_the_post_between_tag_pages_and_counts_once_however_often_relayed(
    api: Api, pump: EventPump
) -> None:
    # Given alice's post captioned with one tag, filed and counted
    old, new = _word(), _word()
    alice = api.sign_up("alice")
    event = ready_event(alice, "post", ("150",), caption=f"Evening #{old}", hashtags=(old,), width=1080, height=1080)
    wiring.posts().ingest(event)
    post = str(event.post_id)
    assert api.call("PUT", f"/posts/{post}/like", api.sign_up("bob")).status_code == 200
    pump.drain()
    assert _ids(api, alice, old) == [post] and _ids(api, alice, old, order="top") == [post]
    # When she edits the caption to another tag, and the edit's event is relayed (then relayed again, late)
    edited = api.call("PATCH", f"/posts/{post}", alice, json={"caption": f"Morning #{new}"})
    assert edited.status_code == 200, edited.json
    pump.drain()
    # Then the post is on the new tag's page and not the old one's (top included), and each tag counts it once
    assert _ids(api, alice, new) == [post] and _ids(api, alice, old) == []
    assert _ids(api, alice, old, order="top") == []
    assert _counts(api, alice, new) == {new: 1}
    replayed = wiring.search_indexer()
    late = PostEdited(
        event_id=f"{post}:edited:1",
        occurred_at=1,
        post_id=int(post),
        author_id=alice.user_id,
        version=1,
        hashtags=(new,),
        previous_hashtags=(old,),
    )
    replayed.apply(late)
    replayed.apply(late)
    assert _ids(api, alice, new) == [post] and _ids(api, alice, old) == []
    assert _counts(api, alice, new) == {new: 1}
