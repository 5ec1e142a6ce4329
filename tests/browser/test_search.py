"""Search in the browser: typing part of a name (another case, no accents) finds the person and opens their profile;
typing the start of a tag opens its page, Recent and Top; a caption's #tag links there too."""

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
    photo_bytes,
    post_through_the_api,
    screenshot,
    wait_for_images,
)
from tests.support import LocalRuntime

pytestmark = pytest.mark.xdist_group("browser")
People = Callable[..., Person]


def test_people_and_hashtags_are_found_as_you_type_and_open_their_pages(people: People, runtime: LocalRuntime) -> None:
    # Given Zoë Álvarez, who posted a photo captioned with #GoldenHour, and Finn, who looks for her
    zoe, finn = people("zoe"), people("finn")
    assert zoe.api("PATCH", "/me", json={"display_name": "Zoë Álvarez"}).status_code == 200
    post = post_through_the_api(zoe, photo_bytes("coffee"), "Evening light #GoldenHour")
    runtime.drain()
    found: dict[str, list[str]] = {}
    for layout, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
        finn.page.set_viewport_size(layout["viewport"])  # type: ignore[arg-type]
        # When he opens Search from the navigation and types her name in capitals without its accents
        page = finn.go("/app/")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Search").click()
        expect(page).to_have_url(re.compile(r"/app/search$"))
        page.get_by_role("searchbox", name="Search people and hashtags").fill("ZOE ALV")
        # Then she is the one person found, with her display name
        results = page.get_by_role("list", name="People found")
        expect(results.get_by_role("link")).to_have_count(1)
        expect(results.get_by_role("link")).to_contain_text(zoe.username)
        expect(results.get_by_role("link")).to_contain_text("Zoë Álvarez")
        if violations := axe_violations(page):
            found[f"search ({label})"] = violations
        screenshot(page, "search-people" if label == "phone" else "search-people-desktop")
    # And the result opens her profile
    results.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/app/u/{zoe.username}$"))
    # When he types the start of the tag instead
    page = finn.go("/app/search")
    page.get_by_role("searchbox", name="Search people and hashtags").fill("#gold")
    tags = page.get_by_role("list", name="Hashtags found")
    expect(tags.get_by_role("link")).to_have_count(1)
    expect(tags.get_by_role("link")).to_contain_text("#goldenhour")
    expect(tags.get_by_role("link")).to_contain_text("1 post")
    tags.get_by_role("link").click()
    # Then the tag's page shows her post under Recent, and under Top
    expect(page).to_have_url(re.compile(r"/app/tags/goldenhour$"))
    expect(page.get_by_role("heading", name="#goldenhour")).to_be_visible()
    grid = page.get_by_role("list", name="Recent posts with #goldenhour")
    expect(grid.get_by_role("link")).to_have_count(1)
    page.get_by_role("navigation", name="Hashtag order").get_by_role("link", name="Top").click()
    expect(page).to_have_url(re.compile(r"\?order=top$"))
    top = page.get_by_role("list", name="Top posts with #goldenhour")
    expect(top.get_by_role("link")).to_have_count(1)
    for layout, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
        finn.page.set_viewport_size(layout["viewport"])  # type: ignore[arg-type]
        wait_for_images(page)
        if violations := axe_violations(page):
            found[f"hashtag page ({label})"] = violations
        screenshot(page, "hashtag" if label == "phone" else "hashtag-desktop")
    # And the caption's #tag on the post links to the same page
    page = finn.go(f"/app/p/{post}")
    page.get_by_role("article").get_by_role("link", name="#GoldenHour").click()
    expect(page).to_have_url(re.compile(r"/app/tags/goldenhour$"))
    assert not found, found
