"""GET /feed: newest first, cursor pages with no repeats or gaps, vanished posts skipped."""

from __future__ import annotations

from aperture import wiring
from aperture.adapters.aws import client
from aperture.ids import new_id
from aperture.settings import get_settings
from local.pump import EventPump
from local.seeding import Account, publish_post
from tests.support import Api, emulated_distribution, jpeg_bytes, settings_env


def _read_all(api: Api, viewer: Account, limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        query = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = api.call("GET", "/feed", viewer, query_string=query)
        assert page.status_code == 200, page.json
        pages.append([p["post_id"] for p in page.json["items"]])
        cursor = page.json["next_cursor"]
        if cursor is None:
            return pages


def test_pages_walk_the_feed_newest_first_without_repeats_or_gaps(api: Api) -> None:
    # Given bob follows alice and carol, who post in turns
    alice, carol, bob = api.sign_up("alice"), api.sign_up("carol"), api.sign_up("bob")
    for author in (alice, carol):
        api.call("PUT", f"/users/{author.user_id}/follow", bob)
    posted = [publish_post(alice if i % 2 else carol, f"post {i}") for i in range(23)]
    # When bob reads his feed five posts at a time
    pages = _read_all(api, bob, limit=5)
    # Then he sees every post once, newest first, in pages of five
    assert [len(p) for p in pages[:-1]] == [5, 5, 5, 5]
    assert [post for page in pages for post in page] == list(reversed(posted))


def test_posts_made_while_paging_do_not_shift_the_next_page(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    older = [publish_post(alice) for _ in range(6)]
    first = api.call("GET", "/feed", bob, query_string={"limit": 3}).json
    publish_post(alice)  # a new post arrives between page reads
    second = api.call("GET", "/feed", bob, query_string={"limit": 3, "cursor": first["next_cursor"]}).json
    assert [p["post_id"] for p in first["items"] + second["items"]] == list(reversed(older))


def test_a_post_that_vanished_is_skipped_and_the_page_refilled(api: Api) -> None:
    # Given a timeline holding the id of a post that does not exist (deleted after fanout)
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    kept = [publish_post(alice) for _ in range(3)]
    wiring.timeline().push([int(bob.user_id)], new_id())
    # When bob asks for three posts
    page = api.call("GET", "/feed", bob, query_string={"limit": 3}).json
    # Then he gets three real ones
    assert [p["post_id"] for p in page["items"]] == list(reversed(kept))


def test_the_authors_own_posts_are_in_their_feed_and_strangers_are_not(api: Api) -> None:
    alice, stranger = api.sign_up("alice"), api.sign_up("stranger")
    mine = publish_post(alice)
    publish_post(stranger)
    assert [p["post_id"] for p in api.call("GET", "/feed", alice).json["items"]] == [mine]


def test_limits_outside_1_to_50_and_bad_cursors_are_422(api: Api) -> None:
    alice = api.sign_up("alice")
    for query in ({"limit": 0}, {"limit": 51}, {"limit": "x"}, {"cursor": "abc"}, {"order": "random"}):
        response = api.call("GET", "/feed", alice, query_string=query)
        assert response.status_code == 422, query
        assert response.json["error"]["code"] in {"invalid_request", "invalid_cursor"}


def test_a_users_posts_come_newest_first_and_a_deleted_post_is_gone_everywhere(api: Api) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    api.call("PUT", f"/users/{alice.user_id}/follow", bob)
    posts = [publish_post(alice) for _ in range(3)]
    listed = api.call("GET", f"/users/{alice.user_id}/posts", bob, query_string={"limit": 2}).json
    assert [p["post_id"] for p in listed["items"]] == posts[:0:-1]
    assert listed["next_cursor"]
    # Only the author may delete; then the post is gone from the profile, the feed and its own URL
    assert api.call("DELETE", f"/posts/{posts[1]}", bob).status_code == 403
    assert api.call("DELETE", f"/posts/{posts[1]}", alice).status_code == 204
    assert api.call("GET", f"/posts/{posts[1]}", bob).status_code == 404
    assert [p["post_id"] for p in api.call("GET", "/feed", bob).json["items"]] == [posts[2], posts[0]]
    assert api.call("GET", "/me", alice).json["post_count"] == 2
    assert api.call("DELETE", f"/posts/{posts[1]}", alice).status_code == 404


def test_ranked_puts_what_the_viewer_engages_with_first_within_the_same_page(api: Api) -> None:
    # Given a viewer who keeps liking carol's posts, and newer posts from bob
    viewer, bob, carol = api.sign_up("viewer"), api.sign_up("bob"), api.sign_up("carol")
    for author in (bob, carol):
        api.call("PUT", f"/users/{author.user_id}/follow", viewer)
    for old in [publish_post(carol) for _ in range(3)]:
        api.call("PUT", f"/posts/{old}/like", viewer)
    favourite = publish_post(carol)
    newer = [publish_post(bob) for _ in range(2)]
    # When the first page of four is read both ways
    chronological = api.call("GET", "/feed", viewer, query_string={"limit": 4, "order": "chronological"}).json
    ranked = api.call("GET", "/feed", viewer, query_string={"limit": 4, "order": "ranked"}).json
    # Then both hold the same posts and the same cursor; ranked leads with carol's
    assert [p["post_id"] for p in chronological["items"]][:3] == [*newer[::-1], favourite]
    assert {p["post_id"] for p in ranked["items"]} == {p["post_id"] for p in chronological["items"]}
    assert ranked["items"][0]["author"]["user_id"] == carol.user_id
    assert ranked["next_cursor"] == chronological["next_cursor"]


def test_a_deleted_posts_images_are_invalidated_at_the_cdn(api: Api, pump: EventPump) -> None:
    # Given a CDN in front of the images (an emulated CloudFront distribution) and a post with renditions
    cloudfront, distribution = client("cloudfront"), emulated_distribution()
    with settings_env(APERTURE_CDN_DISTRIBUTION_ID=distribution):
        alice = api.sign_up("alice")
        post = publish_post(alice)
        wiring.media_store().write_immutable(f"images/{alice.user_id}/{post}/640.jpg", jpeg_bytes(64, 64), "image/jpeg")
        # When alice deletes it, and the queued invalidation is delivered to cdn_invalidate (outside the VPC)
        assert api.call("DELETE", f"/posts/{post}", alice).status_code == 204
        pump.drain()
    # Then its images are invalidated at the edge (one wildcard path), so they 404 there too within minutes
    listed = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"].get("Items", [])
    paths = [
        cloudfront.get_invalidation(DistributionId=distribution, Id=i["Id"])["Invalidation"]["InvalidationBatch"][
            "Paths"
        ]["Items"]
        for i in listed
    ]
    assert paths == [[f"/images/{alice.user_id}/{post}/*"]]


def test_without_a_cdn_the_queued_invalidation_is_consumed_and_nothing_is_sent(api: Api, pump: EventPump) -> None:
    # Given no distribution configured (the local runtime: its CDN caches nothing) and a post with renditions
    alice = api.sign_up("alice")
    post = publish_post(alice)
    wiring.media_store().write_immutable(f"images/{alice.user_id}/{post}/640.jpg", jpeg_bytes(64, 64), "image/jpeg")
    # When alice deletes it (its cascade deletes the images and queues their prefix) and the pump delivers it all
    assert api.call("DELETE", f"/posts/{post}", alice).status_code == 204
    pump.drain()
    assert list(wiring.media_store().keys_under(f"images/{alice.user_id}/{post}/")) == []
    # Then cdn_invalidate took it off the queue (nothing waits or comes back), having nothing to invalidate
    assert _queued_invalidations() == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


def _queued_invalidations() -> dict[str, str]:
    attributes: dict[str, str] = client("sqs").get_queue_attributes(
        QueueUrl=get_settings().queue_cdn_invalidations,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return attributes
