"""The soak's memory by owner: allocations made by our code count as ours, whatever the standard library did."""

from __future__ import annotations

import tracemalloc

from aperture.activity import Engagement, to_line
from local import memory


def test_bytes_our_code_allocated_are_counted_as_ours_and_nothing_without_tracing() -> None:
    assert memory.by_owner() is None
    try:
        before = memory.by_owner(start=True)
        assert before is not None and tracemalloc.is_tracing()
        # json.dumps (the standard library) allocates the strings, called from aperture.activity: ours
        kept = [to_line(Engagement("like", viewer_id=n, author_id=1, at=n, post_id=n)) for n in range(2_000)]
        after = memory.by_owner()
        assert after is not None
        assert after["aperture"] - before["aperture"] >= sum(len(line) for line in kept)
        assert after["moto"] - before["moto"] < after["aperture"] - before["aperture"]
    finally:
        tracemalloc.stop()
