"""Following and profiles, with counts that stay true under repeats."""

from __future__ import annotations

from tests.support import Api


def test_following_shows_on_both_profiles_and_repeating_changes_nothing(api: Api) -> None:
    # Given two users
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    # When bob follows alice twice
    first = api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    second = api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    # Then both answers say following, and the counts moved once
    assert first.json == second.json == {"following": True, "requested": False}
    seen_by_bob = api.call("GET", f"/users/{alice.username}", bob).json
    assert seen_by_bob["follower_count"] == 1
    assert seen_by_bob["relationship"] == {
        "following": True,
        "followed_by": False,
        "blocking": False,
        "muting": False,
        "requested": False,
    }
    seen_by_alice = api.call("GET", f"/users/{bob.username}", alice).json
    assert seen_by_alice["following_count"] == 1
    assert seen_by_alice["relationship"]["followed_by"] is True


def test_unfollowing_twice_leaves_counts_at_zero(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    for _ in range(2):
        gone = api.call("DELETE", f"/users/{alice.user_id}/follow", bob)
        assert gone.status_code == 200 and gone.json == {"following": False, "requested": False}
    profile = api.call("GET", f"/users/{alice.username}", bob).json
    assert profile["follower_count"] == 0
    assert profile["relationship"]["following"] is False
    assert api.call("GET", "/me", bob).json["following_count"] == 0


def test_following_yourself_or_nobody_is_refused(api: Api) -> None:
    alice = api.sign_up("alice")
    assert api.call("PUT", f"/users/{alice.user_id}/follow", alice).status_code == 422
    assert api.call("PUT", "/users/12345/follow", alice).status_code == 404
    assert api.call("PUT", "/users/not-an-id/follow", alice).status_code == 404


def test_an_unknown_username_is_404(api: Api) -> None:
    alice = api.sign_up("alice")
    missing = api.call("GET", "/users/nobody_by_that_name", alice)
    assert missing.status_code == 404
    assert missing.json["error"]["code"] == "user_not_found"


def test_a_bulk_import_of_follows_reads_like_follows_made_one_by_one(api: Api) -> None:
    from aperture import wiring

    people = [api.sign_up("bulk") for _ in range(4)]
    ids = [int(p.user_id) for p in people]
    edges = [(ids[0], ids[1]), (ids[0], ids[2]), (ids[3], ids[1]), (ids[0], ids[1])]  # one repeated
    assert wiring.follows().import_new(edges, 1) == 3
    star = api.call("GET", f"/users/{people[1].username}", people[0]).json
    assert star["follower_count"] == 2 and star["relationship"]["followed_by"] is False
    assert api.call("GET", f"/users/{people[0].username}", people[1]).json["following_count"] == 2
    followers = api.call("GET", f"/users/{people[1].user_id}/followers", people[0]).json["items"]
    assert sorted(f["username"] for f in followers) == sorted([people[0].username, people[3].username])
    assert api.call("GET", f"/users/{people[1].user_id}/relationship", people[0]).json["following"] is True
