"""A carousel in the browser: three photos with alt texts from the upload dialog, then moving through them in a
follower's feed with the buttons and a swipe."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, expect

from tests.browser.helpers import (
    DESKTOP,
    PHONE,
    PROCESSED_MS,
    Person,
    axe_violations,
    follow_through_the_api,
    photo_file,
    screenshot,
    wait_for_images,
)
from tests.support import LocalRuntime

pytestmark = pytest.mark.xdist_group("browser")
People = Callable[..., Person]

ALTS = ["A cup of coffee on a saucer", "An astronaut in front of a flag", "A rocket on its launch pad"]


def _swipe(carousel: Locator, dx: int) -> None:
    """A finger moving sideways across the photo (pointer events, as a touch screen sends them)."""
    box = carousel.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    touch = {"pointerType": "touch", "isPrimary": True, "pointerId": 7}
    carousel.dispatch_event("pointerdown", {**touch, "clientX": x, "clientY": y})
    carousel.dispatch_event("pointerup", {**touch, "clientX": x + dx, "clientY": y + 4})


def test_a_three_photo_carousel_is_shared_with_alt_texts_and_browsed_by_a_follower(
    people: People, runtime: LocalRuntime, tmp_path: Path
) -> None:
    ann, bob = people("ann"), people("bob")
    follow_through_the_api(bob, ann)
    found: dict[str, list[str]] = {}
    # Given Ann chooses three photos in the upload dialog, and writes alt text for each
    page = ann.page
    page.get_by_role("button", name="New post").click()
    dialog = page.get_by_role("dialog", name="New post")
    files = [photo_file(tmp_path, f"{s}.jpg", s) for s in ("coffee", "astronaut", "rocket")]
    dialog.get_by_label("Photo (or up to 10 photos)").set_input_files(files)
    chosen = dialog.get_by_role("list", name="3 photos chosen")
    expect(chosen.get_by_role("img")).to_have_count(3)
    for index, alt in enumerate(ALTS, start=1):
        dialog.get_by_label(f"Alt text, image {index}").fill(alt)
    dialog.get_by_label("Caption").fill("Mission day #space")
    if violations := axe_violations(page):
        found["upload dialog"] = violations
    screenshot(page, "carousel-upload")
    # When she shares it, on a slow uplink
    ann.slow_uploads(96 * 1024)
    dialog.get_by_role("button", name="Share").click()
    # Then each photo goes to its own presigned POST, one progress bar counting the bytes of all three
    expect(dialog.get_by_role("status").filter(has_text="Sending your 3 photos")).to_have_count(1)
    expect(dialog.get_by_role("progressbar", name="Upload progress")).to_be_visible()
    page.wait_for_function(
        "() => { const p = document.querySelector('progress'); return p && p.value > 40 && p.value < 100 }"
    )
    page.wait_for_url(re.compile(r"/app/p/\d+$"), timeout=PROCESSED_MS)
    post_id = page.url.rsplit("/", 1)[1]
    # (published is not yet fanned out: the pump delivers what is left before Bob's feed loads)
    runtime.drain()
    # (Bob's browser asks for reduced motion: slides move at once, so a screenshot never catches one half way)
    bob.page.emulate_media(reduced_motion="reduce")
    # Then Bob's feed shows it once, every photo with its alt text, at phone and desktop width
    for layout, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
        bob.page.set_viewport_size(layout["viewport"])  # type: ignore[arg-type]
        feed = bob.go("/app/")
        article = feed.get_by_role("article", name=f"Post by {ann.username}")
        expect(article).to_have_count(1)
        carousel = article.get_by_role("group", name="3 photos")
        images = carousel.locator("img")
        expect(images).to_have_count(3)
        assert [images.nth(i).get_attribute("alt") for i in range(3)] == ALTS
        dots = carousel.get_by_role("list")
        expect(dots).to_have_attribute("aria-label", "Photo 1 of 3")
        expect(carousel.get_by_role("button", name=re.compile("Previous photo"))).to_have_count(0)
        # When he moves on with the Next button
        carousel.get_by_role("button", name="Next photo (2 of 3)").click()
        # Then the second photo shows, and the dots say where he is
        expect(dots).to_have_attribute("aria-label", "Photo 2 of 3")
        expect(carousel.get_by_role("group", name="Photo 2 of 3")).not_to_have_attribute("aria-hidden", "true")
        expect(carousel.get_by_role("button", name="Previous photo (1 of 3)")).to_be_visible()
        wait_for_images(feed)
        if violations := axe_violations(feed):
            found[f"feed ({label})"] = violations
        screenshot(feed, "carousel" if label == "phone" else "carousel-desktop")
        # When he swipes left, then right
        _swipe(carousel, -120)
        expect(dots).to_have_attribute("aria-label", "Photo 3 of 3")
        expect(carousel.get_by_role("button", name=re.compile("Next photo"))).to_have_count(0)
        _swipe(carousel, 120)
        expect(dots).to_have_attribute("aria-label", "Photo 2 of 3")
        # And from the keyboard, the Next button that reaches the last photo hands focus to Previous
        carousel.get_by_role("button", name="Next photo (3 of 3)").focus()
        feed.keyboard.press("Enter")
        expect(dots).to_have_attribute("aria-label", "Photo 3 of 3")
        expect(carousel.get_by_role("button", name="Previous photo (2 of 3)")).to_be_focused()
        feed.keyboard.press("Enter")
        expect(dots).to_have_attribute("aria-label", "Photo 2 of 3")
        # And a swipe is not a like
        expect(article.get_by_role("button", name="Like", exact=True)).to_have_attribute("aria-pressed", "false")
    # And Ann's grid marks the post as three photos, and its own page shows the same carousel
    page = bob.go(f"/app/u/{ann.username}")
    tile = page.get_by_role("list", name=f"Posts by {ann.username}").get_by_role("link", name=re.compile(", 3 photos$"))
    expect(tile).to_be_visible()
    wait_for_images(page)
    if violations := axe_violations(page):
        found["profile grid (desktop)"] = violations
    screenshot(page, "carousel-grid")
    tile.click()
    expect(page).to_have_url(re.compile(rf"/app/p/{post_id}$"))
    expect(page.get_by_role("article").get_by_role("group", name="3 photos").locator("img")).to_have_count(3)
    assert not found, found
