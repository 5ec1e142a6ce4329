"""The app around the posts: sessions, errors and retries, layouts, the keyboard, settings, and an axe-core scan
of every screen at phone and desktop width (the tour also writes the screenshots in docs/screenshots)."""

from __future__ import annotations

import re
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


def scan(page: Page, screen: str, found: dict[str, list[str]]) -> None:
    violations = axe_violations(page)
    if violations:
        found[screen] = violations


def test_every_screen_passes_axe_at_phone_and_desktop_width(people: People, runtime: LocalRuntime) -> None:
    # A small world: two photographers who follow each other, posts with likes and comments, a story, and a third
    # whom Leo does not follow, for his explore page
    maya, leo, ivy = people("maya", exact=True), people("leo", exact=True), people("ivy", exact=True)
    follow_through_the_api(leo, maya)
    follow_through_the_api(maya, leo)
    shots = [
        ("coffee", "Flat white, second of the day #coffee"),
        ("chelsea", "She owns the sofa now"),
        ("astronaut", "Suit fitting, day one #space"),
    ]
    posts = [post_through_the_api(maya, photo_bytes(subject), caption) for subject, caption in shots]
    post_through_the_api(leo, photo_bytes("rocket"), "Launch day #space")
    post_through_the_api(maya, photo_bytes("astronaut"), kind="story")
    elsewhere = [post_through_the_api(ivy, photo_bytes(subject), f"#{subject}") for subject in ("rocket", "coffee")]
    runtime.drain()
    for post in elsewhere:
        maya.api("PUT", f"/posts/{post}/like")
    leo.api("PUT", f"/posts/{posts[-1]}/like")
    leo.api("POST", f"/posts/{posts[-1]}/comments", json={"text": f"Looks like the real thing @{maya.username}"})
    maya.api("PUT", f"/posts/{posts[-1]}/like")
    runtime.drain()
    assert requests.post(f"{runtime.base}/_local/run/explore_refresh", timeout=120).status_code == 200
    found: dict[str, list[str]] = {}
    missing: list[str] = []
    leo.page.on("response", lambda r: r.status >= 400 and "/app/" in r.url and missing.append(r.url))
    for layout, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
        leo.page.set_viewport_size(layout["viewport"])  # type: ignore[arg-type]
        page = leo.go("/app/")
        expect(page.get_by_role("article").first).to_be_visible()
        expect(page.get_by_role("button", name=re.compile(f"^Story by {maya.username}, "))).to_be_visible()
        wait_for_images(page)
        scan(page, f"feed ({label})", found)
        if label == "phone":
            screenshot(page, "feed")
        else:
            screenshot(page, "feed-desktop")
        page.get_by_role("button", name=re.compile(f"^Story by {maya.username}, ")).click()
        viewer = page.get_by_role("dialog", name=f"Stories by {maya.username}")
        viewer.get_by_role("button", name="Pause").click()
        expect(viewer.get_by_role("button", name="Pause")).to_have_attribute("aria-pressed", "true")
        expect(viewer.get_by_role("img", name=re.compile(f"^Story by {maya.username}"))).to_be_visible()
        wait_for_images(page)
        scan(page, f"story viewer ({label})", found)
        if label == "phone":
            screenshot(page, "story")
        page.keyboard.press("Escape")
        page = leo.go(f"/app/p/{posts[-1]}")
        expect(page.get_by_role("region", name="1 comment").get_by_text("Looks like the real thing")).to_be_visible()
        wait_for_images(page)
        scan(page, f"post ({label})", found)
        if label == "phone":
            screenshot(page, "post")
        page.get_by_role("button", name="1 other").click()
        scan(page, f"likes dialog ({label})", found)
        page.keyboard.press("Escape")
        page = leo.go("/app/explore")
        expect(page.get_by_role("list", name="Posts to explore").get_by_role("link").first).to_be_visible()
        wait_for_images(page)
        scan(page, f"explore ({label})", found)
        if label == "phone":
            screenshot(page, "explore")
            page.get_by_role("list", name="Posts to explore").get_by_role("link").first.click()
            expect(page).to_have_url(re.compile(r"/app/p/\d+$"))
            expect(page.get_by_role("article")).to_be_visible()
        page = leo.go(f"/app/u/{maya.username}")
        expect(page.get_by_role("list", name=f"Posts by {maya.username}").get_by_role("link")).to_have_count(3)
        wait_for_images(page)
        scan(page, f"profile ({label})", found)
        if label == "phone":
            screenshot(page, "profile")
        page = leo.go(f"/app/u/{maya.username}/followers")
        expect(page.get_by_role("link", name=leo.username)).to_be_visible()
        scan(page, f"followers ({label})", found)
        page = maya.go("/app/notifications") if label == "phone" else leo.go("/app/notifications")
        expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
        expect(page.get_by_role("main").get_by_role("listitem").first).to_be_visible()
        scan(page, f"notifications ({label})", found)
        if label == "phone":
            screenshot(page, "notifications")
        page = leo.go("/app/settings")
        expect(page.get_by_label("Display name")).to_be_visible()
        scan(page, f"settings ({label})", found)
        page.get_by_role("button", name="New post").click()
        expect(page.get_by_role("dialog", name="New post")).to_be_visible()
        scan(page, f"new post ({label})", found)
        page.keyboard.press("Escape")
        page = leo.go("/app/no/such/screen")
        expect(page.get_by_role("heading", name="This page isn't here")).to_be_visible()
        scan(page, f"not found ({label})", found)
    visitor = people("visitor", sign_up=False)
    for layout, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
        visitor.page.set_viewport_size(layout["viewport"])  # type: ignore[arg-type]
        page = visitor.go("/app/signin")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        scan(page, f"sign in ({label})", found)
        page = visitor.go("/app/signup")
        expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
        scan(page, f"sign up ({label})", found)
    assert not found, "\n".join(f"{screen}: {v}" for screen, vs in found.items() for v in vs)
    assert not missing, f"the app asked for files that are not there: {missing}"  # the favicon among them, once


def test_the_layout_is_a_bottom_bar_on_a_phone_and_a_side_bar_on_a_desktop(people: People) -> None:
    phone = people("phone")
    nav = phone.page.get_by_role("navigation", name="Main")
    box = nav.bounding_box()
    assert box is not None and box["y"] + box["height"] == pytest.approx(844, abs=2)  # along the bottom edge
    for name in ("Home", "Explore", "Notifications", "Profile"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(nav.get_by_role("button", name="New post")).to_be_visible()
    desktop = people("desk", DESKTOP)
    nav = desktop.page.get_by_role("navigation", name="Main")
    box = nav.bounding_box()
    assert box is not None and box["x"] < 40 and box["width"] < 260  # down the left side
    expect(nav.get_by_text("Explore", exact=True)).to_be_visible()  # labels show beside the icons
    expect(desktop.page.get_by_role("button", name="Sign out")).to_be_visible()
    column = desktop.page.locator("main .column")
    box = column.bounding_box()
    assert box is not None and box["width"] == pytest.approx(470, abs=1)
    main = desktop.page.locator("main").bounding_box()
    assert main is not None and abs((box["x"] - main["x"]) - (main["x"] + main["width"] - box["x"] - box["width"])) < 2


def test_the_session_survives_a_reload_and_a_new_tab_and_sign_out_ends_it_everywhere(people: People) -> None:
    olga = people("olga")
    olga.page.reload()
    expect(olga.page.get_by_role("navigation", name="Main")).to_be_visible()
    tab = olga.context.new_page()
    tab.goto(olga.base + "/app/settings")
    expect(tab.get_by_role("heading", name="Settings")).to_be_visible()
    # Signing out in the new tab signs the first one out too
    tab.get_by_role("button", name="Sign out").click()
    expect(tab.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(olga.page.get_by_role("heading", name="Sign in")).to_be_visible()
    olga.page.reload()
    expect(olga.page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_an_expired_session_sends_the_person_to_sign_in_with_a_message(people: People) -> None:
    pia = people("pia")
    # The stored tokens stop being accepted (as when an IdToken expires and there is nothing to refresh it with)
    pia.page.evaluate(
        """() => {
        const s = JSON.parse(localStorage.getItem('aperture.session'));
        localStorage.setItem('aperture.session', JSON.stringify({...s, idToken: s.idToken + 'x', refreshToken: ''}));
    }"""
    )
    page = pia.go(f"/app/u/{pia.username}")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Your session has ended. Sign in again to carry on.")
    # Signing in again returns to where they were going
    page.get_by_label("Username").fill(pia.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=pia.username)).to_be_visible()


def test_a_refused_token_is_refreshed_and_the_request_retried(people: People) -> None:
    ravi = people("ravi")
    refreshed: list[int] = []
    ravi.page.on("response", lambda r: r.url.endswith("/auth/refresh") and refreshed.append(r.status))
    # The IdToken is refused (as once it has expired), while the refresh token is still good
    ravi.page.evaluate(
        """() => {
        const s = JSON.parse(localStorage.getItem('aperture.session'));
        localStorage.setItem('aperture.session', JSON.stringify({...s, idToken: s.idToken + 'x'}));
    }"""
    )
    page = ravi.go("/app/settings")
    expect(page.get_by_label("Display name")).to_be_visible()
    assert refreshed == [200]
    token = page.evaluate("() => JSON.parse(localStorage.getItem('aperture.session')).idToken")
    assert ravi.api("GET", "/me").status_code == 200 and not token.endswith("x")


def test_the_next_person_on_the_same_browser_sees_nothing_of_the_last(people: People, runtime: LocalRuntime) -> None:
    # Given Sid reading his feed in one tab, who signs out in another
    sid, tom = people("sid"), people("tom")
    follow_through_the_api(sid, tom)
    post_through_the_api(tom, photo_bytes("coffee"), "For Sid's eyes")
    runtime.drain()
    page = sid.go("/app/")
    expect(page.get_by_role("img", name="For Sid's eyes")).to_be_visible()
    other_tab = sid.context.new_page()
    other_tab.goto(f"{runtime.base}/app/settings")
    other_tab.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    # When someone else signs in on the first tab, Home is their own (empty) feed, not the one Sid's tab kept
    account = {"username": "una_same_tab", "password": PASSWORD, "email": "una@example.com"}
    assert requests.post(f"{runtime.base}/auth/signup", json=account, timeout=10).status_code == 201
    page.get_by_label("Username").fill("una_same_tab")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Home").click()
    expect(page.get_by_role("heading", name="Your feed is empty")).to_be_visible()
    expect(page.get_by_role("img", name="For Sid's eyes")).to_have_count(0)


def test_the_feed_order_toggle_asks_for_that_order_and_is_remembered(people: People) -> None:
    vito = people("vito")
    page = vito.page
    expect(page.get_by_role("button", name="Ranked")).to_have_attribute("aria-pressed", "true")
    with page.expect_request(lambda r: "/feed?" in r.url) as asked:
        page.get_by_role("button", name="Chronological").click()
    assert "order=chronological" in asked.value.url
    expect(page.get_by_role("button", name="Chronological")).to_have_attribute("aria-pressed", "true")
    with page.expect_request(lambda r: "/feed?" in r.url) as asked:
        page.reload()
    assert "order=chronological" in asked.value.url
    expect(page.get_by_role("button", name="Chronological")).to_have_attribute("aria-pressed", "true")


def test_a_token_about_to_expire_is_refreshed_without_signing_out(people: People) -> None:
    quin = people("quin")
    refreshed: list[int] = []
    quin.page.on("response", lambda r: r.url.endswith("/auth/refresh") and refreshed.append(r.status))
    quin.page.evaluate(
        """() => {
        const s = JSON.parse(localStorage.getItem('aperture.session'));
        localStorage.setItem('aperture.session', JSON.stringify({...s, expiresAt: Date.now()}));
    }"""
    )
    page = quin.go("/app/settings")
    expect(page.get_by_label("Display name")).to_be_visible()
    assert refreshed == [200]
    expires = page.evaluate("() => JSON.parse(localStorage.getItem('aperture.session')).expiresAt")
    assert expires > page.evaluate("() => Date.now()") + 30 * 60 * 1000


def test_a_network_failure_offers_a_retry_that_works(people: People) -> None:
    rosa = people("rosa")
    rosa.page.route(re.compile(r"/feed\?"), lambda route: route.abort())
    page = rosa.go("/app/")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("can't be reached")
    rosa.page.unroute(re.compile(r"/feed\?"))
    alert.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("heading", name="Your feed is empty")).to_be_visible()
    # A server error is offered a retry too, in words, not a code
    rosa.page.route(re.compile(r"/users/[^/]+/posts"), lambda route: route.fulfill(status=503, body=""))
    page = rosa.go(f"/app/u/{rosa.username}")
    expect(page.get_by_role("alert")).to_contain_text("Something went wrong on Aperture's side")
    expect(page.get_by_role("alert").get_by_role("button", name="Try again")).to_be_visible()


def test_an_empty_feed_says_what_to_do(people: People) -> None:
    page = people("sam").page
    expect(page.get_by_role("heading", name="Your feed is empty")).to_be_visible()
    page.get_by_role("link", name="Find people to follow on Explore").click()
    expect(page).to_have_url(re.compile(r"/app/explore$"))


def test_api_errors_show_where_the_action_happened(people: People) -> None:
    visitor = people("tess", sign_up=False)
    page = visitor.go("/app/signin")
    page.get_by_label("Username").fill("nobody_here")
    page.get_by_label("Password").fill("Wrong-pass-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("wrong username or password")
    page = visitor.go("/app/signup")
    page.get_by_label("Email").fill("tess@example.com")
    page.get_by_label("Username").fill("tess_weak")
    page.get_by_label("Password").fill("alllowercase")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("alert")).to_contain_text("assword")  # Cognito's policy, in the API's words


def test_settings_change_the_profile(people: People) -> None:
    uma = people("uma")
    page = uma.go("/app/settings")
    page.get_by_label("Display name").fill("Uma Lind")
    page.get_by_label("Bio").fill("Film and coffee.")
    page.get_by_label("Region").fill("se")
    page.get_by_label("Keep my stories as highlights").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    page = uma.go(f"/app/u/{uma.username}")
    expect(page.get_by_text("Uma Lind")).to_be_visible()
    expect(page.get_by_text("Film and coffee.")).to_be_visible()
    page = uma.go("/app/settings")
    expect(page.get_by_label("Region")).to_have_value("SE")
    expect(page.get_by_label("Keep my stories as highlights")).to_be_checked()


def test_blocking_from_a_profile_hides_them_and_unblocking_restores(people: People, runtime: LocalRuntime) -> None:
    vera, walt = people("vera"), people("walt")
    follow_through_the_api(walt, vera)
    post_through_the_api(walt, photo_bytes("coffee"), "Morning")
    runtime.drain()
    page = vera.go(f"/app/u/{walt.username}")
    expect(page.get_by_text("Follows you")).to_be_visible()
    page.get_by_role("button", name="Block").click()
    page.get_by_role("dialog", name=f"Block {walt.username}?").get_by_role("button", name="Block").click()
    expect(page.get_by_role("heading", name=f"You blocked {walt.username}")).to_be_visible()
    expect(page.get_by_role("link", name="0 followers")).to_be_visible()  # blocking ended the follow
    # Walt can no longer open her profile
    expect(
        walt.go(f"/app/u/{vera.username}").get_by_role("heading", name="This account isn't available")
    ).to_be_visible()
    page.get_by_role("button", name="Unblock").click()
    expect(page.get_by_role("button", name="Follow")).to_be_visible()
    expect(page.get_by_role("img", name="Morning")).to_be_visible()


def test_the_upload_dialog_keeps_and_returns_focus_from_the_keyboard(people: People) -> None:
    xena = people("xena", DESKTOP)
    page = xena.page
    new_post = page.get_by_role("button", name="New post")
    new_post.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="New post")
    expect(dialog).to_be_visible()
    # Tabbing stays inside the dialog
    for _ in range(12):
        page.keyboard.press("Tab")
        assert dialog.evaluate("d => d.contains(document.activeElement)")
    # Where focus is can be seen: the focused control draws an outline
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert page.evaluate("() => document.activeElement.matches(':focus-visible')") and outline != "none"
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(new_post).to_be_focused()
