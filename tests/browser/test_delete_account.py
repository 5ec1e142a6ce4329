"""Deleting your account from Settings: a dialog that says what goes and asks for the password; a wrong one deletes
nothing; the right one signs you out to the sign-in screen, and your profile is gone for everyone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import DESKTOP, PHONE, Person, axe_violations, photo_bytes, post_through_the_api, screenshot
from tests.support import PASSWORD, LocalRuntime

pytestmark = pytest.mark.xdist_group("browser")
People = Callable[..., Person]


@pytest.mark.parametrize(("layout", "name"), [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_deleting_your_account_asks_for_the_password_then_signs_you_out_and_the_profile_is_gone(
    people: People, runtime: LocalRuntime, layout: dict[str, Any], name: str
) -> None:
    # Given Erin has posted, and Bob can see her profile
    erin, bob = people("erin", layout), people("bob")
    post_through_the_api(erin, photo_bytes("coffee"), "Erin's coffee")
    runtime.drain()
    assert bob.api("GET", f"/users/{erin.username}").status_code == 200
    # When she opens Settings and asks to delete her account
    page = erin.go("/app/settings")
    page.get_by_role("button", name="Delete account…").click()
    dialog = page.get_by_role("dialog", name="Delete your account?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_text("This cannot be undone.")).to_be_visible()
    password = dialog.get_by_label("Your password")
    assert axe_violations(page) == []
    screenshot(page, f"delete-account-dialog-{name}")
    # Then a wrong password deletes nothing, and says so
    password.fill("not-my-password-9")
    dialog.get_by_role("button", name="Delete my account").click()
    expect(dialog.get_by_role("alert")).to_have_text("That is not your password. Nothing was deleted.")
    assert bob.api("GET", f"/users/{erin.username}").status_code == 200
    # When she gives the right one
    password.fill(PASSWORD)
    dialog.get_by_role("button", name="Delete my account").click()
    # Then she is signed out to the sign-in screen, which says what happened
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_text("Your account has been deleted.")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, f"delete-account-signed-out-{name}")
    # And her profile is gone for Bob at once, and stays gone once the erasure has run
    assert bob.api("GET", f"/users/{erin.username}").status_code == 404
    runtime.drain()
    assert bob.api("GET", f"/users/{erin.username}").status_code == 404
