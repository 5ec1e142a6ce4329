"""A private account in the browser: its owner turns it on in Settings, someone asks to follow from the profile, the
owner approves from the follow-requests screen, and the requester then sees the posts."""

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
    photo_bytes,
    post_through_the_api,
    screenshot,
)
from tests.support import LocalRuntime

pytestmark = pytest.mark.xdist_group("browser")
People = Callable[..., Person]


@pytest.mark.parametrize(("layout", "name"), [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_a_private_account_approves_a_follow_request_and_the_requester_then_sees_its_posts(
    people: People, runtime: LocalRuntime, layout: dict[str, Any], name: str
) -> None:
    # Given Ana has a post
    ana, ben = people("ana", layout), people("ben", layout)
    post_through_the_api(ana, photo_bytes("astronaut"), "Ana's launch")
    runtime.drain()
    # When she turns on "Private account" in Settings and saves
    page = ana.go("/app/settings")
    toggle = page.get_by_role("checkbox", name="Private account")
    expect(toggle).not_to_be_checked()
    toggle.check()
    assert axe_violations(page) == []
    screenshot(page, f"private-settings-{name}")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    # Then Ben, who does not follow her, sees her profile and counts but not her posts
    page = ben.go(f"/app/u/{ana.username}")
    expect(page.get_by_role("heading", name="This account is private")).to_be_visible()
    expect(page.get_by_text("1 post", exact=True)).to_be_visible()
    expect(page.get_by_role("list", name=f"Posts by {ana.username}")).to_have_count(0)
    # When he asks to follow her
    page.get_by_role("button", name="Request to follow").click()
    # Then the button says Requested (and withdraws the request if pressed), and the profile says so
    expect(page.get_by_role("button", name="Requested: withdraw your follow request")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Requested:")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, f"private-profile-requested-{name}")
    # When Ana opens her notifications, follows the request's link and approves Ben
    runtime.drain()
    page = ana.go("/app/notifications")
    page.get_by_role("link", name="asked to follow you.").click()
    expect(page.get_by_role("heading", name="Follow requests")).to_be_visible()
    requests = page.get_by_role("list", name="Pending follow requests")
    expect(requests.get_by_role("link", name=ben.username)).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, f"private-follow-requests-{name}")
    page.get_by_role("button", name=f"Approve {ben.username}").click()
    expect(page.get_by_role("status").filter(has_text=f"{ben.username} now follows you.")).to_be_visible()
    expect(page.get_by_role("button", name=f"Approve {ben.username}")).to_have_count(0)
    # Then Ben sees her posts on her profile and in his feed, and was told she accepted
    runtime.drain()
    page = ben.go(f"/app/u/{ana.username}")
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()
    expect(page.get_by_role("list", name=f"Posts by {ana.username}").get_by_role("listitem")).to_have_count(1)
    page = ben.go("/app/")
    expect(page.get_by_role("article", name=f"Post by {ana.username}")).to_be_visible()
    assert [n["type"] for n in ben.api("GET", "/notifications").json()["items"]] == ["follow_accepted"]
