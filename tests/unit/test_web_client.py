"""The web client served at /app/: its script parses, and it calls only routes the API has."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from aperture.routes import ROUTES

PAGE = Path(__file__).resolve().parents[2] / "web" / "index.html"


def _script() -> str:
    match = re.search(r"<script>(.*?)</script>", PAGE.read_text(), re.DOTALL)
    assert match, "the page has no inline script"
    return match.group(1)


def test_the_script_parses(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = tmp_path / "client.js"
    script.write_text(_script())
    checked = subprocess.run([node, "--check", str(script)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr


def test_every_api_call_names_a_declared_route() -> None:
    calls = re.findall(r'call\("(GET|POST|PUT|PATCH|DELETE)",\s*[`"]([^`"?]+)', _script())
    assert calls, "no API calls found"
    patterns = {(r.method, re.compile("^" + re.sub(r"\{\w+\}", r"[^/]+", r.path) + "$")) for r in ROUTES}
    for method, path in calls:
        concrete = re.sub(r"\$\{[^}]+\}", "1", path)
        assert any(m == method and p.match(concrete) for m, p in patterns), f"{method} {path} is not a route"
