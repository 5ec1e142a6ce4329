"""Saved posts: idempotent, private to the saver, newest save first, hidden when gone or blocked, exactly once under
faults, and served by DynamoDB while Redis is down (docs/reliability.md)."""

from __future__ import annotations

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from aperture import wiring
from aperture.adapters.redis_store.saves import SAVED_CACHE_SECONDS, saved_keys
from aperture.saves import Saves
from local.pump import EventPump
from local.redis_server import free_port
from local.seeding import Account, publish_post
from tests.faults import Broken, FailAfter, InjectedFaultError
from tests.support import Api, logged_warnings, settings_env


def _saved(api: Api, viewer: Account, **query: object) -> list[str]:
    response = api.call("GET", "/me/saved", viewer, query_string=query)
    assert response.status_code == 200, response.json
    return [p["post_id"] for p in response.json["items"]]


def _saved_by_me(api: Api, viewer: Account, post: str) -> bool:
    response = api.call("GET", f"/posts/{post}", viewer)
    assert response.status_code == 200, response.json
    return bool(response.json["saved_by_me"])


def test_saving_twice_saves_once_and_unsaving_twice_leaves_nothing(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    assert _saved_by_me(api, bob, post) is False
    for _ in range(2):
        assert api.call("PUT", f"/posts/{post}/save", bob).json == {"saved": True}
    assert _saved(api, bob) == [post]
    assert _saved_by_me(api, bob, post) is True
    for _ in range(2):
        assert api.call("DELETE", f"/posts/{post}/save", bob).json == {"saved": False}
    assert _saved(api, bob) == []
    assert _saved_by_me(api, bob, post) is False


def test_saves_are_private_to_the_saver(api: Api) -> None:
    # Given bob saved alice's post
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    post = publish_post(alice)
    api.call("PUT", f"/posts/{post}/save", bob)
    # Then neither the author nor anyone else sees it: not in their saved_by_me, not in their saved list
    for other in (alice, carol):
        assert _saved_by_me(api, other, post) is False
        assert _saved(api, other) == []
    # And the post object carries no count or list of savers
    shown = api.call("GET", f"/posts/{post}", alice).json
    assert not [field for field in shown if "save" in field and field != "saved_by_me"]


def test_the_saved_list_is_newest_save_first_and_pages_without_repeats(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    posts = [publish_post(alice) for _ in range(5)]
    for post in (posts[2], posts[0], posts[4], posts[1], posts[3]):
        api.call("PUT", f"/posts/{post}/save", bob)
    seen: list[str] = []
    cursor = None
    while True:
        page = api.call("GET", "/me/saved", bob, query_string={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200
        seen += [p["post_id"] for p in page.json["items"]]
        assert all(p["saved_by_me"] for p in page.json["items"])
        cursor = page.json["next_cursor"]
        if not cursor:
            break
    assert seen == [posts[3], posts[1], posts[4], posts[0], posts[2]]


def test_saving_a_post_you_may_not_see_is_404_and_blocked_posts_leave_the_list(api: Api) -> None:
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    by_alice, by_carol = publish_post(alice), publish_post(carol)
    api.call("PUT", f"/posts/{by_alice}/save", bob)
    api.call("PUT", f"/posts/{by_carol}/save", bob)
    # When carol blocks bob
    api.call("PUT", f"/users/{bob.user_id}/block", carol)
    # Then bob's list hides her post, and he can neither save nor unsave it
    assert _saved(api, bob) == [by_alice]
    for method in ("PUT", "DELETE"):
        response = api.call(method, f"/posts/{by_carol}/save", bob)
        assert response.status_code == 404 and response.json["error"]["code"] == "post_not_found", response.json
    # And blocking the other way hides the same
    api.call("PUT", f"/users/{alice.user_id}/block", bob)
    assert _saved(api, bob) == []
    assert api.call("PUT", "/posts/123456/save", bob).status_code == 404
    assert api.call("PUT", "/posts/not-an-id/save", bob).status_code == 404


def test_saving_needs_a_token_and_a_limit_in_range(api: Api) -> None:
    alice = api.sign_up("alice")
    post = publish_post(alice)
    assert api.call("PUT", f"/posts/{post}/save").status_code == 401
    assert api.call("GET", "/me/saved").status_code == 401
    for limit in (0, 51):
        assert api.call("GET", "/me/saved", alice, query_string={"limit": limit}).status_code == 422
    assert api.call("GET", "/me/saved", alice, query_string={"cursor": "garbage"}).status_code == 422


def test_a_deleted_post_leaves_the_saved_list(api: Api, pump: EventPump) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    kept, deleted = publish_post(alice), publish_post(alice)
    for post in (kept, deleted):
        api.call("PUT", f"/posts/{post}/save", bob)
    assert api.call("DELETE", f"/posts/{deleted}", alice).status_code == 204
    assert _saved(api, bob) == [kept]  # at once, before the cascade
    pump.drain()
    assert _saved(api, bob) == [kept]
    assert api.call("PUT", f"/posts/{deleted}/save", bob).status_code == 404


def test_saved_by_me_is_right_in_the_feed_explore_and_user_posts(api: Api, pump: EventPump) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    api.call("GET", "/feed", bob)
    saved, other = publish_post(alice), publish_post(alice)
    pump.drain()
    api.call("PUT", f"/posts/{saved}/save", bob)
    for path in ("/feed", f"/users/{alice.user_id}/posts"):
        items = api.call("GET", path, bob).json["items"]
        assert {p["post_id"]: p["saved_by_me"] for p in items} == {saved: True, other: False}, path


def test_a_cached_saved_list_follows_saves_and_unsaves(api: Api) -> None:
    # Given bob's saved list cached by a read
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    first, second = publish_post(alice), publish_post(alice)
    api.call("PUT", f"/posts/{first}/save", bob)
    assert _saved_by_me(api, bob, first) is True
    redis = wiring.redis_client()
    set_key = saved_keys(int(bob.user_id))[0]
    assert redis.sismember(set_key, first) and 0 < redis.ttl(set_key) <= SAVED_CACHE_SECONDS
    # When he saves another and unsaves the first
    api.call("PUT", f"/posts/{second}/save", bob)
    api.call("DELETE", f"/posts/{first}/save", bob)
    # Then the answers follow at once
    assert (_saved_by_me(api, bob, first), _saved_by_me(api, bob, second)) == (False, True)


def test_a_load_that_read_before_a_save_does_not_cache_its_older_list(api: Api) -> None:
    # Given a load that read bob's (empty) list from DynamoDB, then a save committed before the load writes it
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    cache = wiring.saved_cache()
    generation = wiring.redis_client().get(saved_keys(int(bob.user_id))[1]) or ""
    api.call("PUT", f"/posts/{post}/save", bob)
    # When the load writes what it read
    written = cache.load(int(bob.user_id), generation, [])
    # Then it is refused, and bob sees his save
    assert written is False
    assert _saved_by_me(api, bob, post) is True


@pytest.mark.parametrize(("port", "step"), [("repo", "add"), ("cache", "invalidate")])
def test_a_save_that_dies_after_any_step_is_made_once_by_its_retry(
    api: Api, port: str, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given bob's saved list cached (empty), and a save request that dies right after `step`
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    assert _saved_by_me(api, bob, post) is False
    real = wiring.saves()
    ports = {"repo": wiring.save_repository(), "cache": wiring.saved_cache()}
    ports[port] = FailAfter(ports[port], step)
    monkeypatch.setattr(wiring, "saves", lambda: Saves(**ports, now_ms=lambda: 1))  # type: ignore[arg-type]
    with pytest.raises(InjectedFaultError):  # (a 500 on AWS; the client retries)
        api.call("PUT", f"/posts/{post}/save", bob)
    monkeypatch.setattr(wiring, "saves", lambda: real)
    # When the client retries
    assert api.call("PUT", f"/posts/{post}/save", bob).json == {"saved": True}
    # Then the post is saved once, and says so
    assert _saved(api, bob) == [post]
    assert _saved_by_me(api, bob, post) is True


def test_an_unsave_that_dies_after_its_write_is_finished_by_its_retry(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    api.call("PUT", f"/posts/{post}/save", bob)
    assert _saved_by_me(api, bob, post) is True  # cached
    real = wiring.saves()
    failing = Saves(repo=FailAfter(wiring.save_repository(), "remove"), cache=wiring.saved_cache(), now_ms=lambda: 1)  # type: ignore[arg-type]
    monkeypatch.setattr(wiring, "saves", lambda: failing)
    with pytest.raises(InjectedFaultError):
        api.call("DELETE", f"/posts/{post}/save", bob)
    monkeypatch.setattr(wiring, "saves", lambda: real)
    assert api.call("DELETE", f"/posts/{post}/save", bob).json == {"saved": False}
    assert _saved(api, bob) == []
    assert _saved_by_me(api, bob, post) is False


def test_a_save_whose_cache_drop_fails_still_answers(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given Redis refusing the drop of bob's cached list
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    cache = Broken(wiring.saved_cache(), "invalidate", RedisConnectionError("down"))
    monkeypatch.setattr(wiring, "saves", lambda: Saves(repo=wiring.save_repository(), cache=cache, now_ms=lambda: 1))  # type: ignore[arg-type]
    # Then the save is committed and answered, with a warning
    with logged_warnings() as warnings:
        assert api.call("PUT", f"/posts/{post}/save", bob).json == {"saved": True}
    assert any("save committed" in w.getMessage() for w in warnings)
    assert _saved(api, bob) == [post]


def test_saving_and_reading_work_while_redis_is_down(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    posts = [publish_post(alice) for _ in range(2)]
    with logged_warnings(), settings_env(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        assert api.call("PUT", f"/posts/{posts[0]}/save", bob).json == {"saved": True}
        assert _saved(api, bob) == [posts[0]]
        assert _saved_by_me(api, bob, posts[0]) is True
        assert _saved_by_me(api, bob, posts[1]) is False
        assert api.call("DELETE", f"/posts/{posts[0]}/save", bob).json == {"saved": False}
        assert _saved(api, bob) == []
