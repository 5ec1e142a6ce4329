"""The web app in a real browser: Debian's Chromium driven by Playwright, against `python -m local`.

Browser downloads are impossible here, so Playwright launches the system Chromium through `executable_path`
(`make test` installs the Debian package when it is missing). Every request the app sends to the API is recorded,
and each test ends by checking that the app called only routes the API declares and raised no script error.
Test modules here mark themselves `xdist_group("browser")`, so one worker runs them on one platform and browser.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

import pytest
from playwright.sync_api import Browser, Playwright, expect, sync_playwright

from tests.browser.helpers import (
    CHROMIUM_ARGS,
    PHONE,
    Person,
    chromium_path,
    record_request,
    sign_up_through_the_page,
)
from tests.support import ROOT, LocalRuntime

expect.set_options(timeout=20_000)
_SERIAL = count(1)


@pytest.fixture(scope="session")
def runtime() -> Iterator[LocalRuntime]:
    if not (ROOT / "web" / "dist" / "index.html").is_file():
        pytest.fail("the web app is not built: `make web` builds it (make test does)")
    platform = LocalRuntime(APERTURE_SCHEDULES="manual")
    yield platform
    assert platform.stop() == 0, platform.output


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def people(browser: Browser, runtime: LocalRuntime) -> Iterator[Callable[..., Person]]:
    """Opens a browser for a new person (signed up through the page unless asked not to)."""
    opened: list[Person] = []

    def open_person(
        name: str, layout: dict[str, Any] | None = None, sign_up: bool = True, exact: bool = False
    ) -> Person:
        # Names are made unique in the session's one platform, unless a test (run once) asks for its own.
        username = name if exact else f"{name}{os.getpid() % 1000}_{next(_SERIAL)}"
        context = browser.new_context(**(layout or PHONE))
        page = context.new_page()
        person = Person(username, context, page, runtime.base)
        page.on("request", lambda request: record_request(person, request.method, request.url))
        page.on("pageerror", lambda error: person.errors.append(str(error)))
        # The page runs under the platform's Content-Security-Policy; anything it blocks is a bug.
        page.on("console", lambda m: "Content Security Policy" in m.text and person.errors.append(m.text))
        opened.append(person)
        if sign_up:
            sign_up_through_the_page(person)
        return person

    yield open_person
    problems = []
    for person in opened:
        problems += [f"{person.username}: script error {error}" for error in person.errors]
        problems += [f"{person.username}: {call} is not a declared route" for call in person.undeclared_calls()]
        person.context.close()
    assert not problems, "\n".join(problems)
