"""The authorization matrix: every route in the route table, without a token, on someone else's resource,
as a user the resource's owner blocks, and on a private account's content as its owner, an approved follower, a
non-follower and a requester."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from aperture.routes import ROUTES, Route
from local.seeding import Account, publish_post, publish_story
from tests.support import Api

# Routes that act on something one user owns, and what anyone else gets.
OWNED = {
    "GET /uploads/{upload_id}": 403,
    "DELETE /posts/{post_id}": 403,
    "DELETE /posts/{post_id}/comments/{comment_id}": 403,
    "DELETE /devices/{device_id}": 404,  # devices are looked up among the caller's own
    "POST /admin/blocklist": 403,  # moderators only
    "GET /admin/reports": 403,
    "POST /admin/reports/{report_id}/resolve": 403,
    "GET /stories/{story_id}/viewers": 403,
    "DELETE /stories/{story_id}": 403,
    "PATCH /posts/{post_id}": 403,
}
# Routes on another user or their content: a user that user blocks gets 404, as if it did not exist.
HIDDEN_WHEN_BLOCKED = {
    "GET /users/{username}",
    "PUT /users/{user_id}/follow",
    "DELETE /users/{user_id}/follow",
    "GET /users/{user_id}/followers",
    "GET /users/{user_id}/following",
    "GET /users/{user_id}/relationship",
    "PUT /users/{user_id}/mute",
    "DELETE /users/{user_id}/mute",
    "GET /users/{user_id}/posts",
    "GET /posts/{post_id}",
    "DELETE /posts/{post_id}",
    "PUT /posts/{post_id}/like",
    "DELETE /posts/{post_id}/like",
    "GET /posts/{post_id}/likes",
    "PUT /posts/{post_id}/save",
    "DELETE /posts/{post_id}/save",
    "POST /posts/{post_id}/comments",
    "GET /posts/{post_id}/comments",
    "DELETE /posts/{post_id}/comments/{comment_id}",
    "GET /users/{user_id}/stories",
    "GET /users/{user_id}/highlights",
    "POST /stories/{story_id}/views",
    "GET /stories/{story_id}/viewers",
    "DELETE /stories/{story_id}",
    "PATCH /posts/{post_id}",
    "POST /reports",  # (reporting the blocker's post: as if it did not exist)
}
# Routes about the caller's own things, where nobody else's resource is named.
OWN_ONLY = {
    "GET /me",
    "GET /feed",
    "POST /uploads",
    "GET /notifications",
    "POST /notifications/read",
    "POST /devices",
    "PUT /users/{user_id}/block",
    "DELETE /users/{user_id}/block",  # blocking back someone who blocks you is allowed
    "GET /uploads/{upload_id}",
    "DELETE /devices/{device_id}",
    "POST /admin/blocklist",
    "GET /admin/reports",  # the queue is the moderators' alone (tests/integration/test_reports.py)
    "POST /admin/reports/{report_id}/resolve",
    "PATCH /me",
    "GET /stories/tray",
    "GET /stories/{story_id}/viewers",
    "DELETE /stories/{story_id}",
    "GET /explore",
    "GET /me/saved",  # saves are private: there is no route to anyone else's
    "GET /me/close_friends",  # the list is its owner's alone
    "PUT /me/close_friends/{user_id}",
    "DELETE /me/close_friends/{user_id}",
    "GET /me/follow_requests",
    "POST /me/follow_requests/{user_id}/approve",  # (the user named is the requester; only yours can be decided)
    "POST /me/follow_requests/{user_id}/decline",
    "GET /search/users",  # blocked people are left out of the results (tests/integration/test_search.py)
    "GET /search/hashtags",
    "GET /hashtags/{tag}/posts",  # blocked and private authors' posts are left out (test_hashtag_pages.py)
    "DELETE /me",  # the caller's own account (tests/integration/test_erasure.py)
    "POST /me/export",  # the caller's own data (tests/integration/test_exports.py)
    "GET /me/exports/{export_id}",  # another user's export id answers 404 (test_only_its_owner_can_see_an_export)
    "POST /auth/signout",  # the caller's own sessions (tests/integration/test_sessions.py)
    "POST /me/mfa/totp",  # the caller's own second factor: another user's access token is 403 (test_sessions.py)
    "POST /me/mfa/totp/verify",
}

BODIES = {
    "POST /uploads": {"content_type": "image/jpeg", "content_length": 100},
    "POST /posts/{post_id}/comments": {"text": "hello"},
    "POST /notifications/read": {"up_to": "1"},
    "POST /devices": {"platform": "fcm", "token": "token-0123456789"},
    "POST /admin/blocklist": {"post_id": "1", "reason": "x"},
    "PATCH /me": {"bio": "hello"},
    "PATCH /posts/{post_id}": {"caption": "edited"},
    "POST /admin/reports/{report_id}/resolve": {"action": "dismiss"},
}


@dataclass
class World:
    owner: Account
    other: Account
    values: dict[str, str]


@pytest.fixture
def world(api: Api) -> World:
    owner, other = api.sign_up("owner"), api.sign_up("other")
    post = publish_post(owner)
    comment = api.call("POST", f"/posts/{post}/comments", owner, json={"text": "mine"}).json
    upload = api.call("POST", "/uploads", owner, json={"content_type": "image/jpeg", "content_length": 10}).json
    device = api.call("POST", "/devices", owner, json={"platform": "fcm", "token": "owner-token-0123"}).json
    values = {
        "user_id": owner.user_id,
        "username": owner.username,
        "post_id": post,
        "comment_id": comment["comment_id"],
        "upload_id": upload["upload_id"],
        "device_id": device["device_id"],
        "story_id": publish_story(owner),
        "tag": "sunset",
        "report_id": "1",  # (moderators only: refused before it is looked up)
        "export_id": "1",  # (an export is looked up under the caller's own id: nobody else's can be named)
    }
    return World(owner, other, values)


def _path(route: Route, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], route.path)


def _call(api: Api, route: Route, world: World, who: Account | None, headers: dict | None = None):
    body = BODIES.get(route.route_key)
    if route.route_key == "POST /admin/blocklist":
        body = {"post_id": world.values["post_id"], "reason": "x"}
    if route.route_key == "POST /reports":
        body = {"target": {"post_id": world.values["post_id"]}, "reason": "spam"}
    return api.call(route.method, _path(route, world.values), who, json=body, headers=headers or {})


AUTHENTICATED = [r for r in ROUTES if r.auth]


def test_every_authenticated_route_is_in_the_matrix() -> None:
    keys = {r.route_key for r in AUTHENTICATED}
    assert keys <= HIDDEN_WHEN_BLOCKED | OWN_ONLY, keys - HIDDEN_WHEN_BLOCKED - OWN_ONLY
    assert set(OWNED) <= keys


@pytest.mark.parametrize("route", AUTHENTICATED, ids=lambda r: r.route_key)
def test_no_token_or_a_bad_one_gets_401(api: Api, world: World, route: Route) -> None:
    assert _call(api, route, world, None).status_code == 401
    forged = {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJjdXN0b206dXNlcl9pZCI6IjEifQ."}
    assert _call(api, route, world, None, forged).status_code == 401


@pytest.mark.parametrize("key", sorted(OWNED))
def test_someone_elses_resource_is_refused(api: Api, world: World, key: str) -> None:
    route = next(r for r in ROUTES if r.route_key == key)
    response = _call(api, route, world, world.other)
    assert response.status_code == OWNED[key], response.json


@pytest.mark.parametrize("key", sorted(HIDDEN_WHEN_BLOCKED))
def test_a_blocked_user_gets_404_on_the_blockers_things(api: Api, world: World, key: str) -> None:
    api.call("PUT", f"/users/{world.other.user_id}/block", world.owner)
    route = next(r for r in ROUTES if r.route_key == key)
    response = _call(api, route, world, world.other)
    assert response.status_code == 404, response.json


# A private account's content: its owner and approved followers get it; anyone else 403 private_account.
PRIVATE_CONTENT = {
    "GET /users/{user_id}/posts",
    "GET /users/{user_id}/followers",
    "GET /users/{user_id}/following",
    "GET /users/{user_id}/stories",
    "GET /users/{user_id}/highlights",
    "GET /posts/{post_id}",
    "GET /posts/{post_id}/likes",
    "GET /posts/{post_id}/comments",
    "PUT /posts/{post_id}/like",
    "PUT /posts/{post_id}/save",
    "POST /posts/{post_id}/comments",
    "POST /stories/{story_id}/views",
}
# ...and what stays visible to everyone: the profile (counts, bio) and how you relate to it.
PRIVATE_PUBLIC_PARTS = {"GET /users/{username}", "GET /users/{user_id}/relationship"}


@dataclass
class PrivateWorld(World):
    follower: Account
    requester: Account


@pytest.fixture
def private_world(api: Api, world: World) -> PrivateWorld:
    """The owner, followed by `follower` before going private, then asked to follow by `requester`."""
    follower, requester = api.sign_up("follower"), api.sign_up("requester")
    assert api.call("PUT", f"/users/{world.owner.user_id}/follow", follower).status_code == 200
    assert api.call("PATCH", "/me", world.owner, json={"private": True}).status_code == 200
    assert api.call("PUT", f"/users/{world.owner.user_id}/follow", requester).status_code == 202
    return PrivateWorld(world.owner, world.other, world.values, follower, requester)


@pytest.mark.parametrize("key", sorted(PRIVATE_CONTENT | PRIVATE_PUBLIC_PARTS))
def test_a_private_accounts_content_is_for_its_owner_and_approved_followers(
    api: Api, private_world: PrivateWorld, key: str
) -> None:
    route = next(r for r in ROUTES if r.route_key == key)
    w = private_world
    for viewer in (w.owner, w.follower):
        response = _call(api, route, w, viewer)
        assert response.status_code < 300, (viewer.username, response.json)
    for outsider in (w.other, w.requester):
        response = _call(api, route, w, outsider)
        if key in PRIVATE_PUBLIC_PARTS:
            assert response.status_code == 200, (outsider.username, response.json)
        else:
            assert (response.status_code, response.json["error"]["code"]) == (403, "private_account"), outsider.username
