"""Comments: oldest first with cursors, 1..2200 characters, who may delete, and the first three on posts."""

from __future__ import annotations

from local.seeding import Account, publish_post
from tests.support import Api


def _comment(api: Api, post: str, who: Account, text: str) -> dict:
    response = api.call("POST", f"/posts/{post}/comments", who, json={"text": text})
    assert response.status_code == 201, response.json
    return response.json


def test_comments_come_oldest_first_in_pages(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    written = [_comment(api, post, bob if i % 2 else alice, f"comment {i}")["comment_id"] for i in range(7)]
    seen, cursor = [], None
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.call("GET", f"/posts/{post}/comments", alice, query_string=query).json
        seen += [c["comment_id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == written


def test_a_comment_carries_its_author_and_time(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    comment = _comment(api, post, bob, "lovely light")
    assert comment["post_id"] == post and comment["text"] == "lovely light"
    assert comment["author"] == {"user_id": bob.user_id, "username": bob.username}
    assert comment["created_at"].endswith("Z")


def test_text_must_be_1_to_2200_characters(api: Api) -> None:
    alice = api.sign_up("alice")
    post = publish_post(alice)
    for text in ("", "x" * 2201):
        response = api.call("POST", f"/posts/{post}/comments", alice, json={"text": text})
        assert response.status_code == 422 and "text" in response.json["error"]["message"]
    assert _comment(api, post, alice, "x" * 2200)["text"] == "x" * 2200


def test_the_comment_author_or_the_post_author_may_delete_anyone_else_gets_403(api: Api) -> None:
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    post = publish_post(alice)
    first, second = _comment(api, post, bob, "one"), _comment(api, post, bob, "two")
    assert api.call("DELETE", f"/posts/{post}/comments/{first['comment_id']}", carol).status_code == 403
    assert api.call("DELETE", f"/posts/{post}/comments/{first['comment_id']}", bob).status_code == 204
    assert api.call("DELETE", f"/posts/{post}/comments/{second['comment_id']}", alice).status_code == 204
    assert api.call("DELETE", f"/posts/{post}/comments/{second['comment_id']}", alice).status_code == 404
    shown = api.call("GET", f"/posts/{post}", alice).json
    assert (shown["comment_count"], shown["comment_preview"]) == (0, [])


def test_posts_show_their_first_three_comments_and_the_count(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    comments = [_comment(api, post, bob, f"c{i}") for i in range(5)]
    shown = api.call("GET", f"/posts/{post}", alice).json
    assert [c["text"] for c in shown["comment_preview"]] == ["c0", "c1", "c2"]
    assert shown["comment_count"] == 5
    # Deleting one of the first three brings the fourth into view
    api.call("DELETE", f"/posts/{post}/comments/{comments[1]['comment_id']}", bob)
    shown = api.call("GET", f"/posts/{post}", alice).json
    assert [c["text"] for c in shown["comment_preview"]] == ["c0", "c2", "c3"]
    feed_post = api.call("GET", "/feed", alice).json["items"][0]
    assert feed_post["comment_preview"] == shown["comment_preview"]
