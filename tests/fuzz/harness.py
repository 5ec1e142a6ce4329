"""Schemathesis against the OpenAPI document, on the local runtime, as a signed-in client with real ids.

The platform is seeded with two people, a post (with a comment and a like), a story and a device; path parameters
are drawn from those ids most of the time, so requests reach the logic behind the 404s. Both modes run: valid
requests (positive) and invalid ones (negative). The checks: no server error, responses (status, content type, body)
as documented. `make fuzz` runs it for longer; `make test` runs a bounded run (tests/fuzz/test_fuzz.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support import PASSWORD, ROOT, LocalRuntime, jpeg_bytes

SCHEMA = ROOT / "docs" / "openapi.json"
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
REAL_ID_PROBABILITY = 0.8


@dataclass(frozen=True)
class Seeded:
    token: str
    ids: dict[str, list[str]]  # path parameter -> real values


def _account(base: str, username: str) -> tuple[str, str]:
    body = {"username": username, "password": PASSWORD, "email": f"{username}@example.com"}
    user_id = requests.post(f"{base}/auth/signup", json=body, timeout=30).json()["user_id"]
    tokens = requests.post(f"{base}/auth/token", json={"username": username, "password": PASSWORD}, timeout=30).json()
    return str(user_id), str(tokens["id_token"])


def _upload(base: str, headers: dict[str, str], kind: str) -> dict[str, str]:
    photo = jpeg_bytes(640, 480)
    ask = {"kind": kind, "content_type": "image/jpeg", "content_length": len(photo), "caption": "fuzz #seed"}
    grant: dict[str, str] = requests.post(f"{base}/uploads", headers=headers, json=ask, timeout=30).json()
    files = {"file": ("p.jpg", photo, "image/jpeg")}
    assert requests.post(grant["url"], data=grant["fields"], files=files, timeout=30).status_code in {200, 204}
    return grant


def seed(runtime: LocalRuntime) -> Seeded:
    """Two people who follow each other, a post with a like and a comment, a story, a device."""
    base = runtime.base
    me_id, token = _account(base, "fuzz_me")
    them_id, their_token = _account(base, "fuzz_them")
    mine, theirs = {"Authorization": f"Bearer {token}"}, {"Authorization": f"Bearer {their_token}"}
    requests.put(f"{base}/users/{them_id}/follow", headers=mine, timeout=30)
    requests.put(f"{base}/users/{me_id}/follow", headers=theirs, timeout=30)
    post, story = _upload(base, mine, "post"), _upload(base, mine, "story")
    their_post = _upload(base, theirs, "post")
    runtime.drain()
    requests.put(f"{base}/posts/{their_post['target_id']}/like", headers=mine, timeout=30)
    comment = requests.post(
        f"{base}/posts/{post['target_id']}/comments", headers=theirs, json={"text": "seed"}, timeout=30
    ).json()
    device = requests.post(
        f"{base}/devices", headers=mine, json={"platform": "fcm", "token": "fuzz-device-token"}, timeout=30
    ).json()
    runtime.drain()
    ids = {
        "user_id": [me_id, them_id],
        "username": ["fuzz_me", "fuzz_them"],
        "post_id": [post["target_id"], their_post["target_id"]],
        "story_id": [story["target_id"]],
        "upload_id": [post["upload_id"], story["upload_id"]],
        "comment_id": [str(comment["comment_id"])],
        "device_id": [str(device["device_id"])],
    }
    return Seeded(token, ids)


def config(seeded: Seeded) -> str:
    """schemathesis.toml: each path parameter drawn from the seeded ids most of the time."""
    lines = []
    for name, values in seeded.ids.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    lines += [
        f'"path.{name}" = {{ dictionary = "{name}", probability = {REAL_ID_PROBABILITY} }}' for name in seeded.ids
    ]
    return "\n".join(lines) + "\n"


def fuzz(seconds: int, workers: int = 2, seed_value: int | None = None) -> tuple[int, str]:
    """Start the platform, seed it, run schemathesis for `seconds`; returns (exit code, report)."""
    runtime = LocalRuntime(APERTURE_SCHEDULES="manual")
    try:
        seeded = seed(runtime)
        with tempfile.TemporaryDirectory(prefix="aperture-fuzz-") as workdir:
            Path(workdir, "schemathesis.toml").write_text(config(seeded))
            command = [
                shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis",
                "run",
                str(SCHEMA),
                "--url",
                runtime.base,
                "--header",
                f"Authorization: Bearer {seeded.token}",
                "--checks",
                CHECKS,
                "--mode",
                "all",
                "--max-time",
                str(seconds),
                "--workers",
                str(workers),
                "--no-color",
            ]
            if seed_value is not None:
                command += ["--seed", str(seed_value)]
            run = subprocess.run(command, cwd=workdir, capture_output=True, text=True, check=False, timeout=seconds * 3)
            return run.returncode, run.stdout + run.stderr
    finally:
        runtime.stop()
