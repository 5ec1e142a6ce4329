"""The web app's URLs: the CloudFront Function (edge/web_routes.js, run under node) and the local gateway's rule
answer every path alike: a file, index.html for a screen, or a redirect to /app/."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from local.gateway import web_target

WEB_ROUTES_JS = Path(__file__).resolve().parents[2] / "edge" / "web_routes.js"

RUNNER = """
const fs = require('fs');
const handler = new Function(fs.readFileSync(process.argv[1], 'utf8') + '\\nreturn handler;')();
const answers = JSON.parse(fs.readFileSync(0, 'utf8')).map((uri) => {
    const result = handler({ version: '1.0', context: { eventType: 'viewer-request' }, request: { method: 'GET', uri,
        querystring: {}, headers: {}, cookies: {} } });
    return result.statusCode ? ['redirect', result.headers.location.value] : ['file', result.uri.slice(5)];
});
process.stdout.write(JSON.stringify(answers));
"""

# path -> what serves it (a file under web/dist, or a redirect)
TABLE = {
    "/": ("redirect", "/app/"),
    "/app": ("redirect", "/app/"),
    "/app/": ("file", "index.html"),
    "/app/index.html": ("file", "index.html"),
    "/app/favicon.svg": ("file", "favicon.svg"),
    "/app/config.json": ("file", "config.json"),
    "/app/assets/index-AbC123.js": ("file", "assets/index-AbC123.js"),
    "/app/assets/index-AbC123.css": ("file", "assets/index-AbC123.css"),
    "/app/explore": ("file", "index.html"),
    "/app/notifications": ("file", "index.html"),
    "/app/u/alice": ("file", "index.html"),
    "/app/u/john.doe": ("file", "index.html"),  # usernames may hold dots: still a screen
    "/app/u/john.doe/followers": ("file", "index.html"),
    "/app/p/123456789": ("file", "index.html"),
    "/app/tags/sunset": ("file", "index.html"),
    "/app/missing.png": ("file", "missing.png"),  # a file that is not there: the origin's 404
}


@pytest.mark.parametrize(("path", "expected"), TABLE.items())
def test_the_gateway_rule_names_what_answers_each_path(path: str, expected: tuple[str, str]) -> None:
    assert web_target(path) == expected


def test_the_cloudfront_function_answers_as_the_gateway_does() -> None:
    node = shutil.which("node")
    assert node is not None, "node is needed (for CDK as well); install Node.js"
    run = subprocess.run(
        [node, "-e", RUNNER, str(WEB_ROUTES_JS)],
        input=json.dumps(list(TABLE)),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert dict(zip(TABLE, map(tuple, json.loads(run.stdout)), strict=True)) == TABLE
