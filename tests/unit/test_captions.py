"""#tags and @mentions are parsed from captions and comments."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from aperture.captions import caption_hashtags, mentioned_usernames, post_hashtags


def test_mentions_are_found_in_order_once_each() -> None:
    text = "@alice look! cc @bob.smith and @alice again, not mail@example.com or @ab"
    assert mentioned_usernames(text) == ["alice", "bob.smith"]


def test_a_trailing_full_stop_is_not_part_of_the_name() -> None:
    assert mentioned_usernames("thanks @carol.") == ["carol"]


def test_at_most_twenty_mentions_count() -> None:
    assert len(mentioned_usernames(" ".join(f"@user{i:03}" for i in range(30)))) == 20


def test_tags_in_a_caption_are_found_lowercase_in_order_once_each() -> None:
    caption = "Golden hour at the #Beach with #friends_2026 #beach. Not a tag: C# or &#39; or ##double"
    assert caption_hashtags(caption) == ["beach", "friends_2026"]


def test_tags_in_any_script_count_and_past_the_thirtieth_are_ignored() -> None:
    assert caption_hashtags("#café #東京 #наш") == ["café", "東京", "наш"]
    assert caption_hashtags(" ".join(f"#tag{i}" for i in range(40))) == [f"tag{i}" for i in range(30)]


def test_a_post_is_filed_under_the_sent_tags_then_the_captions_new_ones() -> None:
    assert post_hashtags(["Sunset", "sea"], "#sunset over the #SEA and #rocks") == ("Sunset", "sea", "rocks")
    assert post_hashtags([], "no tags here") == ()


@given(st.text(max_size=300))
def test_every_caption_tag_is_a_valid_hashtag_and_appears_in_the_caption(caption: str) -> None:
    for tag in caption_hashtags(caption):
        assert re.fullmatch(r"\w{1,100}", tag)
        assert tag == tag.lower()
        assert f"#{tag}" in caption.lower()
