"""Muting from a profile: the account's posts leave your feed, the profile says so, unmuting brings them back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
)
from tests.support import LocalRuntime

pytestmark = pytest.mark.xdist_group("browser")
People = Callable[..., Person]


@pytest.mark.parametrize(("layout", "name"), [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_muting_from_a_profile_takes_their_posts_out_of_the_feed_and_unmuting_brings_them_back(
    people: People, runtime: LocalRuntime, layout: dict[str, Any], name: str
) -> None:
    # Given Rosa follows Nico and Tess, who have each posted
    rosa, nico, tess = people("rosa", layout), people("nico"), people("tess")
    for followee in (nico, tess):
        follow_through_the_api(rosa, followee)
    post_through_the_api(nico, photo_bytes("astronaut"), "Nico's launch")
    post_through_the_api(tess, photo_bytes("coffee"), "Tess's coffee")
    runtime.drain()
    page = rosa.go("/app/")
    expect(page.get_by_role("article", name=f"Post by {nico.username}")).to_be_visible()
    # When she opens Nico's profile, its options, and mutes him
    page = rosa.go(f"/app/u/{nico.username}")
    options = page.get_by_role("button", name=f"More options for {nico.username}")
    expect(options).to_have_attribute("aria-expanded", "false")
    options.click()
    expect(options).to_have_attribute("aria-expanded", "true")
    mute = page.get_by_role("button", name=f"Mute {nico.username}", exact=True)
    expect(mute).to_be_focused()  # the panel opens onto its first choice, for the keyboard
    expect(mute).to_have_accessible_description(
        "Their posts and stories leave your feed and stories tray. They won't be told."
    )
    assert axe_violations(page) == []
    screenshot(page, f"mute-options-{name}")
    mute.click()
    # Then the profile says so (the follow stands), the panel closes and focus returns to its button
    muted_note = page.get_by_role("status").filter(has_text=f"Muted: {nico.username}'s posts and stories")
    expect(muted_note).to_be_visible()
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()
    expect(options).to_have_attribute("aria-expanded", "false")
    expect(options).to_be_focused()
    assert axe_violations(page) == []
    screenshot(page, f"mute-profile-muted-{name}")
    # And his post has left her feed, while Tess's stays
    page = rosa.go("/app/")
    expect(page.get_by_role("article", name=f"Post by {tess.username}")).to_be_visible()
    expect(page.get_by_role("article", name=f"Post by {nico.username}")).to_have_count(0)
    # When she unmutes him from the same place, his post is back
    page = rosa.go(f"/app/u/{nico.username}")
    page.get_by_role("button", name=f"More options for {nico.username}").click()
    page.get_by_role("button", name=f"Unmute {nico.username}", exact=True).click()
    expect(page.get_by_text(f"Muted: {nico.username}'s posts")).to_have_count(0)
    page.get_by_role("button", name=f"More options for {nico.username}").click()
    expect(page.get_by_role("button", name=f"Mute {nico.username}", exact=True)).to_be_visible()
    page = rosa.go("/app/")
    expect(page.get_by_role("article", name=f"Post by {nico.username}")).to_be_visible()
    # And Nico, muted and unmuted, was told nothing (his only notification is Rosa's follow)
    runtime.drain()
    assert [n["type"] for n in nico.api("GET", "/notifications").json()["items"]] == ["follow"]
