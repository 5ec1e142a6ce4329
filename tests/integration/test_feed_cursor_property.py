"""Property: walking the feed with its cursor never repeats a post and never skips one, whatever happens meanwhile."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.pump import EventPump
from local.seeding import publish_post
from tests.support import Api

# Between two page reads: a followee posts, a post is deleted, someone is followed or unfollowed.
Op = st.one_of(
    st.tuples(st.just("post"), st.integers(0, 2)),
    st.tuples(st.just("delete"), st.integers(0, 50)),
    st.tuples(st.just("follow"), st.integers(1, 2)),
    st.tuples(st.just("unfollow"), st.integers(1, 2)),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    initial=st.lists(st.integers(0, 2), min_size=3, max_size=12),
    limit=st.integers(1, 4),
    between=st.lists(st.lists(Op, max_size=3), min_size=1, max_size=6),
)
def test_no_repeat_and_no_gap_under_concurrent_changes(
    api: Api, pump: EventPump, initial: list[int], limit: int, between: list[list[tuple[str, int]]]
) -> None:
    # Given a viewer following authors 0 and 1 (author 2 is a stranger until followed), and some posts
    viewer = api.sign_up("viewer")
    authors = [api.sign_up("author") for _ in range(3)]
    followed = {0, 1}
    for index in followed:
        api.call("PUT", f"/users/{authors[index].user_id}/follow", viewer)
    api.call("GET", "/feed", viewer)  # active, so fanout reaches the viewer
    posts: list[tuple[str, int]] = [(publish_post(authors[a]), a) for a in initial]
    pump.drain()  # fanout jobs run, as they would between requests
    # When the viewer walks the feed while the world changes between pages
    seen: list[str] = []
    deleted: set[str] = set()
    unfollowed_during: set[int] = set()
    at_start = {p for p, a in posts if a in followed}
    cursor = None
    for step in [*between, []]:
        query = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = api.call("GET", "/feed", viewer, query_string=query)
        assert page.status_code == 200, page.json
        seen += [p["post_id"] for p in page.json["items"]]
        cursor = page.json["next_cursor"]
        for kind, value in step:
            if kind == "post":
                posts.append((publish_post(authors[value]), value))
            elif kind == "delete" and posts:
                post_id, author = posts[value % len(posts)]
                api.call("DELETE", f"/posts/{post_id}", authors[author])
                deleted.add(post_id)
            elif kind in {"follow", "unfollow"}:
                method = "PUT" if kind == "follow" else "DELETE"
                api.call(method, f"/users/{authors[value].user_id}/follow", viewer)
                if kind == "unfollow":
                    unfollowed_during.add(value)
        pump.drain()
        if cursor is None:
            break
    while cursor:  # read to the end
        page = api.call("GET", "/feed", viewer, query_string={"limit": limit, "cursor": cursor}).json
        seen += [p["post_id"] for p in page["items"]]
        cursor = page["next_cursor"]
    # Then nothing repeats, and every post there from the start, still there and still followed, was seen
    assert len(seen) == len(set(seen))
    author_of = dict(posts)
    expected = {p for p in at_start if p not in deleted and author_of[p] not in unfollowed_during}
    assert expected <= set(seen), sorted(expected - set(seen))
    # And what was seen is newest first
    assert seen == sorted(seen, key=int, reverse=True)
