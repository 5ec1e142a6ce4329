"""Account standing: a disabled account (suspended, or being erased) has its tokens refused on every request, and
its content disappears for everyone at once; restoring a suspension brings both back."""

from __future__ import annotations

from aperture import wiring
from local.pump import EventPump
from local.seeding import publish_post
from tests.support import PASSWORD, Api


def test_a_disabled_accounts_token_is_refused_at_once_and_restoring_accepts_it_again(api: Api) -> None:
    # Given alice, signed in and using the API
    alice = api.sign_up("alice")
    assert api.call("GET", "/me", alice).status_code == 200
    # When her account is suspended
    assert wiring.standing().disable(int(alice.user_id), "suspended") is True
    # Then her very next request, with the same valid token, is refused
    refused = api.call("GET", "/me", alice)
    assert refused.status_code == 401
    assert refused.json["error"]["code"] == "account_disabled"
    # And suspending again changes nothing
    assert wiring.standing().disable(int(alice.user_id), "suspended") is False
    # When the suspension is lifted, the same token works again
    assert wiring.standing().restore(int(alice.user_id)) is True
    assert api.call("GET", "/me", alice).status_code == 200


def test_a_suspended_accounts_profile_and_posts_disappear_for_everyone_until_restored(
    api: Api, pump: EventPump
) -> None:
    # Given bob follows alice, who has posted
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    post_id = publish_post(alice)
    pump.drain()
    assert post_id in [p["post_id"] for p in api.call("GET", "/feed", bob).json["items"]]
    # When alice is suspended
    wiring.standing().disable(int(alice.user_id), "suspended")
    # Then bob sees neither her profile, nor her post, nor it in his feed, nor her in search
    assert api.call("GET", f"/users/{alice.username}", bob).status_code == 404
    assert api.call("GET", f"/posts/{post_id}", bob).status_code == 404
    assert post_id not in [p["post_id"] for p in api.call("GET", "/feed", bob).json["items"]]
    found = api.call("GET", "/search/users", bob, query_string={"q": "ali"}).json["items"]
    assert "alice" not in [u["username"] for u in found]
    # When she is restored, everything is back
    wiring.standing().restore(int(alice.user_id))
    assert api.call("GET", f"/users/{alice.username}", bob).status_code == 200
    assert api.call("GET", f"/posts/{post_id}", bob).status_code == 200
    assert post_id in [p["post_id"] for p in api.call("GET", "/feed", bob).json["items"]]


def test_an_erasure_is_not_undone_by_a_restore(api: Api) -> None:
    # Given alice's account is being erased
    alice = api.sign_up("alice")
    wiring.standing().disable(int(alice.user_id), "erased")
    # When a moderator's restore (of a suspension) or a suspension reaches it
    assert wiring.standing().restore(int(alice.user_id)) is False
    assert wiring.standing().disable(int(alice.user_id), "suspended") is False
    # Then the account stays disabled, as being erased
    assert api.call("GET", "/me", alice).status_code == 401
    assert wiring.standing().reason(int(alice.user_id)) == "erased"


def test_with_redis_down_a_disabled_account_is_still_refused(api: Api) -> None:
    # Given alice is suspended, and the cached set is unreachable
    alice = api.sign_up("alice")
    wiring.standing().disable(int(alice.user_id), "suspended")
    cache = wiring.standing().cached()
    assert cache is not None
    cache._redis = _Unreachable()
    try:
        # When she calls the API, Then DynamoDB answers and she is refused
        assert api.call("GET", "/me", alice).status_code == 401
    finally:
        wiring.reset()


class _Unreachable:
    def get(self, key: str) -> None:
        import redis

        raise redis.ConnectionError("Redis is down")

    def set(self, *args: object, **kwargs: object) -> None:
        import redis

        raise redis.ConnectionError("Redis is down")


def test_a_disabled_account_changes_nothing_and_reads_nothing(api: Api, pump: EventPump) -> None:
    # Given bob posted, and alice is suspended
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post_id = publish_post(bob)
    pump.drain()
    wiring.standing().disable(int(alice.user_id), "suspended")
    # When she comments, likes, and reads bob's post and a post that does not exist
    comment = api.call("POST", f"/posts/{post_id}/comments", alice, json={"text": "still here"})
    like = api.call("PUT", f"/posts/{post_id}/like", alice)
    reads = [api.call("GET", path, alice) for path in (f"/posts/{post_id}", "/posts/1", "/feed")]
    # Then each is refused as a disabled account, and nothing of hers is on the post
    assert [r.status_code for r in (comment, like, *reads)] == [401] * 5
    assert {r.json["error"]["code"] for r in (comment, like, *reads)} == {"account_disabled"}
    shown = api.call("GET", f"/posts/{post_id}", bob).json
    assert shown["like_count"] == 0 and shown["comment_count"] == 0


def test_a_suspended_account_is_hidden_even_from_someone_who_blocks_it(api: Api) -> None:
    # Given bob blocks alice (a blocker still sees whom they block, to unblock them)
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/block", bob)
    assert api.call("GET", f"/users/{alice.username}", bob).status_code == 200
    # When alice is suspended
    wiring.standing().disable(int(alice.user_id), "suspended")
    # Then bob sees neither her profile nor his relationship with her
    assert api.call("GET", f"/users/{alice.username}", bob).status_code == 404
    assert api.call("GET", f"/users/{alice.user_id}/relationship", bob).status_code == 404


def test_a_suspended_account_cannot_sign_in_or_refresh_and_is_told_why(api: Api) -> None:
    # Given alice signed in, then suspended
    alice = api.sign_up("alice")
    tokens = api.call("POST", "/auth/token", json={"username": alice.username, "password": PASSWORD}).json
    wiring.standing().disable(int(alice.user_id), "suspended")
    # When she signs in again or refreshes
    answers = [
        api.call("POST", "/auth/token", json={"username": alice.username, "password": PASSWORD}),
        api.call("POST", "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}),
    ]
    # Then both say her account is disabled, rather than handing out tokens that every request refuses
    assert [(a.status_code, a.json["error"]["code"]) for a in answers] == [(401, "account_disabled")] * 2
    # And once restored, she signs in
    wiring.standing().restore(int(alice.user_id))
    assert api.call("POST", "/auth/token", json={"username": alice.username, "password": PASSWORD}).status_code == 200
