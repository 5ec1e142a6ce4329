"""The authorization matrix: every route in the route table, without a token, on someone else's resource,
and as a user the resource's owner blocks."""

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
    "GET /stories/{story_id}/viewers": 403,
    "DELETE /stories/{story_id}": 403,
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
    "PATCH /me",
    "GET /stories/tray",
    "GET /stories/{story_id}/viewers",
    "DELETE /stories/{story_id}",
    "GET /explore",
    "GET /me/saved",  # saves are private: there is no route to anyone else's
    "GET /search/users",  # blocked people are left out of the results (tests/integration/test_search.py)
    "GET /search/hashtags",
    "GET /hashtags/{tag}/posts",  # blocked and private authors' posts are left out (test_hashtag_pages.py)
}

BODIES = {
    "POST /uploads": {"content_type": "image/jpeg", "content_length": 100},
    "POST /posts/{post_id}/comments": {"text": "hello"},
    "POST /notifications/read": {"up_to": "1"},
    "POST /devices": {"platform": "fcm", "token": "token-0123456789"},
    "POST /admin/blocklist": {"post_id": "1", "reason": "x"},
    "PATCH /me": {"bio": "hello"},
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
    }
    return World(owner, other, values)


def _path(route: Route, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], route.path)


def _call(api: Api, route: Route, world: World, who: Account | None, headers: dict | None = None):
    body = BODIES.get(route.route_key)
    if route.route_key == "POST /admin/blocklist":
        body = {"post_id": world.values["post_id"], "reason": "x"}
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
