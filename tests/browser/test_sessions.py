"""Signing out and two-step sign-in in the browser: sign-out ends the session everywhere (the old refresh token is
refused by the API), and an authenticator app set up in Settings is asked for at the next sign-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.helpers import DESKTOP, PHONE, Person, axe_violations, screenshot
from tests.support import PASSWORD, totp_code

pytestmark = pytest.mark.xdist_group("browser")
People = Callable[..., Person]


def _stored_session(person: Person) -> Any:
    return person.page.evaluate("() => JSON.parse(localStorage.getItem('aperture.session'))")


@pytest.mark.parametrize(("layout", "name"), [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_sign_out_ends_the_session_and_the_old_refresh_token_is_refused(
    people: People, layout: dict[str, Any], name: str
) -> None:
    # Given Vera signed in, whose refresh token works
    vera = people("vera", layout)
    refresh_token = _stored_session(vera)["refreshToken"]
    refreshed = requests.post(f"{vera.base}/auth/refresh", json={"refresh_token": refresh_token}, timeout=10)
    assert refreshed.status_code == 200
    # When she opens Settings and presses Sign out (on a phone in Settings, on a desktop in the side bar)
    page = vera.go("/app/settings")
    expect(page.get_by_label("Display name")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Sign out").scroll_into_view_if_needed()
    screenshot(page, f"settings-account-{name}")
    calls = len(vera.api_calls)
    page.get_by_role("button", name="Sign out").click()
    # Then the app shows sign-in, with no message (the sign-out reached the API), and keeps no tokens
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("status")).to_have_count(0)
    assert _stored_session(vera) is None
    assert ("POST", "/auth/signout") in vera.api_calls[calls:]
    assert axe_violations(page) == []
    screenshot(page, f"signed-out-{name}")
    # And the refresh token she held is refused by the API
    refused = requests.post(f"{vera.base}/auth/refresh", json={"refresh_token": refresh_token}, timeout=10)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"


def test_a_sign_out_that_cannot_reach_the_api_still_forgets_the_tokens_and_says_so(people: People) -> None:
    # Given Walt signed in, and the API's sign-out unreachable
    walt = people("walt")
    page = walt.go("/app/settings")
    expect(page.get_by_label("Display name")).to_be_visible()
    page.route("**/auth/signout", lambda route: route.abort())
    # When he signs out
    page.get_by_role("button", name="Sign out").click()
    # Then this browser is signed out anyway, and he is told his other sessions may still be on
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("your other sessions could not be ended")
    assert _stored_session(walt) is None


@pytest.mark.parametrize(("layout", "name"), [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_an_authenticator_set_up_in_settings_is_asked_for_at_the_next_sign_in(
    people: People, layout: dict[str, Any], name: str
) -> None:
    # Given Xena in Settings, setting up an authenticator app
    xena = people("xena", layout)
    page = xena.go("/app/settings")
    page.get_by_role("button", name="Set up an authenticator app").click()
    key = page.get_by_label("Authenticator key")
    expect(key).to_be_visible()
    secret = key.inner_text().replace(" ", "")
    assert (
        page.get_by_role("link", name="open it in the app")
        .get_attribute("href", timeout=5_000)
        .startswith("otpauth://totp/")
    )
    assert axe_violations(page) == []
    page.get_by_role("heading", name="Two-step sign-in").evaluate("h => h.scrollIntoView({block: 'start'})")
    screenshot(page, f"two-step-setup-{name}")
    # When she types a wrong code, then the one her app shows
    page.get_by_label("Code from the app").fill("000000" if totp_code(secret) != "000000" else "111111")
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("alert")).to_contain_text("does not match")
    page.get_by_label("Code from the app").fill(totp_code(secret))
    page.get_by_role("button", name="Turn on").click()
    # Then two-step sign-in is on
    expect(page.get_by_role("status").filter(has_text="Two-step sign-in is on")).to_be_visible()
    page.get_by_role("heading", name="Two-step sign-in").evaluate("h => h.scrollIntoView({block: 'start'})")
    screenshot(page, f"two-step-on-{name}")
    # And after signing out, her password alone does not sign her in: the app asks for the code
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Username").fill(xena.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, f"two-step-code-{name}")
    page.get_by_label("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    assert xena.api("GET", "/me").json()["username"] == xena.username
