"""Redis as the cache is on AWS: nobody gets in without authenticating, and the platform, as its own user, does all
it does and nothing dangerous (aperture.resources.CACHE_ACCESS; on AWS its password is an IAM token)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from redis.exceptions import AuthenticationError, NoPermissionError

from aperture import wiring
from local.pump import EventPump
from local.redis_server import EmbeddedRedis, RedisLogin, RedisServer
from local.seeding import publish_post, publish_story
from tests.support import PASSWORD, Api, settings_env


@dataclass
class Secured:
    server: RedisServer
    login: RedisLogin
    admin: redis.Redis  # the test's own view of the server: the harness user, who may do everything

    def platform_connections(self) -> list[dict[str, Any]]:
        return [c for c in self.admin.client_list() if c["user"] == self.login.user]


@pytest.fixture
def secured(api: Api) -> Iterator[Secured]:
    """A redis-server with the embedded server's ACL (plus a harness user); the platform uses it as its user."""
    login, harness = RedisLogin.generated(), RedisLogin.generated("harness")
    server = RedisServer(login=login, admin=harness)
    admin = redis.Redis(port=server.port, username=harness.user, password=harness.password, decode_responses=True)
    with settings_env(REDIS_URL=server.url, APERTURE_REDIS_USER=login.user, APERTURE_REDIS_PASSWORD=login.password):
        yield Secured(server, login, admin)
    admin.close()
    server.stop()


def test_the_local_server_refuses_every_connection_that_has_not_authenticated_as_the_platform() -> None:
    # Given the server `python -m local` runs, and the login it made for the platform
    server = EmbeddedRedis()
    socket_path = server.url.removeprefix("unix://")
    try:
        # When a client connects without authenticating (in either protocol), Then it may not even PING
        for protocol in (2, 3):
            with pytest.raises(AuthenticationError, match=r"(?i)authentication required|authenticated"):
                redis.Redis(unix_socket_path=socket_path, protocol=protocol).ping()
        # And no password gets in as the default user, nor a wrong one as the platform's user
        for user, password in (("default", ""), ("default", server.login.password), (server.login.user, "guess")):
            with pytest.raises(AuthenticationError, match=r"(?i)invalid username-password pair"):
                redis.Redis(unix_socket_path=socket_path, username=user, password=password).ping()
        # While the platform's login works
        platform = redis.Redis(unix_socket_path=socket_path, username=server.login.user, password=server.login.password)
        assert platform.ping() is True
        platform.close()
    finally:
        server.stop()


def test_the_platform_serves_users_as_its_own_user_without_a_refused_command(
    api: Api, pump: EventPump, secured: Secured
) -> None:
    # Given two users, one following the other, on a Redis that lets in only the platform's user
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    assert api.call("PUT", f"/users/{alice.user_id}/follow", bob).status_code == 200
    # When they do what people do: posts and a story fanned out, a feed, likes, a comment, search, the tray
    posts = [publish_post(alice, caption=f"#authtest {n}") for n in range(3)]
    publish_story(alice)
    pump.drain()
    feed = api.call("GET", "/feed", bob).json
    assert api.call("PUT", f"/posts/{posts[0]}/like", bob).json == {"liked": True, "like_count": 1}
    assert api.call("POST", f"/posts/{posts[0]}/comments", bob, json={"text": "nice"}).status_code == 201
    tray = api.call("GET", "/stories/tray", bob).json
    found = api.call("GET", "/search/users", bob, query_string={"q": alice.username}).json
    pump.drain()
    # Then they see what they should
    assert [p["post_id"] for p in feed["items"]] == posts[::-1]
    assert api.call("GET", f"/posts/{posts[0]}", alice).json["like_count"] == 1
    assert [entry["user"]["username"] for entry in tray["items"]] == [alice.username]
    assert [u["username"] for u in found["items"]] == [alice.username]
    # And when bob erases his account (which walks the keyspace with SCAN), it goes through
    assert api.call("DELETE", "/me", bob, json={"password": PASSWORD}).status_code == 202
    pump.drain()
    # And all of it went to this server, as the platform's user, and not one command was refused
    assert secured.admin.dbsize() > 0
    assert secured.platform_connections()
    assert secured.admin.acl_log() == []


def test_the_platform_may_not_flush_list_or_reconfigure_the_cache(secured: Secured) -> None:
    # Given the platform's client, authenticated as its user, and something stored
    client = wiring.redis_client()
    client.set("authtest:kept", "1")
    # When it tries what CACHE_ACCESS leaves out, Then each is refused, and the data stays
    for attempt in (client.flushdb, client.flushall, lambda: client.keys("*"), lambda: client.config_get("*")):
        with pytest.raises(NoPermissionError):
            attempt()
    assert client.get("authtest:kept") == "1"
    # And the server recorded each refusal against the platform's user
    denied = secured.admin.acl_log()
    assert {entry["object"].partition("|")[0] for entry in denied} == {"flushdb", "flushall", "keys", "config"}
    assert {entry["username"] for entry in denied} == {secured.login.user}


def test_a_connection_the_server_closes_is_replaced_by_one_authenticated_afresh(
    secured: Secured, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the platform's client with a connection open, and a count of the credentials it asks for
    client = wiring.redis_client()
    client.set("authtest:survives", "yes")
    assert len(secured.platform_connections()) == 1
    provider = client.connection_pool.connection_kwargs["credential_provider"]
    asked: list[tuple[str, ...]] = []
    get_credentials = provider.get_credentials
    monkeypatch.setattr(provider, "get_credentials", lambda: asked.append(get_credentials()) or asked[-1])
    # When the server closes it, as ElastiCache closes an IAM-authenticated connection after 12 hours
    assert secured.admin.client_kill_filter(user=secured.login.user) == 1
    # Then the next command still succeeds, on a new connection that authenticated with fresh credentials
    assert client.get("authtest:survives") == "yes"
    assert asked == [(secured.login.user, secured.login.password)]
    assert len(secured.platform_connections()) == 1
