"""Search's folding and the index's member encoding: what makes "ZOË" find "Zoë" and keeps members compact."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aperture.adapters.redis_store.search import MAX_NAME_BYTES, cut, decode_id, encode_id, member, root_of
from aperture.search import fold, tag_query


def test_folding_ignores_case_accents_and_compatibility_forms() -> None:
    assert fold("Zoë") == fold("ZOE") == fold("zoé") == "zoe"
    assert fold("Ñandú Álvarez") == "nandu alvarez"
    assert fold("Straße") == "strasse"  # casefold, not lower
    assert fold("\uff3a\uff4f\uff45") == "zoe"  # fullwidth letters (NFKD)
    assert fold("ﬁlm") == "film"  # a ligature
    assert fold("\u0301") == ""  # a lone combining mark


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_ids_round_trip_through_their_fixed_width_base_62(user_id: int) -> None:
    encoded = encode_id(user_id)
    assert len(encoded) == 11 and decode_id(encoded) == user_id


@given(st.text(min_size=1, max_size=200))
def test_a_member_stays_within_the_compact_encodings_64_bytes_and_keeps_its_name_prefix(name: str) -> None:
    entry = member(name, 2**63)
    assert len(entry.encode()) <= MAX_NAME_BYTES + 12 <= 64
    assert name.startswith(entry.split("\x00")[0])
    assert root_of(cut(name)) == cut(name)[:3]


def test_a_shorter_name_sorts_before_the_longer_ones_it_starts() -> None:
    assert member("ann", 99) < member("anna", 1) < member("annb", 1)


def test_hashtag_queries_are_tags_as_stored_or_nothing() -> None:
    assert tag_query("#SunSet") == "sunset"
    assert tag_query("café") == "café"
    assert tag_query("#") is None
    assert tag_query("two words") is None
