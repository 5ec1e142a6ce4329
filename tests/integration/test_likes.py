"""Likes: idempotent, exact under concurrency, a Bloom filter for huge posts, and nothing lost with Redis."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from aperture import wiring
from aperture.adapters.redis_store.likes import likes_keys
from local.invoke import invoke
from local.seeding import Account, publish_post
from tests.support import Api, settings_env


def _post(api: Api, author: Account, post_id: str, viewer: Account) -> dict:
    response = api.call("GET", f"/posts/{post_id}", viewer)
    assert response.status_code == 200, response.json
    return response.json


def test_liking_twice_counts_once_and_unliking_twice_leaves_zero(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    assert api.call("PUT", f"/posts/{post}/like", bob).json == {"liked": True, "like_count": 1}
    assert api.call("PUT", f"/posts/{post}/like", bob).json == {"liked": True, "like_count": 1}
    seen = _post(api, alice, post, bob)
    assert (seen["like_count"], seen["liked_by_me"]) == (1, True)
    assert _post(api, alice, post, alice)["liked_by_me"] is False
    for _ in range(2):
        assert api.call("DELETE", f"/posts/{post}/like", bob).json == {"liked": False, "like_count": 0}
    assert api.call("GET", f"/posts/{post}/likes", alice).json["items"] == []


def test_the_likes_list_names_who_liked_and_pages(api: Api) -> None:
    alice = api.sign_up("alice")
    fans = [api.sign_up("fan") for _ in range(5)]
    post = publish_post(alice)
    for fan in fans:
        api.call("PUT", f"/posts/{post}/like", fan)
    seen, cursor = [], None
    while True:
        page = api.call(
            "GET", f"/posts/{post}/likes", alice, query_string={"limit": 2, **({"cursor": cursor} if cursor else {})}
        ).json
        seen += [u["username"] for u in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(f.username for f in fans)


def test_fifty_users_liking_at_once_count_exactly_fifty(api: Api) -> None:
    # Given a post and fifty users (liking straight through the logic, so the likes really run concurrently)
    alice = api.sign_up("alice")
    post = wiring.post_repository().get(int(publish_post(alice)))
    assert post is not None
    users = [10_000 + i for i in range(50)]
    barrier = threading.Barrier(50)

    def like(user: int) -> None:
        barrier.wait()
        wiring.likes().set_liked(post, user, True)

    threads = [threading.Thread(target=like, args=(u,)) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then the live count, the durable list and the "did I like it" answers all say fifty
    assert wiring.likes().counts([post])[post.post_id] == 50
    assert wiring.like_repository().count(post.post_id) == 50
    assert all(wiring.likes().liked_by(u, [post.post_id])[post.post_id] for u in users)


def test_one_user_racing_like_and_unlike_ends_consistent(api: Api) -> None:
    alice = api.sign_up("alice")
    post = wiring.post_repository().get(int(publish_post(alice)))
    assert post is not None
    user = 77
    barrier = threading.Barrier(20)

    def flip(index: int) -> None:
        barrier.wait()
        wiring.likes().set_liked(post, user, index % 2 == 0)

    threads = [threading.Thread(target=flip, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    durable = wiring.like_repository().exists(post.post_id, user)
    assert wiring.likes().counts([post])[post.post_id] == int(durable)
    assert wiring.likes().liked_by(user, [post.post_id])[post.post_id] is durable


@pytest.fixture
def small_bloom_threshold(api: Api) -> Iterator[None]:
    with settings_env(APERTURE_LIKE_BLOOM_THRESHOLD="5", APERTURE_LIKE_BLOOM_CAPACITY="1000"):
        yield


def test_past_the_threshold_a_bloom_filter_answers_and_a_yes_is_confirmed(
    api: Api, redis: object, small_bloom_threshold: None
) -> None:
    alice = api.sign_up("alice")
    post = wiring.post_repository().get(int(publish_post(alice)))
    assert post is not None
    likers = list(range(500, 520))
    for user in likers:
        wiring.likes().set_liked(post, user, True)
    _, set_key, bloom_key = likes_keys(post.post_id)
    client = wiring.redis_client()
    # The set has given way to the filter
    assert not client.exists(set_key) and client.exists(bloom_key)
    assert wiring.likes().counts([post])[post.post_id] == 20
    answers = wiring.likes().liked_by
    assert all(answers(u, [post.post_id])[post.post_id] for u in likers)
    assert not any(answers(u, [post.post_id])[post.post_id] for u in range(9000, 9200))
    # An unlike cannot clear Bloom bits; the confirmation against DynamoDB answers "no" all the same
    wiring.likes().set_liked(post, likers[0], False)
    assert answers(likers[0], [post.post_id])[post.post_id] is False
    assert wiring.likes().counts([post])[post.post_id] == 19


def test_losing_redis_loses_no_like(api: Api, redis: object) -> None:
    alice, bob, carol = api.sign_up("alice"), api.sign_up("bob"), api.sign_up("carol")
    post = publish_post(alice)
    api.call("PUT", f"/posts/{post}/like", bob)
    api.call("PUT", f"/posts/{post}/like", carol)
    wiring.redis_client().flushall()
    # Reads fall back to DynamoDB; the next like rebuilds the cache from it
    assert _post(api, alice, post, bob)["liked_by_me"] is True
    assert api.call("DELETE", f"/posts/{post}/like", carol).json == {"liked": False, "like_count": 1}
    assert _post(api, alice, post, bob)["like_count"] == 1


def test_the_minute_flush_writes_live_counts_to_dynamodb(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    api.call("PUT", f"/posts/{post}/like", bob)
    assert invoke("counters_flush", {"source": "aws.events"})["flushed"] >= 1
    record = wiring.post_repository().get(int(post))
    assert record is not None and record.like_count == 1
    # With the cache gone, the post shows the flushed count
    wiring.redis_client().flushall()
    assert _post(api, alice, post, alice)["like_count"] == 1
