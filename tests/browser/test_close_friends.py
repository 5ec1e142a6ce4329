"""Close friends in the browser: the list in Settings, a story shared with close friends from the upload dialog, seen
by a friend (green ring, labelled in the viewer) and by nobody else."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    DESKTOP,
    Person,
    axe_violations,
    drained_until,
    follow_through_the_api,
    in_the_tray,
    photo_file,
    screenshot,
)
from tests.support import LocalRuntime

pytestmark = pytest.mark.xdist_group("browser")
People = Callable[..., Person]


def test_a_close_friends_story_is_seen_by_a_friend_and_by_nobody_else(
    people: People, runtime: LocalRuntime, tmp_path: Path
) -> None:
    # Given Wren, followed by Xavi and Yara
    wren, xavi, yara = people("wren"), people("xavi"), people("yara")
    for follower in (xavi, yara):
        follow_through_the_api(follower, wren)
    found: dict[str, list[str]] = {}
    # When she adds Xavi to her close friends from Settings
    page = wren.go("/app/settings")
    page.get_by_role("link", name=re.compile("^Close friends")).click()
    expect(page.get_by_role("heading", name="Close friends")).to_be_visible()
    page.get_by_label("Add by username").fill(xavi.username)
    page.get_by_role("button", name="Add", exact=True).click()
    listed = page.get_by_role("list", name="Your close friends")
    expect(listed.get_by_role("link", name=xavi.username)).to_be_visible()
    expect(page.get_by_role("button", name=f"Remove {xavi.username} from close friends")).to_be_visible()
    if violations := axe_violations(page):
        found["close friends (phone)"] = violations
    screenshot(page, "close-friends-phone")
    # And shares a story with close friends from the upload dialog
    page.get_by_role("button", name="New post").click()
    page.get_by_role("dialog", name="New post").get_by_text("Story", exact=True).click()
    dialog = page.get_by_role("dialog", name="New story")
    audience = dialog.get_by_role("group", name="Who can see it")
    expect(audience.get_by_role("radio", name="Everyone")).to_be_checked()
    audience.get_by_text("Close friends", exact=True).click()
    expect(audience.get_by_role("radio", name="Close friends")).to_be_checked()
    dialog.get_by_label("Photo").set_input_files(photo_file(tmp_path, "story.jpg", "astronaut"))
    if violations := axe_violations(page):
        found["upload dialog, audience (phone)"] = violations
    screenshot(page, "close-friends-upload-phone")
    dialog.get_by_role("button", name="Share").click()
    expect(dialog).to_be_hidden(timeout=60_000)
    drained_until(runtime, in_the_tray(xavi, wren))
    # Then Xavi's tray shows her ring green, and the viewer labels the story
    page = xavi.go("/app/")
    ring = page.get_by_role("button", name=f"Story by {wren.username}, close friends, unseen")
    expect(ring.locator(".ring-close")).to_have_count(1)
    screenshot(page, "close-friends-tray-phone")
    ring.click()
    viewer = page.get_by_role("dialog", name=f"Stories by {wren.username}")
    expect(viewer.get_by_text("Close friends", exact=True)).to_be_visible()
    viewer.get_by_role("button", name="Pause").click()
    if violations := axe_violations(page):
        found["story viewer, close friends (phone)"] = violations
    screenshot(page, "close-friends-story-phone")
    # And Yara, not on the list, sees no story of hers at all
    page = yara.go("/app/")
    expect(page.get_by_role("button", name="Your story: add one")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(f"^Story by {wren.username}"))).to_have_count(0)
    # And when Wren removes Xavi (at desktop width), the story leaves his tray
    wren.page.set_viewport_size(DESKTOP["viewport"])  # type: ignore[arg-type]
    page = wren.go("/app/settings/close-friends")
    page.get_by_role("button", name=f"Remove {xavi.username} from close friends").click()
    expect(page.get_by_role("status")).to_have_text(f"Removed {xavi.username} from your close friends.")
    if violations := axe_violations(page):
        found["close friends (desktop)"] = violations
    screenshot(page, "close-friends-desktop")
    page = xavi.go("/app/")
    expect(page.get_by_role("button", name="Your story: add one")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(f"^Story by {wren.username}"))).to_have_count(0)
    assert found == {}
    assert not wren.undeclared_calls() and not xavi.undeclared_calls()
