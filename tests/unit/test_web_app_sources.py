"""The web app's sources name only paths the API has (the browser tests check each call's method as it is made)."""

from __future__ import annotations

import re
from pathlib import Path

from aperture.routes import ROUTES

SOURCES = Path(__file__).resolve().parents[2] / "web" / "src"
# String and template literals that start with "/" (a path), as the app's calls write them.
LITERAL = re.compile(r'"(/[^"\s]*)"|`(/[^`\s]*)`')
PATTERNS = [re.compile("^" + re.sub(r"\{\w+\}", "[^/]+", route.path) + "$") for route in ROUTES]


def api_paths() -> set[str]:
    found = set()
    for source in SOURCES.rglob("*.ts*"):
        for match in LITERAL.finditer(source.read_text()):
            path = match.group(1) or match.group(2)
            if path == "/" or path.startswith("/app"):
                continue  # the app's own screens and files
            found.add(re.sub(r"\$\{[^}]*\}", "x", path).split("?")[0])
    return found


def test_every_api_path_in_the_sources_is_a_route() -> None:
    paths = api_paths()
    assert {"/feed", "/uploads", "/auth/token", "/posts/x/like"} <= paths  # the scan sees the app's calls
    assert [p for p in sorted(paths) if not any(pattern.match(p) for pattern in PATTERNS)] == []
