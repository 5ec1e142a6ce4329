"""Search: people by the start of their username or display name (case and accents ignored), followed accounts first,
then by follower count, nobody in a block relation; hashtags by prefix, most used first. The index follows committed
events (sign-up, profile change, post published or deleted), survives faults and retries, and is rebuilt when Redis
loses it."""

from __future__ import annotations

import random
from typing import Any

import pytest

from aperture import wiring
from local.invoke import invoke
from local.pump import EventPump
from local.scheduler import Scheduler
from local.seeding import Account, ready_event
from tests.faults import FailAfter, InjectedFaultError
from tests.support import Api


def _word() -> str:
    """A name no other test's account starts with (the users table outlives each test's Redis)."""
    return "".join(random.choices("bcdfghjklmnpqrstvwxz", k=8))


def _people(api: Api, viewer: Account, q: str, **query: Any) -> list[str]:
    response = api.call("GET", "/search/users", viewer, query_string={"q": q, **query})
    assert response.status_code == 200, response.json
    return [u["username"] for u in response.json["items"]]


def _tags(api: Api, viewer: Account, q: str) -> list[tuple[str, int]]:
    response = api.call("GET", "/search/hashtags", viewer, query_string={"q": q})
    assert response.status_code == 200, response.json
    return [(t["tag"], t["post_count"]) for t in response.json["items"]]


def _rename(api: Api, who: Account, display_name: str) -> None:
    response = api.call("PATCH", "/me", who, json={"display_name": display_name})
    assert response.status_code == 200, response.json


def _post(author: Account, *tags: str) -> str:
    event = ready_event(author, "post", ("150",), hashtags=tags, width=1080, height=1080)
    wiring.posts().ingest(event)
    return str(event.post_id)


def test_people_are_found_by_the_start_of_either_name_whatever_the_case_or_accents(api: Api, pump: EventPump) -> None:
    # Given alice, who calls herself "Ëlodie <word>", and bob, who searches
    word = _word()
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    _rename(api, alice, f"Ëlodie {word.capitalize()}")
    pump.drain()
    # When bob types her username in capitals, or her display name without its accent and in another case
    # Then he finds her, with what a result shows
    assert _people(api, bob, alice.username.upper()) == [alice.username]
    response = api.call("GET", "/search/users", bob, query_string={"q": f"ELODIE {word[:3]}"})
    assert response.json["items"] == [
        {
            "user_id": alice.user_id,
            "username": alice.username,
            "display_name": f"Ëlodie {word.capitalize()}",
            "follower_count": 0,
            "following": False,
        }
    ]
    # And once she renames herself, the old name finds her no more and the new one does
    _rename(api, alice, f"Ñandú {word}")
    pump.drain()
    assert _people(api, bob, f"elodie {word[:3]}") == []
    assert _people(api, bob, f"NANDU {word}") == [alice.username]


def test_accounts_you_follow_come_first_then_the_most_followed(api: Api, pump: EventPump) -> None:
    # Given three people named alike: one with two followers, one with one, and one the viewer follows
    word = _word()
    viewer, x, y = api.sign_up("viewer"), api.sign_up("x"), api.sign_up("y")
    popular, known, friend = api.sign_up("popular"), api.sign_up("known"), api.sign_up("friend")
    for person, name in ((popular, "one"), (known, "two"), (friend, "three")):
        _rename(api, person, f"{word} {name}")
    for follower, followee in ((x, popular), (y, popular), (x, known), (viewer, friend)):
        assert api.call("PUT", f"/users/{followee.user_id}/follow", follower).status_code == 200
    pump.drain()
    # When the viewer searches the shared start
    response = api.call("GET", "/search/users", viewer, query_string={"q": word})
    # Then the friend comes first (marked as followed), then by follower count
    found = [(u["username"], u["following"], u["follower_count"]) for u in response.json["items"]]
    assert found == [(friend.username, True, 1), (popular.username, False, 2), (known.username, False, 1)]
    # And a limit keeps the first ones
    assert _people(api, viewer, word, limit=1) == [friend.username]


def test_nobody_in_a_block_relation_is_found_either_way(api: Api, pump: EventPump) -> None:
    word = _word()
    viewer, blocked, blocker, other = (api.sign_up(n) for n in ("viewer", "blocked", "blocker", "other"))
    for person in (blocked, blocker, other):
        _rename(api, person, f"{word} {person.username}")
    api.call("PUT", f"/users/{blocked.user_id}/block", viewer)
    api.call("PUT", f"/users/{viewer.user_id}/block", blocker)
    pump.drain()
    assert _people(api, viewer, word) == [other.username]
    assert blocker.username in _people(api, other, word)  # others still find them
    assert viewer.username not in _people(api, blocker, viewer.username)


def test_hashtags_are_found_by_prefix_most_used_first_and_deletions_uncount_them(api: Api, pump: EventPump) -> None:
    # Given posts tagged #<w>sun twice, #<w>sunset three times, #<w>sea once
    word = _word()
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    sun, sunset, sea = f"{word}sun", f"{word}sunset", f"{word}sea"
    posts = [_post(alice, sun, sunset), _post(alice, sunset), _post(bob, sunset, sun), _post(bob, sea)]
    pump.drain()
    # When bob types the start of a tag (with its # and in capitals)
    # Then every tag starting so comes, most used first
    assert _tags(api, bob, f"#{word.upper()}s") == [(sunset, 3), (sun, 2), (sea, 1)]
    assert _tags(api, bob, f"{word}su") == [(sunset, 3), (sun, 2)]
    # And deleting posts uncounts their tags; a tag no post uses leaves
    for post in (posts[0], posts[3]):
        assert api.call("DELETE", f"/posts/{post}", alice if post == posts[0] else bob).status_code == 204
    pump.drain()
    assert _tags(api, bob, word) == [(sunset, 2), (sun, 1)]


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/search/users", {}),
        ("/search/users", {"q": ""}),
        ("/search/users", {"q": "a" * 101}),
        ("/search/users", {"q": "ab", "limit": 0}),
        ("/search/users", {"q": "ab", "limit": 51}),
        ("/search/hashtags", {"q": ""}),
        ("/search/hashtags", {"q": "a" * 101}),
        ("/search/hashtags", {"q": "ab", "limit": "x"}),
    ],
)
def test_a_query_out_of_range_is_422_in_the_error_shape(api: Api, path: str, query: dict[str, Any]) -> None:
    viewer = api.sign_up("viewer")
    response = api.call("GET", path, viewer, query_string=query)
    assert response.status_code == 422
    assert set(response.json["error"]) == {"code", "message"}


def test_queries_that_can_match_nothing_answer_an_empty_list(api: Api) -> None:
    viewer = api.sign_up("viewer")
    assert _tags(api, viewer, "#") == []
    assert _tags(api, viewer, "no spaces in tags") == []
    assert _people(api, viewer, "\u0301") == []  # a lone combining accent folds to nothing
    assert api.call("GET", "/search/users", query_string={"q": "ab"}).status_code == 401


def test_the_index_is_rebuilt_from_dynamodb_after_redis_loses_it(api: Api, pump: EventPump, redis: Any) -> None:
    # Given an indexed person and tag
    word = _word()
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    _rename(api, alice, f"{word} alice")
    _post(alice, f"{word}tag")
    pump.drain()
    scheduler = Scheduler(invoke, "us-east-1")
    scheduler.run("search_rebuild")  # marks the index built
    assert scheduler.run("search_rebuild") == {"indexed": 0}  # nothing lost: nothing to do
    # When Redis loses everything
    redis.flushdb()
    assert _people(api, bob, word) == []
    # Then the hourly job rebuilds it from the users and hashtags tables
    assert scheduler.run("search_rebuild")["indexed"] >= 2
    assert _people(api, bob, word) == [alice.username]
    assert _tags(api, bob, word) == [(f"{word}tag", 1)]


# -- faults: each step of each write and consume path fails after doing its work, then the retry -------------------


def test_a_profile_change_whose_request_dies_after_the_commit_is_indexed_once_retried(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch
) -> None:
    word = _word()
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    _rename(api, alice, f"{word} old")
    profiles = wiring.profiles()
    monkeypatch.setattr(profiles, "_users", FailAfter(profiles._users, "update_with_event"))
    with pytest.raises(InjectedFaultError):  # (a 500 on AWS: the change and its event are committed)
        _rename(api, alice, f"{word} new")
    _rename(api, alice, f"{word} new")  # the client's retry
    pump.drain()
    assert _people(api, bob, f"{word} new") == [alice.username]
    assert _people(api, bob, f"{word} old") == []


@pytest.mark.parametrize(
    ("port", "method"),
    [
        ("_user_index", "replace"),
        ("_users", "get_consistent"),
        ("_hashtags", "join"),
        ("_hashtags", "counts"),
        ("_hashtag_index", "set_counts"),
        ("_posts", "get"),
    ],
)
def test_the_relay_failing_after_any_step_of_indexing_is_retried_and_nothing_doubles(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch, port: str, method: str
) -> None:
    # Given every indexing step fails once after doing its work (the relay's record fails and is retried)
    word = _word()
    indexer = wiring.search_indexer()
    wrapped = FailAfter(getattr(indexer, port), method, times=1)
    monkeypatch.setattr(indexer, port, wrapped)
    # When a person renames and posts with two tags, and that is relayed
    alice = api.sign_up("alice")
    _rename(api, alice, f"{word} alice")
    _post(alice, f"{word}a", f"{word}b")
    pump.drain()
    # Then the step ran again, and search shows each once, counted once
    assert wrapped.calls >= 2
    assert _people(api, alice, word) == [alice.username]
    assert _tags(api, alice, word) == [(f"{word}a", 1), (f"{word}b", 1)]


def test_a_deletion_relayed_after_a_failure_part_way_uncounts_each_tag_once(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch
) -> None:
    word = _word()
    alice = api.sign_up("alice")
    kept, gone = _post(alice, f"{word}a", f"{word}b"), _post(alice, f"{word}a", f"{word}b")
    pump.drain()
    indexer = wiring.search_indexer()
    leave = FailAfter(indexer._hashtags, "leave", times=1)
    monkeypatch.setattr(indexer, "_hashtags", leave)
    assert api.call("DELETE", f"/posts/{gone}", alice).status_code == 204
    pump.drain()
    assert leave.calls >= 3  # the first tag's leave failed after its work, and ran again
    assert _tags(api, alice, word) == [(f"{word}a", 1), (f"{word}b", 1)]
    # And a page of the tag holds the post kept, not the one deleted
    assert [p for p, _ in wiring.hashtag_repository().page(f"{word}a", 10, None)[0]] == [int(kept)]


def test_a_post_deleted_before_its_publication_is_relayed_is_never_counted(api: Api, pump: EventPump) -> None:
    word = _word()
    alice = api.sign_up("alice")
    post = _post(alice, f"{word}a")
    assert api.call("DELETE", f"/posts/{post}", alice).status_code == 204
    pump.drain()  # both events relayed, in whatever order
    assert _tags(api, alice, word) == []
    assert wiring.hashtag_repository().counts([f"{word}a"]) == {f"{word}a": 0}
