"""Editing your own post in the browser: its options, the Edit post dialog, and the new caption in the post view and
a follower's feed, marked Edited."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    DESKTOP,
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


def test_an_author_edits_a_caption_and_a_follower_sees_it_marked_edited(people: People, runtime: LocalRuntime) -> None:
    # Given Uma posted a photo that Vic, who follows her, has in his feed
    uma, vic = people("uma"), people("vic", DESKTOP)
    follow_through_the_api(vic, uma)
    post = post_through_the_api(uma, photo_bytes("chelsea"), "Cat on the sofa")
    runtime.drain()
    expect(vic.go("/app/").get_by_role("article", name=f"Post by {uma.username}")).to_contain_text("Cat on the sofa")
    found: dict[str, list[str]] = {}
    # When Uma opens her post's options and edits its caption and place
    page = uma.go(f"/app/p/{post}")
    article = page.get_by_role("article", name=f"Post by {uma.username}")
    options = article.get_by_role("button", name="More options for this post")
    options.click()
    expect(options).to_have_attribute("aria-expanded", "true")
    article.get_by_role("button", name="Edit post").click()
    dialog = page.get_by_role("dialog", name="Edit post")
    caption = dialog.get_by_label("Caption")
    expect(caption).to_have_value("Cat on the sofa")
    caption.fill("Chelsea napping on the sofa #caturday")
    dialog.get_by_label("Location").fill("Brighton")
    dialog.get_by_role("textbox", name="Alt text").fill("A grey cat asleep on a red sofa")
    if violations := axe_violations(page):
        found["edit dialog (phone)"] = violations
    screenshot(page, "edit-post-dialog-phone")
    with page.expect_response(lambda r: r.url.endswith(f"/posts/{post}") and r.request.method == "PATCH") as answer:
        dialog.get_by_role("button", name="Save changes").click()
    assert answer.value.status == 200
    # Then her post shows the new caption and place, marked Edited, and the dialog is gone
    expect(dialog).to_have_count(0)
    expect(article).to_contain_text("Chelsea napping on the sofa")
    expect(article).to_contain_text("Brighton")
    expect(article.get_by_text("Edited", exact=True)).to_be_visible()
    expect(article.get_by_role("img", name="A grey cat asleep on a red sofa")).to_be_visible()
    wait_for_images(page)
    if violations := axe_violations(page):
        found["edited post (phone)"] = violations
    screenshot(page, "edit-post-edited-phone")
    # And Vic's feed shows it at once, with no options for him to edit it
    page = vic.go("/app/")
    card = page.get_by_role("article", name=f"Post by {uma.username}")
    expect(card).to_contain_text("Chelsea napping on the sofa")
    expect(card).not_to_contain_text("Cat on the sofa")
    expect(card.get_by_text("Edited", exact=True)).to_be_visible()
    expect(card.get_by_role("button", name="More options for this post")).to_have_count(0)
    wait_for_images(page)
    if violations := axe_violations(page):
        found["edited post in a feed (desktop)"] = violations
    screenshot(page, "edit-post-feed-desktop")
    # And the options at desktop width pass axe as well
    uma.page.set_viewport_size(DESKTOP["viewport"])  # type: ignore[arg-type]
    page = uma.go(f"/app/p/{post}")
    page.get_by_role("button", name="More options for this post").click()
    if violations := axe_violations(page):
        found["post options (desktop)"] = violations
    screenshot(page, "edit-post-options-desktop")
    assert found == {}
    assert not uma.undeclared_calls() and not vic.undeclared_calls()
