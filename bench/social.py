"""Social benchmark: follow and like throughput through the handlers, "did I like it" on a post with a million
likes (Bloom filter plus confirmation against a set lookup), and Redis memory per million likes.

Run from the repository root: `python -m bench.social` (about a minute) or `python -m bench.social --quick`.
Everything runs in process against the local runtime: moto for AWS, a real Redis server.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from werkzeug.test import Client

from aperture import wiring
from aperture.adapters.redis_store.likes import bloom_inserted_key, likes_keys
from aperture.bloom import ScalableBloom
from aperture.likes import scalable_bloom
from bench import lift_rate_limits
from local.seeding import Account, publish_post

PASSWORD = "Bench-pass-1!"
MILLION = 1_000_000


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def _timed(calls: list[Callable[[], object]]) -> list[float]:
    samples = []
    for call in calls:
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


class Users:
    def __init__(self, client: Client) -> None:
        self.client = client

    def sign_up(self, name: str) -> tuple[str, dict[str, str]]:
        body = {"username": name, "password": PASSWORD, "email": f"{name}@example.com"}
        user = self.client.post("/auth/signup", json=body).json
        token = self.client.post("/auth/token", json={"username": name, "password": PASSWORD}).json
        return user["user_id"], {"Authorization": f"Bearer {token['id_token']}"}


def throughput(client: Client, users: int, posts: int) -> dict[str, float]:
    """Follows and likes per second through the gateway and the handlers (JWT check included)."""
    people = Users(client)
    accounts = [people.sign_up(f"bench{i:04}") for i in range(users)]
    target_id, target = accounts[0]
    started = time.perf_counter()
    for _, headers in accounts[1:]:
        assert client.put(f"/users/{target_id}/follow", headers=headers).status_code == 200
    follows = (len(accounts) - 1) / (time.perf_counter() - started)

    author = Account(target_id, "bench0000", target["Authorization"].removeprefix("Bearer "))
    post_ids = [publish_post(author) for _ in range(posts)]
    started = time.perf_counter()
    likes = 0
    for index, (_, headers) in enumerate(accounts[1:]):
        response = client.put(f"/posts/{post_ids[index % posts]}/like", headers=headers)
        assert response.status_code == 200, response.json
        likes += 1
    return {"follows_per_s": follows, "likes_per_s": likes / (time.perf_counter() - started)}


def big_post(redis_client: object, post_id: int, likers: int, as_bloom: bool, bloom: ScalableBloom) -> None:
    """Fill a post's "did I like it" structure with `likers` synthetic users, as a set or as the platform's
    scalable Bloom filter (each liker in the layer their number falls in)."""
    count_key, set_key, bloom_key = likes_keys(post_id)
    pipe = redis_client.pipeline(transaction=False)  # type: ignore[attr-defined]
    for user in range(1, likers + 1):
        if as_bloom:
            start, end = bloom.slices[bloom.layer_for(user)]
            for position in bloom.positions(user)[start:end]:
                pipe.setbit(bloom_key, position, 1)
        else:
            pipe.sadd(set_key, user)
        if user % 50_000 == 0:
            pipe.execute()
    if as_bloom:
        pipe.set(bloom_inserted_key(post_id), likers)
    pipe.set(count_key, likers)
    pipe.execute()


def membership(redis_client: object, samples: int, likers: int) -> dict[str, object]:
    from aperture.adapters.redis_store.likes import LikeCache
    from aperture.likes import Likes
    from aperture.models.events import LikeChanged

    settings_threshold = likers // 2  # a post past it answers from the Bloom filter
    # The platform's filter (first layer twice the default threshold of 10,000; grows to 10 million likes)
    bloom = scalable_bloom(10_000, 10_000_000)
    set_post, bloom_post = 1, 2
    for post_id, as_bloom in ((set_post, False), (bloom_post, True)):
        print(f"  filling post {post_id} with {likers:,} likes as a {'Bloom filter' if as_bloom else 'set'}...")
        big_post(redis_client, post_id, likers, as_bloom, bloom)
    # Likers' rows exist in DynamoDB for the users we ask about, so a Bloom "yes" can be confirmed
    repo = wiring.like_repository()
    asked_likers = list(range(1, samples + 1))
    for user in asked_likers:
        event = LikeChanged(
            event_id=f"bench-{user}", occurred_at=0, post_id=bloom_post, post_author_id=0, user_id=user, liked=True
        )
        repo.add(bloom_post, user, 0, event)
    likes = Likes(repo=repo, cache=LikeCache(redis_client, bloom), threshold=settings_threshold, now_ms=lambda: 0)
    strangers = list(range(likers + 1, likers + 1 + samples))
    set_yes = _timed([lambda u=u: likes.liked_by(u, [set_post]) for u in asked_likers])
    bloom_yes = _timed([lambda u=u: likes.liked_by(u, [bloom_post]) for u in asked_likers])
    bloom_no = _timed([lambda u=u: likes.liked_by(u, [bloom_post]) for u in strangers])
    false_positives = 0
    client = redis_client
    _, _, bloom_key = likes_keys(bloom_post)
    probe = range(10 * likers, 10 * likers + 100_000)
    k = len(bloom.positions(0))
    pipe = client.pipeline(transaction=False)  # type: ignore[attr-defined]
    for user in probe:
        for position in bloom.positions(user):
            pipe.getbit(bloom_key, position)
    bits = pipe.execute()
    false_positives = sum(bloom.contains(bits[i : i + k]) for i in range(0, len(bits), k))
    set_bytes = client.memory_usage(likes_keys(set_post)[1], samples=0)  # type: ignore[attr-defined]
    bloom_bytes = client.memory_usage(bloom_key, samples=0)  # type: ignore[attr-defined]
    return {
        "set_yes": _percentiles(set_yes),
        "bloom_yes_confirmed": _percentiles(bloom_yes),
        "bloom_no": _percentiles(bloom_no),
        "false_positive_rate": false_positives / len(probe),
        "set_bytes_per_million": set_bytes * MILLION / likers,
        "bloom_bytes_per_million": bloom_bytes * MILLION / likers,
        "bloom_bytes": bloom_bytes,
        "bloom_layers": bloom.layer_for(likers) + 1,
        "bloom_hashes": k,
    }


def main() -> None:
    lift_rate_limits()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    args = parser.parse_args()
    users, posts, likers, samples = (21, 5, 20_000, 200) if args.quick else (301, 20, MILLION, 2000)

    from local.runtime import start

    platform = start(0)
    client = Client(platform.server.app)
    print(f"throughput: {users - 1} follows and {users - 1} likes through the handlers")
    rates = throughput(client, users, posts)
    print(f"membership: a post with {likers:,} likes")
    found = membership(wiring.redis_client(), samples, likers)
    platform.shutdown()

    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| follows per second (PUT /users/{{id}}/follow, in process) | {rates['follows_per_s']:.0f} |")
    print(f"| likes per second (PUT /posts/{{id}}/like, in process) | {rates['likes_per_s']:.0f} |")
    for label, key in (
        ("set membership (SISMEMBER), liker", "set_yes"),
        ("Bloom filter, liker (+ DynamoDB confirmation)", "bloom_yes_confirmed"),
        ("Bloom filter, not a liker (no confirmation)", "bloom_no"),
    ):
        p50, p99 = found[key]  # type: ignore[misc]
        print(f"| did I like it: {label} | p50 {p50:.0f} µs, p99 {p99:.0f} µs |")
    set_mb, bloom_mb = found["set_bytes_per_million"] / 1e6, found["bloom_bytes_per_million"] / 1e6  # type: ignore[operator]
    print(f"| Redis memory per million likes: set | {set_mb:.1f} MB |")
    layers = found["bloom_layers"]
    print(f"| Redis memory per million likes: scalable Bloom filter ({layers} layers in use) | {bloom_mb:.2f} MB |")
    print(f"| Bloom / set memory | {bloom_mb / set_mb:.3f} |")
    print(f"| measured false-positive rate (100,000 strangers) | {found['false_positive_rate']:.2%} |")
    bloom_no, set_yes = found["bloom_no"][0], found["set_yes"][0]  # type: ignore[index]
    print(f'| Bloom "no" / set lookup latency (p50) | {bloom_no / set_yes:.2f} |')


if __name__ == "__main__":
    main()
