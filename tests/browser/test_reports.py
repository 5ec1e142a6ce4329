"""Reporting and moderating in the browser: a person reports a post from their feed; a moderator (the Cognito group)
finds it in the queue and removes it; a suspension hides the account's profile from everyone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from playwright.sync_api import Page, expect

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
from tests.support import PASSWORD, LocalRuntime

pytestmark = pytest.mark.xdist_group("browser")
People = Callable[..., Person]


def _make_moderator(person: Person, runtime: LocalRuntime) -> None:
    """Into the moderators group (the local runtime's control for the Cognito admin API), then signed in again:
    the group rides in the IdToken."""
    added = requests.post(f"{runtime.base}/_local/moderator", json={"username": person.username}, timeout=30)
    assert added.status_code == 200, added.text
    page = person.page
    page.evaluate("() => localStorage.removeItem('aperture.session')")
    page = person.go("/app/signin")
    page.get_by_label("Username").fill(person.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


def _scan(page: Page, screen: str, found: dict[str, list[str]]) -> None:
    if violations := axe_violations(page):
        found[screen] = violations


def test_a_reported_post_reaches_the_moderators_queue_and_is_removed(people: People, runtime: LocalRuntime) -> None:
    # Given Nora follows Omar, who posted a photo
    omar, nora, mia = people("omar"), people("nora"), people("mia")
    follow_through_the_api(nora, omar)
    # (a photo no other test shares: removing the post puts it on the blocklist of the runtime every test uses)
    post = post_through_the_api(omar, photo_bytes("immunohistochemistry"), "Slide under the microscope")
    runtime.drain()
    found: dict[str, list[str]] = {}
    # When Nora reports it from her feed, for spam
    page = nora.go("/app/")
    article = page.get_by_role("article", name=f"Post by {omar.username}")
    article.get_by_role("button", name=f"Report post by {omar.username}").click()
    dialog = page.get_by_role("dialog", name="Report this post")
    expect(dialog).to_be_visible()
    dialog.get_by_role("radio", name="Spam").check()
    _scan(page, "report dialog (phone)", found)
    screenshot(page, "report-dialog")
    with page.expect_response(lambda r: r.url.endswith("/reports") and r.request.method == "POST") as sent:
        dialog.get_by_role("button", name="Report").click()
    assert sent.value.status == 201
    expect(dialog.get_by_role("status")).to_contain_text("Moderators will review it")
    dialog.get_by_role("button", name="Done").click()
    # Then nobody outside the group has a Moderation link, or the queue
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Moderation")).to_have_count(0)
    assert nora.api("GET", "/admin/reports").status_code == 403
    # And Mia, once a moderator, finds it in the open queue with its preview, at phone and desktop width
    _make_moderator(mia, runtime)
    for layout, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
        mia.page.set_viewport_size(layout["viewport"])  # type: ignore[arg-type]
        page = mia.page
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Moderation").click()
        expect(page.get_by_role("heading", name="Moderation", level=1)).to_be_visible()
        entry = page.get_by_role("article", name=f"Reported post by {omar.username}")
        expect(entry).to_be_visible()
        expect(entry.get_by_role("list", name="Reasons")).to_have_text("Spam")
        expect(entry).to_contain_text("Slide under the microscope")
        wait_for_images(page)
        _scan(page, f"moderation queue ({label})", found)
        screenshot(page, "moderation-queue" if label == "phone" else "moderation-queue-desktop")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Home").click()
    # When she removes it, confirming first
    page = mia.go("/app/moderation")
    entry = page.get_by_role("article", name=f"Reported post by {omar.username}")
    entry.get_by_role("button", name="Remove").click()
    confirm = page.get_by_role("dialog", name="Remove this post?")
    _scan(page, "remove confirmation (desktop)", found)
    screenshot(page, "moderation-remove-confirm")
    confirm.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_contain_text(f"Removed: post by {omar.username}")
    expect(entry).to_have_count(0)
    # Then it is in the resolved tab, and gone for everyone
    page.get_by_role("navigation", name="Queue").get_by_role("link", name="Resolved").click()
    expect(page.get_by_role("article", name=f"Reported post by {omar.username}")).to_contain_text("Removed")
    runtime.drain()
    assert nora.api("GET", f"/posts/{post}").status_code == 404
    page = nora.go(f"/app/p/{post}")
    expect(page.get_by_role("heading", name="This post isn't available")).to_be_visible()
    assert not found, "\n".join(f"{screen}: {v}" for screen, vs in found.items() for v in vs)


def test_a_suspended_account_disappears_for_everyone_until_restored(people: People, runtime: LocalRuntime) -> None:
    # Given Nora reports Omar's profile from its options
    omar, nora, mia = people("omar"), people("nora"), people("mia")
    post_through_the_api(omar, photo_bytes("rocket"), "Launch")
    runtime.drain()
    page = nora.go(f"/app/u/{omar.username}")
    page.get_by_role("button", name=f"More options for {omar.username}").click()
    page.get_by_role("button", name=f"Report {omar.username}").click()
    dialog = page.get_by_role("dialog", name=f"Report {omar.username}")
    dialog.get_by_role("radio", name="Harassment or bullying").check()
    dialog.get_by_role("button", name="Report").click()
    expect(dialog.get_by_role("status")).to_contain_text("Moderators will review it")
    dialog.get_by_role("button", name="Done").click()
    # When Mia, a moderator, suspends him from the queue
    _make_moderator(mia, runtime)
    page = mia.go("/app/moderation")
    entry = page.get_by_role("article", name=f"Reported account by {omar.username}")
    expect(entry.get_by_role("button", name="Remove")).to_have_count(0)  # an account is suspended, not removed
    entry.get_by_role("button", name="Suspend").click()
    confirm = page.get_by_role("dialog", name=f"Suspend {omar.username}?")
    confirm.get_by_role("button", name="Suspend").click()
    expect(page.get_by_role("status")).to_contain_text(f"Suspended the account: {omar.username}.")
    # Then his profile is gone for Nora, and his own session ends at its next request
    page = nora.go(f"/app/u/{omar.username}")
    expect(page.get_by_role("heading", name="This account isn't available")).to_be_visible()
    page = omar.go("/app/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(
        "This account is suspended or being deleted, so it has been signed out."
    )
    # When Mia restores him from the resolved tab, his profile is back
    page = mia.go("/app/moderation?status=resolved")
    entry = page.get_by_role("article", name=f"Reported account by {omar.username}")
    expect(entry).to_contain_text("account suspended")
    entry.get_by_role("button", name="Restore").click()
    page.get_by_role("dialog", name=f"Restore {omar.username}?").get_by_role("button", name="Restore").click()
    expect(entry).not_to_contain_text("account suspended")
    found: dict[str, list[str]] = {}
    _scan(page, "resolved queue (phone)", found)
    screenshot(page, "moderation-resolved")
    page = nora.go(f"/app/u/{omar.username}")
    expect(page.get_by_role("heading", name=omar.username, level=1)).to_be_visible()
    assert not found, found
