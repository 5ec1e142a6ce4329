"""Download your data, in the browser: Settings starts an export, follows it while it is built, then offers the ZIP
(with every photo) until its link expires."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Route, expect

from tests.browser.helpers import (
    DESKTOP,
    Person,
    axe_violations,
    drained_until,
    photo_bytes,
    post_through_the_api,
    screenshot,
)
from tests.support import LocalRuntime

pytestmark = pytest.mark.xdist_group("browser")
People = Callable[..., Person]


def test_a_person_downloads_their_data_from_settings(people: People, runtime: LocalRuntime, tmp_path: Path) -> None:
    # Given Zoe, who has posted a photo
    zoe = people("zoe")
    post = post_through_the_api(zoe, photo_bytes("chelsea"), caption="my cat")
    drained_until(runtime, lambda: zoe.api("GET", f"/posts/{post}").status_code == 200)
    found: dict[str, list[str]] = {}
    # (what the page is told each time it asks how the export is going, as the API answered it; after the first
    # answer its next question is held until the test has looked at the progress shown)
    answers: list[str] = []
    held: list[Route] = []
    holding = [True]

    def answer(route: Route) -> None:
        response = route.fetch()
        answers.append(json.loads(response.body())["status"])
        route.fulfill(response=response)

    def observe(route: Route) -> None:
        if answers and holding[0]:
            held.append(route)
            return
        answer(route)

    zoe.page.route(re.compile(r".*/me/exports/\d+$"), observe)

    # When she asks for her data in Settings (on her phone)
    page = zoe.go("/app/settings")
    section = page.get_by_role("region", name="Download your data")
    expect(section.get_by_text("The link works for a day")).to_be_visible()
    if violations := axe_violations(page):
        found["settings, export (phone)"] = violations
    section.get_by_role("button", name="Request your data").click()
    # Then she sees it being prepared
    progress = section.get_by_role("status")
    expect(progress.locator("progress")).to_be_visible()
    expect(section.get_by_role("button", name="Request your data")).to_have_count(0)
    assert answers == ["pending"]
    section.scroll_into_view_if_needed()
    if violations := axe_violations(page):
        found["settings, export in progress (phone)"] = violations
    screenshot(page, "export-progress-phone")
    # And the page keeps asking until it is ready
    holding[0] = False
    for route in held:
        answer(route)
    download = section.get_by_role("link", name=re.compile(r"^Download your data \(ZIP, [\d.]+ (KB|MB)\)$"))
    expect(download).to_be_visible(timeout=60_000)
    assert answers[0] == "pending" and answers[-1] == "ready" and len(answers) >= 2, answers
    section.scroll_into_view_if_needed()
    expect(section.get_by_text(re.compile(r"^The link works until "))).to_be_visible()
    expect(section.get_by_role("button", name="Start a new export")).to_be_visible()
    if violations := axe_violations(page):
        found["settings, export ready (phone)"] = violations
    screenshot(page, "export-ready-phone")

    # And the link downloads a ZIP of her data with her photo in it
    with page.expect_download() as started:
        download.click()
    saved = tmp_path / "export.zip"
    started.value.save_as(saved)
    archive = zipfile.ZipFile(io.BytesIO(saved.read_bytes()))
    assert {"profile.json", "posts.json", f"photos/{post}/0.jpg"} <= set(archive.namelist())
    assert [p["caption"] for p in json.loads(archive.read("posts.json"))] == ["my cat"]

    # And coming back to Settings later (at desktop width) shows the same export, ready
    zoe.page.set_viewport_size(DESKTOP["viewport"])  # type: ignore[arg-type]
    page = zoe.go("/app/settings")
    link = page.get_by_role("link", name=re.compile(r"^Download your data"))
    expect(link).to_be_visible()
    link.scroll_into_view_if_needed()
    if violations := axe_violations(page):
        found["settings, export ready (desktop)"] = violations
    screenshot(page, "export-ready-desktop")
    assert found == {}
