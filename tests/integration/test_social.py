"""Follow lists, relationships and blocks, as users see them."""

from __future__ import annotations

from aperture import wiring
from local.seeding import Account, publish_post
from tests.support import Api


def _ids(page: dict) -> list[str]:
    return [u["user_id"] for u in page["items"]]


def _walk(api: Api, viewer: Account, path: str, limit: int) -> list[str]:
    seen, cursor = [], None
    while True:
        query = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = api.call("GET", path, viewer, query_string=query)
        assert page.status_code == 200, page.json
        seen += _ids(page.json)
        cursor = page.json["next_cursor"]
        if cursor is None:
            return seen


def test_follower_and_following_lists_page_with_cursors(api: Api) -> None:
    # Given a star followed by seven fans, one of whom follows two more accounts
    star = api.sign_up("star")
    fans = [api.sign_up("fan") for _ in range(7)]
    for fan in fans:
        api.call("PUT", f"/users/{star.user_id}/follow", fan)
    extra = [api.sign_up("other") for _ in range(2)]
    for other in extra:
        api.call("PUT", f"/users/{other.user_id}/follow", fans[0])
    # When the lists are read three at a time, then each holds everyone once
    assert sorted(_walk(api, star, f"/users/{star.user_id}/followers", 3)) == sorted(f.user_id for f in fans)
    following = _walk(api, star, f"/users/{fans[0].user_id}/following", 2)
    assert sorted(following) == sorted([star.user_id] + [o.user_id for o in extra])
    page = api.call("GET", f"/users/{star.user_id}/followers", star).json
    assert {"user_id", "username"} == set(page["items"][0])


def test_a_forged_cursor_is_422(api: Api) -> None:
    import base64
    import json

    star = api.sign_up("star")

    def forged(key: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")

    huge = forged({"followee_id": int(star.user_id), "follower_id": 10**40})  # no DynamoDB number this long
    for cursor in ("bm90LW91cnM", huge, forged({"followee_id": True, "follower_id": -1})):
        response = api.call("GET", f"/users/{star.user_id}/followers", star, query_string={"cursor": cursor})
        assert response.status_code == 422 and response.json["error"]["code"] == "invalid_cursor", cursor


def test_the_relationship_route_answers_all_four_questions(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{bob.user_id}/follow", alice)
    seen = api.call("GET", f"/users/{bob.user_id}/relationship", alice).json
    assert seen == {
        "following": True,
        "followed_by": False,
        "blocking": False,
        "blocked_by": False,
        "muting": False,
        "requested": False,
    }
    assert api.call("GET", f"/users/{alice.user_id}/relationship", bob).json["followed_by"] is True


def test_relationship_answers_follow_a_change_at_once(api: Api) -> None:
    # The cached "does A follow B" answer is dropped on every change
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    path = f"/users/{bob.user_id}/relationship"
    assert api.call("GET", path, alice).json["following"] is False
    api.call("PUT", f"/users/{bob.user_id}/follow", alice)
    assert api.call("GET", path, alice).json["following"] is True
    api.call("DELETE", f"/users/{bob.user_id}/follow", alice)
    assert api.call("GET", path, alice).json["following"] is False


def test_a_block_removes_follows_both_ways_with_their_counts(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{bob.user_id}/follow", alice)
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    for _ in range(2):  # blocking twice changes nothing more
        assert api.call("PUT", f"/users/{bob.user_id}/block", alice).json == {"blocking": True}
    me = api.call("GET", "/me", alice).json
    assert (me["follower_count"], me["following_count"]) == (0, 0)
    assert api.call("GET", "/me", bob).json["following_count"] == 0
    assert api.call("GET", f"/users/{bob.user_id}/relationship", alice).json == {
        "following": False,
        "followed_by": False,
        "blocking": True,
        "blocked_by": False,
        "muting": False,
        "requested": False,
    }


def test_the_blocked_user_gets_404_on_everything_of_the_blocker(api: Api) -> None:
    # Given alice, with a post, blocks bob
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    post = publish_post(alice)
    api.call("PUT", f"/users/{bob.user_id}/block", alice)
    # Then to bob alice does not exist
    for method, path in (
        ("GET", f"/users/{alice.username}"),
        ("GET", f"/users/{alice.user_id}/relationship"),
        ("GET", f"/users/{alice.user_id}/followers"),
        ("PUT", f"/users/{alice.user_id}/follow"),
        ("GET", f"/posts/{post}"),
        ("PUT", f"/posts/{post}/like"),
        ("GET", f"/posts/{post}/likes"),
        ("POST", f"/posts/{post}/comments"),
        ("GET", f"/posts/{post}/comments"),
    ):
        response = api.call(method, path, bob, json={"text": "hi"} if method == "POST" else None)
        assert response.status_code == 404, (method, path, response.status_code)
    assert api.call("GET", "/feed", bob).json["items"] == []


def test_the_blocker_still_sees_whom_they_blocked_and_cannot_follow_them(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{bob.user_id}/block", alice)
    profile = api.call("GET", f"/users/{bob.username}", alice)
    assert profile.status_code == 200 and profile.json["relationship"]["blocking"] is True
    assert api.call("PUT", f"/users/{bob.user_id}/follow", alice).status_code == 403


def test_blocked_users_vanish_from_likes_and_comments_of_third_parties(api: Api) -> None:
    # Given carol's post, liked and commented on by bob, whom alice blocks
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    post = publish_post(carol)
    api.call("PUT", f"/posts/{post}/like", bob)
    api.call("POST", f"/posts/{post}/comments", bob, json={"text": "nice"})
    api.call("PUT", f"/users/{bob.user_id}/block", alice)
    # Then alice sees neither his like nor his comment; carol sees both
    assert api.call("GET", f"/posts/{post}/likes", alice).json["items"] == []
    assert api.call("GET", f"/posts/{post}/comments", alice).json["items"] == []
    assert _ids(api.call("GET", f"/posts/{post}/likes", carol).json) == [bob.user_id]
    # Nor in the comment preview of the post object (cached once for every viewer), wherever it is shown
    assert api.call("GET", f"/posts/{post}", alice).json["comment_preview"] == []
    preview = api.call("GET", f"/posts/{post}", carol).json["comment_preview"]
    assert [c["author"]["user_id"] for c in preview] == [bob.user_id]


def test_unblocking_restores_visibility_but_not_the_follows(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    api.call("PUT", f"/users/{bob.user_id}/block", alice)
    assert api.call("DELETE", f"/users/{bob.user_id}/block", alice).json == {"blocking": False}
    assert api.call("GET", f"/users/{alice.username}", bob).status_code == 200
    assert api.call("GET", f"/users/{alice.user_id}/relationship", bob).json["following"] is False
    assert wiring.graph().hidden_from(int(bob.user_id)) == set()
