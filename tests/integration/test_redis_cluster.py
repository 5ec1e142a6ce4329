"""Everything the functions do with Redis also works against a cluster (ElastiCache Serverless speaks only the
cluster protocol): per-user and per-post keys share a slot, pipelines are split per node by the client, and a
script in a pipeline names only keys of one slot and is loaded again when a node has forgotten it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from aperture.adapters.redis_store.affinity import AffinityStore
from aperture.adapters.redis_store.client import PipelineBatch, redis_client
from aperture.adapters.redis_store.graph import RelationshipCache
from aperture.adapters.redis_store.likes import (
    ALREADY_APPLIED,
    LIKED,
    MAYBE,
    NOT_LIKED,
    UNKNOWN,
    LikeCache,
    likes_keys,
)
from aperture.adapters.redis_store.limits import RedisBuckets, bucket_key
from aperture.adapters.redis_store.timeline import Position, Timeline
from aperture.bloom import ScalableBloom
from tests.support import RedisClusterServers, settings_env

pytestmark = pytest.mark.xdist_group("redis-cluster")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """The platform's own cluster client (as the functions build it on AWS, less TLS and IAM) on a real cluster."""
    servers = RedisClusterServers()
    with settings_env(REDIS_URL=servers.url, APERTURE_REDIS_CLUSTER="true"):
        client = redis_client()
        assert isinstance(client, redis.RedisCluster)
        yield client
        client.close()
    servers.stop()


def test_a_fanout_spreads_over_every_node_in_one_pipelined_call(cluster: Any) -> None:
    timeline = Timeline(cluster, cap=800)
    followers = list(range(1, 3001))
    assert timeline.push(followers, post_id=118822696076341248, ms=1_795_485_355_055) == 3000
    nodes_with_keys = {node.name for node in cluster.get_primaries() if cluster.dbsize(target_nodes=node) > 0}
    assert len(nodes_with_keys) == 3
    assert timeline.page(2999, None, 5) == [118822696076341248]


def test_opening_a_feed_page_reads_everything_in_one_batch(cluster: Any) -> None:
    timeline = Timeline(cluster, cap=800)
    timeline.restore_recent(7, [Position(2_000, 200)])
    timeline.push([9005], post_id=100, ms=1_000)
    timeline.follow_celebrity([9005], 7, True)
    batch = PipelineBatch(cluster)
    was_active, celebrities, page = timeline.queue_open(batch, 9005, None, 10)
    hidden = RelationshipCache(cluster, 60).queue_blocked(batch, 9005)
    affinity = AffinityStore(cluster).queue_all(batch, 9005)
    batch.execute()
    assert (was_active.value, celebrities.value, page.value) == (False, [7], [Position(1_000, 100)])
    assert hidden.value is None and affinity.value == ({}, {})
    assert timeline.recent(celebrities.value, None, 10) == ([Position(2_000, 200)], [])
    timeline.record_post(8, 300, 3_000)  # a set started by a post, not loaded whole: the author is to be loaded
    assert timeline.recent([7, 8], None, 10) == ([Position(2_000, 200)], [8])


def test_likes_count_check_and_move_to_a_bloom_filter_on_a_cluster(cluster: Any) -> None:
    likes = LikeCache(cluster, ScalableBloom(first_capacity=20, rate=0.01, max_capacity=1000))
    for post in (41, 42):
        likes.start(post)
    for user in range(10):
        assert likes.added(42, user, f"event-{user}") == (user + 1, user + 1)
    # The same change applied again (the relay after the request) counts once: one slot holds both keys
    assert likes.added(42, 9, "event-9") == (10, ALREADY_APPLIED)
    assert likes.states([41, 42], 3) == [NOT_LIKED, LIKED]
    likes.migrate_to_bloom(42)
    assert not cluster.exists(likes_keys(42)[1])
    assert likes.added(42, 99, "event-99") == (11, -1)  # counted, and its bits set, in one script
    for user in range(100, 140):  # on into the filter's second layer (its first holds 20)
        likes.added(42, user, f"event-{user}")
    assert likes.states([42], 99) == [MAYBE]
    assert likes.states([42], 5) == [MAYBE]
    assert likes.states([42], 139) == [MAYBE]
    assert likes.counts([41, 42]) == [0, 51]
    token = likes.lock("likes:{42}:lock:5", 1000)
    assert token and likes.lock("likes:{42}:lock:5", 1000) is None
    likes.unlock("likes:{42}:lock:5", token)


def test_a_feed_page_reads_each_posts_count_and_like_in_one_call_even_after_the_cluster_forgot_the_script(
    cluster: Any,
) -> None:
    likes = LikeCache(cluster, ScalableBloom(first_capacity=20, rate=0.01, max_capacity=1000))
    for post in (51, 52, 53):
        likes.start(post)
    for user in range(5):
        likes.added(52, user, f"event-52-{user}")
        likes.added(53, user, f"event-53-{user}")
    likes.migrate_to_bloom(53)
    cluster.delete(likes_keys(54)[0])  # a post whose cache was lost (or never made)

    def live(viewer: int) -> list[tuple[int | None, int]]:
        batch = PipelineBatch(cluster)
        slot = likes.queue_live(batch, [51, 52, 53, 54], viewer)
        batch.execute()
        return slot.value

    assert live(3) == [(0, NOT_LIKED), (5, LIKED), (5, MAYBE), (None, UNKNOWN)]
    assert live(77) == [(0, NOT_LIKED), (5, NOT_LIKED), (5, NOT_LIKED), (None, UNKNOWN)]
    # The same answers as the separate count and state commands
    assert [state for _, state in live(3)] == likes.states([51, 52, 53, 54], 3)
    assert [count for count, _ in live(3)] == likes.counts([51, 52, 53, 54])
    cluster.script_flush()  # (on every primary) a restart or failover: the batch loads the script and reads again
    assert live(3) == [(0, NOT_LIKED), (5, LIKED), (5, MAYBE), (None, UNKNOWN)]
    # ...running again only the steps that use it: a returning viewer's activity mark is read and set once
    cluster.script_flush()
    batch = PipelineBatch(cluster)
    was_active, _, _ = Timeline(cluster, cap=800).queue_open(batch, 60_606, None, 10)
    states = likes.queue_live(batch, [52], 3)
    batch.execute()
    assert was_active.value is False and states.value == [(5, LIKED)]


def test_explore_signals_model_and_lists_work_on_a_cluster(cluster: Any) -> None:
    from aperture.adapters.redis_store.explore import GLOBAL, Engagement, ExploreStore

    store = ExploreStore(cluster)
    day_ms = 86_400_000
    now = 20_000 * day_ms + 3_600_000
    # Signals over two days, many posts and users: keys on every node; the two-day unions stay within one slot
    assert store.claim_events(["e1", "e2"]) == [True, True] and store.claim_events(["e1"]) == [True]  # pending
    store.mark_counted(["e1", "e2"])
    assert store.claim_events(["e1", "e2", "e3"]) == [False, False, True]
    store.apply(
        [Engagement(p, u, "BR", ("cats",), 1.0, now - (p % 2) * day_ms) for p in range(10, 70) for u in (p, p + 100)]
    )
    popular = store.popular(["BR"], now, 5)
    assert [p for p, _ in popular[GLOBAL]] == [68, 66, 64, 62, 60] and popular["BR"] == popular[GLOBAL]
    assert store.topics(now, 5) == ["cats"]
    assert sorted(store.engagers([17])[17]) == [17, 117]
    # A model generation and a viewer's list, read back in one batch with other stores
    store.put_model("g1", {"generation": "g1", "posts": {}}, {5: [0.6, 0.8]})
    assert store.model("g1") == {"generation": "g1", "posts": {}} and store.user_vector("g1", 5) == [0.6, 0.8]
    store.put_list(5, "g1", [3, 2, 1], 60)
    batch = PipelineBatch(cluster)
    listed = store.queue_viewer(batch, 5, "g1")
    seen = store.queue_seen(batch, 5)
    store.touch_active(batch, 5, now)
    batch.execute()
    found = listed.value
    assert found.current is not None and (found.current.list_id, found.current.post_ids) == ("g1", [3, 2, 1])
    assert found.by_cursor == [3, 2, 1] and found.followed_since == set() and seen.value == set()
    assert store.active(now - day_ms) == [5]


def test_the_search_index_splits_loads_and_answers_on_a_cluster(cluster: Any) -> None:
    from aperture.adapters.redis_store.search import HashtagSearchIndex, HashtagTop, UserSearchIndex

    index = UserSearchIndex(cluster)
    index.add_many([(user_id, [f"{'abcdef'[user_id % 6]}na{user_id:04d}"]) for user_id in range(600)])
    index.replace(9_000, [], ["ana clara"])
    index.replace(600, [], ["bna0600"])
    index.replace(600, ["bna0600"], [])
    assert index.prefix("ana clara", 10) == [9_000]
    assert index.prefix("bna", 500) == [u for u in range(600) if u % 6 == 1]
    assert len(index.prefix("a", 50)) == 50  # through the roots, on whichever nodes they are
    tags = HashtagSearchIndex(cluster)
    tags.set_counts({"sun": 2, "sunset": 5, "sea": 1})
    assert tags.prefix("su", 10) == [("sunset", 5), ("sun", 2)]
    assert tags.prefix("s", 10) == [("sunset", 5), ("sun", 2), ("sea", 1)]
    assert HashtagTop(cluster).top("sunset", 86_400_000 * 20_000, 10) == []


def test_rate_limit_buckets_take_and_refuse_on_a_cluster_in_one_round_trip_each(cluster: Any) -> None:
    buckets = RedisBuckets(cluster)
    # Given a thousand users' like buckets, spread over every node (one key per call: any slot will do)
    users = [str(u) for u in range(1, 1001)]
    assert all(buckets.take(u, "likes", 2, 60_000, 1_000) == 0 for u in users)
    assert {node.name for node in cluster.get_primaries() if cluster.dbsize(target_nodes=node) > 0} == {
        node.name for node in cluster.get_primaries()
    }
    # Each user's second take fits the burst of two, the third is refused with the wait for one more (30 s)
    assert all(buckets.take(u, "likes", 2, 60_000, 1_000) == 0 for u in users)
    assert {buckets.take(u, "likes", 2, 60_000, 1_000) for u in users} == {30_000}
    # ...and a refusal changed nothing: 30 s later, exactly one more
    assert buckets.take("7", "likes", 2, 60_000, 31_000) == 0
    assert buckets.take("7", "likes", 2, 60_000, 31_000) == 30_000
    # Other actions of the same user are other buckets, on the user's slot
    assert buckets.take("7", "comments", 1, 60_000, 31_000) == 0
    assert cluster.keyslot(bucket_key("7", "comments")) == cluster.keyslot(bucket_key("7", "likes"))
    assert 0 < cluster.pttl(bucket_key("7", "likes")) <= 60_000


def test_a_push_loads_its_script_again_after_the_cluster_forgot_it_and_keeps_the_cap(cluster: Any) -> None:
    timeline = Timeline(cluster, cap=3, slack=2)
    followers = list(range(20_001, 20_201))
    for post in range(1, 6):
        timeline.push(followers, post_id=post, ms=post)
    cluster.script_flush()  # (on every primary) a restart or failover: no scripts
    assert timeline.push(followers, post_id=6, ms=6) == 200
    assert timeline.push(followers, post_id=6, ms=6) == 200  # a replay changes nothing
    # Past cap + slack (5), a timeline is trimmed back to its cap: the newest three, newest first
    assert {tuple(timeline.page(f, None, 10)) for f in followers} == {(6, 5, 4)}
