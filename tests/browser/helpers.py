"""What the browser tests do as people do it: sign up through the page, pick real photos, check with axe-core."""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from PIL import Image
from playwright.sync_api import BrowserContext, Page, expect

from aperture.routes import ROUTES
from tests.support import PASSWORD, ROOT, LocalRuntime

AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
# How long a page may wait for an upload it sent to be processed (the platform's pollers encode four renditions in
# each of three formats; the browser tests share two cores with the rest of the suite).
PROCESSED_MS = 60_000
# The flags this machine's closed network needs (no background fetches from Chromium itself).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROUTE_PATTERNS = [(route.method, re.compile("^" + re.sub(r"\{\w+\}", "[^/]+", route.path) + "$")) for route in ROUTES]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium is not installed: `make chromium` installs Debian's package (make test does)")
    return path


@dataclass
class Person:
    """Someone using the app in their own browser context (their own storage, their own session)."""

    username: str
    context: BrowserContext
    page: Page
    base: str
    user_id: str = ""
    api_calls: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def go(self, path: str) -> Page:
        self.page.goto(self.base + path)
        return self.page

    def token(self) -> str:
        session = self.page.evaluate("() => JSON.parse(localStorage.getItem('aperture.session'))")
        return str(session["idToken"])

    def api(self, method: str, path: str, **kwargs: object) -> requests.Response:
        """The API as this person, outside the page (for the other clients a test needs)."""
        headers = {"Authorization": f"Bearer {self.token()}"}
        return requests.request(method, self.base + path, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]

    def slow_uploads(self, bytes_per_second: int) -> None:
        """Throttles what the page sends (Chromium's network emulation), so an upload's progress can be seen."""
        cdp = self.context.new_cdp_session(self.page)
        cdp.send("Network.enable")
        conditions = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": bytes_per_second}
        cdp.send("Network.emulateNetworkConditions", conditions)

    def undeclared_calls(self) -> list[str]:
        return [
            f"{method} {path}"
            for method, path in self.api_calls
            if not any(m == method and p.match(path) for m, p in ROUTE_PATTERNS)
        ]


def record_request(person: Person, method: str, url: str) -> None:
    if not url.startswith(person.base):
        return
    path = url.removeprefix(person.base).split("?")[0]
    if not path.startswith(("/app", "/cdn/", "/_local/")):
        person.api_calls.append((method, path))


def sign_up_through_the_page(person: Person) -> None:
    page = person.go("/app/signup")
    page.get_by_label("Email").fill(f"{person.username}@example.com")
    page.get_by_label("Username").fill(person.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    person.user_id = page.evaluate("() => JSON.parse(localStorage.getItem('aperture.session')).userId")


def photo_bytes(subject: str = "coffee", quality: int = 88) -> bytes:
    """A real photograph (scikit-image's sample data: coffee, astronaut, chelsea, rocket...) as JPEG bytes."""
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(getattr(data, subject)()).convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def photo_file(tmp_path: Path, name: str, subject: str = "coffee", quality: int = 88) -> Path:
    """The photograph as a file a person would pick."""
    path = tmp_path / name
    path.write_bytes(photo_bytes(subject, quality))
    return path


def post_through_the_api(person: Person, body: bytes, caption: str = "", kind: str = "post") -> str:
    """A post (or story) made the way another client makes one (the presigned POST), for tests about reading."""
    ask = {"kind": kind, "content_type": "image/jpeg", "content_length": len(body), "caption": caption}
    grant = person.api("POST", "/uploads", json=ask).json()
    sent = requests.post(grant["url"], data=grant["fields"], files={"file": ("p.jpg", body, "image/jpeg")}, timeout=30)
    assert sent.status_code in {200, 204}, sent.text
    return str(grant["target_id"])


def follow_through_the_api(follower: Person, followee: Person) -> None:
    assert follower.api("PUT", f"/users/{followee.user_id}/follow").json() == {"following": True, "requested": False}


def axe_violations(page: Page) -> list[str]:
    """Serious and critical axe-core findings on the page as it is now (axe-core from web/node_modules)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the driver, as the page's CSP (rightly) refuses an injected inline script.
        page.evaluate(AXE.read_text())
    results = page.evaluate("async () => (await window.axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:3]}"
        for v in results
        if v["impact"] in {"serious", "critical"}
    ]


def wait_for_images(page: Page) -> None:
    """Every image in view has loaded (so a screenshot shows photos, not placeholders)."""
    page.wait_for_function(
        "() => [...document.images].filter(i => i.loading !== 'lazy' || i.getBoundingClientRect().top < innerHeight)"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def in_the_feed(viewer: Person, post_id: str) -> Callable[[], bool]:
    """Whether the viewer's feed (through the API, as the page will fetch it) shows the post on its first page."""

    def check() -> bool:
        items = viewer.api("GET", "/feed", params={"order": "chronological"}).json()["items"]
        return any(item["post_id"] == post_id for item in items)

    return check


def in_the_tray(viewer: Person, author: Person, stories: int = 1) -> Callable[[], bool]:
    """Whether the viewer's tray (through the API, as the page will fetch it) holds the author's unseen stories, at
    least `stories` of them (each story is processed on its own: the first can be there before the second)."""

    def check() -> bool:
        entries = viewer.api("GET", "/stories/tray").json()["items"]
        return any(
            e["user"]["user_id"] == str(author.user_id) and e["has_unseen"] and e["story_count"] >= stories
            for e in entries
        )

    return check


def drained_until(runtime: LocalRuntime, ready: Callable[[], bool], rounds: int = 20) -> None:
    """Drain the platform until `ready()` holds: what a page is about to show is there before it loads (each round
    waits for the pump to have nothing left, so this is bounded work, not a sleep). Fails with the runtime's log."""
    for _ in range(rounds):
        runtime.drain()
        if ready():
            return
    pytest.fail("never ready after draining; the runtime said:\n" + runtime.output[-6000:])
