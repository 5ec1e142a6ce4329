"""The activity log's one line format (aperture.activity: to_line / from_line) and a record's day partition."""

from __future__ import annotations

import datetime
import math

from hypothesis import given
from hypothesis import strategies as st

from aperture.activity import Engagement, Impression, day, from_line, to_line

IDS = st.integers(min_value=0, max_value=2**63 - 1)
MS = st.integers(min_value=0, max_value=4_102_444_800_000)  # to 2100


@given(IDS, IDS, IDS, MS, st.dictionaries(st.text(min_size=1), st.floats(allow_nan=False), max_size=4))
def test_an_impression_reads_back_as_it_was_written(
    viewer: int, post: int, author: int, at: int, features: dict[str, float]
) -> None:
    shown = Impression("feed", viewer, post, author, 3, at, "m1", features, "req-1")
    assert from_line(to_line(shown)) == shown
    assert from_line(to_line(shown).encode()) == shown


def test_an_engagement_and_a_feature_value_only_the_standard_reader_accepts_read_back() -> None:
    opened = Engagement("profile_open", viewer_id=1, author_id=2, at=1_800_000_000_000)
    assert from_line(to_line(opened)) == opened
    odd = from_line(to_line(Impression("explore", 1, 2, 3, 0, 5, "m1", {"score": math.nan, "inf": math.inf})))
    assert isinstance(odd, Impression) and math.isnan(odd.features["score"]) and odd.features["inf"] == math.inf


@given(st.integers(min_value=-(10**13), max_value=10**14))
def test_a_records_day_is_its_utc_date(at: int) -> None:
    expected = datetime.datetime.fromtimestamp(at / 1000, tz=datetime.UTC).date().isoformat()
    assert day(at) == expected
