"""Saving posts in the browser: the Save button on a post, the Saved tab of your own profile, and taking it back."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    DESKTOP,
    PHONE,
    Person,
    axe_violations,
    follow_through_the_api,
    photo_bytes,
    post_through_the_api,
    screenshot,
    wait_for_images,
)
from tests.support import LocalRuntime

pytestmark = pytest.mark.xdist_group("browser")
People = Callable[..., Person]


def test_a_post_saved_from_the_feed_shows_in_the_saved_tab_until_it_is_removed(
    people: People, runtime: LocalRuntime
) -> None:
    # Given Nora follows Omar, who posted two photos
    omar, nora = people("omar"), people("nora")
    follow_through_the_api(nora, omar)
    kept = post_through_the_api(omar, photo_bytes("coffee"), "Morning pour-over")
    post_through_the_api(omar, photo_bytes("rocket"), "Launch pad at dusk")
    runtime.drain()
    found: dict[str, list[str]] = {}
    # When she saves the coffee from her feed
    page = nora.go("/app/")
    article = page.get_by_role("article", name=f"Post by {omar.username}").filter(
        has=page.get_by_role("img", name="Morning pour-over")
    )
    save = article.get_by_role("button", name="Save", exact=True)
    expect(save).to_have_attribute("aria-pressed", "false")
    with page.expect_response(lambda r: r.url.endswith(f"/posts/{kept}/save") and r.request.method == "PUT") as saved:
        save.click()
    assert saved.value.json() == {"saved": True}
    expect(article.get_by_role("button", name="Remove from saved")).to_have_attribute("aria-pressed", "true")
    article.scroll_into_view_if_needed()
    wait_for_images(page)
    screenshot(page, "saved-in-feed")
    # Then her own profile has a Saved tab listing it (and only it), at phone and desktop width
    for layout, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
        nora.page.set_viewport_size(layout["viewport"])  # type: ignore[arg-type]
        page = nora.go(f"/app/u/{nora.username}")
        tabs = page.get_by_role("navigation", name="Profile sections")
        expect(tabs.get_by_role("link", name="Posts")).to_have_attribute("aria-current", "page")
        tabs.get_by_role("link", name="Saved").click()
        expect(page).to_have_url(re.compile(r"\?tab=saved$"))
        expect(tabs.get_by_role("link", name="Saved")).to_have_attribute("aria-current", "page")
        grid = page.get_by_role("list", name="Your saved posts")
        expect(grid.get_by_role("link")).to_have_count(1)
        expect(grid.get_by_role("img", name="Morning pour-over")).to_be_visible()
        wait_for_images(page)
        if violations := axe_violations(page):
            found[f"saved tab ({label})"] = violations
        screenshot(page, "saved" if label == "phone" else "saved-desktop")
    # And nobody else's profile has one
    page = nora.go(f"/app/u/{omar.username}")
    expect(page.get_by_role("list", name=f"Posts by {omar.username}").get_by_role("link")).to_have_count(2)
    expect(page.get_by_role("navigation", name="Profile sections")).to_have_count(0)
    expect(omar.go(f"/app/u/{nora.username}?tab=saved").get_by_role("list", name="Your saved posts")).to_have_count(0)
    # When she opens it from the tab and removes it from saved
    page = nora.go(f"/app/u/{nora.username}?tab=saved")
    page.get_by_role("list", name="Your saved posts").get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(rf"/app/p/{kept}$"))
    remove = page.get_by_role("article").get_by_role("button", name="Remove from saved")
    expect(remove).to_have_attribute("aria-pressed", "true")
    if violations := axe_violations(page):
        found["post, saved (desktop)"] = violations
    remove.click()
    expect(page.get_by_role("article").get_by_role("button", name="Save", exact=True)).to_have_attribute(
        "aria-pressed", "false"
    )
    # Then the Saved tab is empty, and says who can see it
    page.go_back()
    expect(page.get_by_role("heading", name="Nothing saved yet")).to_be_visible()
    expect(page.get_by_text("Only you can see what you've saved.")).to_be_visible()
    assert nora.api("GET", "/me/saved").json()["items"] == []
    assert not found, found
