"""@mentions are parsed from comment text."""

from __future__ import annotations

from aperture.comments import mentioned_usernames


def test_mentions_are_found_in_order_once_each() -> None:
    text = "@alice look! cc @bob.smith and @alice again, not mail@example.com or @ab"
    assert mentioned_usernames(text) == ["alice", "bob.smith"]


def test_a_trailing_full_stop_is_not_part_of_the_name() -> None:
    assert mentioned_usernames("thanks @carol.") == ["carol"]


def test_at_most_twenty_mentions_count() -> None:
    assert len(mentioned_usernames(" ".join(f"@user{i:03}" for i in range(30)))) == 20
