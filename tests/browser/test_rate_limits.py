"""A person who comments too often is told so in plain words, with how long to wait (a real 429 from the API)."""
# (Its own platform, with a comment limit of two an hour: the third waits 30 minutes.)

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    DESKTOP,
    PHONE,
    Person,
    axe_violations,
    photo_bytes,
    post_through_the_api,
    screenshot,
)
from tests.support import LocalRuntime

pytestmark = pytest.mark.xdist_group("browser")
People = Callable[..., Person]
COMMENTS_PER_HOUR = 2


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    """A platform of this module's own whose comment limit a person reaches in a few clicks (the default, 60 per
    10 minutes, refills one every 10 s: faster than a browser test could count on)."""
    platform = LocalRuntime(APERTURE_SCHEDULES="manual", APERTURE_LIMIT_COMMENTS=f"{COMMENTS_PER_HOUR}/3600")
    yield platform
    assert platform.stop() == 0, platform.output


def test_the_comment_past_the_limit_says_to_slow_down_and_when_to_try_again(
    people: People, runtime: LocalRuntime
) -> None:
    emma, finn = people("emma"), people("finn")
    post_id = post_through_the_api(emma, photo_bytes("coffee"), "Flat white")
    runtime.drain()
    # Given finn has commented as often as the limit allows in an hour
    for n in range(COMMENTS_PER_HOUR):
        sent = finn.api("POST", f"/posts/{post_id}/comments", json={"text": f"again {n}"})
        assert sent.status_code == 201, sent.text
    found: dict[str, list[str]] = {}
    for layout, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
        finn.page.set_viewport_size(layout["viewport"])  # type: ignore[arg-type]
        page = finn.go(f"/app/p/{post_id}")
        # When he writes one more
        page.get_by_label("Add a comment").fill(f"One more ({label})")
        page.get_by_role("button", name="Post", exact=True).click()
        # Then he is told he is doing that too often, and when to try again; the comment is not there
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text(re.compile(r"You're doing that too often; try again in 30 min\."))
        expect(page.get_by_text(f"One more ({label})", exact=True)).to_have_count(0)
        if violations := axe_violations(page):
            found[label] = violations
        screenshot(page, "rate-limited" if label == "phone" else "rate-limited-desktop")
    assert found == {}
    assert emma.api("GET", f"/posts/{post_id}").json()["comment_count"] == COMMENTS_PER_HOUR
