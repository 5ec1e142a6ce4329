"""Settings: local defaults for `make dev` and the tests, and no silent local fallback on Lambda."""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from aperture import wiring
from aperture.adapters.redis_store.client import redis_client
from aperture.resources import FUNCTIONS, Function, function
from aperture.settings import MissingSettingError, Settings, get_settings, required_on_lambda, setting_variable

FEED = function("feed")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _bare_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No setting from the process (the tests' own emulated AWS sets many), and fresh settings after."""
    for name in list(os.environ):
        if name.startswith("APERTURE_") or name in {"REDIS_URL", "OPENSEARCH_URL", "AWS_LAMBDA_FUNCTION_NAME"}:
            monkeypatch.delenv(name)
    wiring.reset()
    yield
    wiring.reset()


def _deployed(monkeypatch: pytest.MonkeyPatch, name: str, **overrides: str) -> None:
    """The environment Lambda gives the declared function `name`: every required value set, then `overrides`."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", f"ServiceStack-{name}-A1B2C3")
    for field in required_on_lambda(function(name)):
        monkeypatch.setenv(setting_variable(field), f"deployed-{field}")
    monkeypatch.setenv("APERTURE_FUNCTION", name)
    for variable, value in overrides.items():
        monkeypatch.setenv(variable, value)


def test_locally_every_resource_has_its_local_name() -> None:
    # Given no AWS value set, and not on Lambda
    # When the settings are read
    settings = get_settings()
    # Then the local names and defaults stand in (what `make dev` provisions)
    assert settings.table_users == "aperture-users"
    assert settings.queue_fanout == "aperture-fanout"
    assert settings.media_bucket == "aperture-media"
    assert settings.redis_url is None
    assert not settings.on_lambda


def test_without_redis_url_the_layer_starts_no_server_and_says_what_is_missing() -> None:
    # Given no REDIS_URL (the local runtime sets one for the server it starts; the layer never starts one)
    # When the Redis client is asked for, Then it is refused, naming the variable
    with pytest.raises(MissingSettingError, match="REDIS_URL is not set"):
        redis_client()


def test_under_a_lambda_emulator_the_local_marker_keeps_the_local_names(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given Lambda's variable set by an emulator, with the marker the local runtime and the tests set
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "aperture-feed")
    monkeypatch.setenv("APERTURE_LOCAL", "1")
    # When the settings are read
    settings = get_settings()
    # Then nothing is required, and the local names stand in
    assert not settings.on_lambda
    assert settings.table_posts == "aperture-posts"


def test_on_lambda_a_function_given_what_it_needs_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the feed function deployed with every value it needs
    _deployed(monkeypatch, "feed", APERTURE_TABLE_POSTS="prod-posts", REDIS_URL="rediss://cache:6379")
    # When its settings are read
    settings = get_settings()
    # Then they are the deployed values
    assert settings.on_lambda
    assert settings.table_posts == "prod-posts"
    assert settings.redis_url == "rediss://cache:6379"


def test_on_lambda_a_missing_table_name_fails_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the feed function deployed without its posts table's name
    _deployed(monkeypatch, "feed")
    monkeypatch.delenv("APERTURE_TABLE_POSTS")
    # When its settings are first used
    # Then it fails, naming the variable, rather than reading a table called aperture-posts
    with pytest.raises(MissingSettingError, match=r"'feed' runs on Lambda without APERTURE_TABLE_POSTS:"):
        wiring.post_repository()


@pytest.mark.parametrize(
    ("name", "variable"),
    [
        ("feed", "REDIS_URL"),  # not the embedded server of `make dev`
        ("feed", "APERTURE_REDIS_USER"),  # not a connection nobody authenticated (the cache would refuse it)
        ("feed", "APERTURE_REDIS_IAM_CACHE"),  # not a token signed for no cache
        ("users", "APERTURE_QUEUE_FANOUT"),
        ("relay", "APERTURE_STREAM_EVENTS"),
        ("uploads", "APERTURE_MEDIA_BUCKET"),
        ("auth", "APERTURE_USER_POOL_CLIENT_ID"),
        ("explore", "OPENSEARCH_URL"),  # not FAISS in the function's memory
        ("cdn_invalidate", "APERTURE_CDN_DISTRIBUTION_ID"),  # not "nothing to invalidate"
        ("health", "APERTURE_CDN_BASE"),
    ],
)
def test_on_lambda_each_kind_of_missing_value_is_named(
    monkeypatch: pytest.MonkeyPatch, name: str, variable: str
) -> None:
    # Given a function deployed without one value it needs
    _deployed(monkeypatch, name)
    monkeypatch.delenv(variable)
    # When its settings are read, Then the error names that variable
    with pytest.raises(MissingSettingError, match=variable):
        Settings()


def test_on_lambda_an_empty_value_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a deployed function whose table name is set but empty
    _deployed(monkeypatch, "feed", APERTURE_TABLE_USERS="")
    # When its settings are read, Then it fails, naming it
    with pytest.raises(MissingSettingError, match="APERTURE_TABLE_USERS"):
        Settings()


def test_on_lambda_every_missing_value_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given only the function's identity
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ServiceStack-Fanout-A1B2C3")
    monkeypatch.setenv("APERTURE_FUNCTION", "fanout")
    # When its settings are read
    with pytest.raises(MissingSettingError) as raised:
        Settings()
    # Then one error lists everything the fanout function needs
    assert "APERTURE_CDN_BASE, APERTURE_QUEUE_FANOUT, APERTURE_TABLE_POSTS, REDIS_URL" in str(raised.value)


@pytest.mark.parametrize("declared", [None, "no_such_function"])
def test_on_lambda_the_function_must_name_a_declared_one(monkeypatch: pytest.MonkeyPatch, declared: str | None) -> None:
    # Given a Lambda whose declared function is unset or unknown
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "something")
    if declared:
        monkeypatch.setenv("APERTURE_FUNCTION", declared)
    # When its settings are read, Then it fails, naming the variable
    with pytest.raises(MissingSettingError, match="APERTURE_FUNCTION must name the declared function"):
        Settings()


def test_on_lambda_what_a_function_is_not_granted_is_not_required(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the health function deployed with its identity and the CDN base only (it is granted nothing)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ServiceStack-Health-A1B2C3")
    monkeypatch.setenv("APERTURE_FUNCTION", "health")
    monkeypatch.setenv("APERTURE_CDN_BASE", "https://d111.cloudfront.net")
    # When its settings are read, Then they are
    assert Settings().cdn_base == "https://d111.cloudfront.net"


def test_what_a_deployed_function_needs_follows_its_grants() -> None:
    needed = {setting_variable(field) for field in required_on_lambda(FEED)}
    assert needed == {
        "APERTURE_FUNCTION",
        "APERTURE_CDN_BASE",
        "REDIS_URL",
        "APERTURE_REDIS_USER",
        "APERTURE_REDIS_IAM_CACHE",
        "APERTURE_MEDIA_BUCKET",
        *(
            f"APERTURE_TABLE_{t}"
            for t in ("POSTS", "USERS", "FOLLOWS", "BLOCKS", "MUTES", "LIKES", "SAVES", "COMMENTS", "DISABLED_ACCOUNTS")
        ),
    }


@pytest.mark.parametrize(
    ("variables", "refusal"),
    [
        ({"APERTURE_REDIS_PASSWORD": "secret"}, "authenticate APERTURE_REDIS_USER, which is not set"),
        ({"APERTURE_REDIS_IAM_CACHE": "timelines"}, "authenticate APERTURE_REDIS_USER, which is not set"),
        (
            {"APERTURE_REDIS_USER": "aperture", "APERTURE_REDIS_PASSWORD": "secret", "APERTURE_REDIS_IAM_CACHE": "t"},
            "or with IAM",
        ),
        ({"APERTURE_REDIS_USER": "aperture"}, "without a way to authenticate it"),
    ],
    ids=["password-without-user", "iam-without-user", "password-and-iam", "user-without-proof"],
)
def test_redis_credentials_name_one_user_and_one_way_to_prove_it(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], refusal: str
) -> None:
    # Given Redis credentials that do not say who, or say it two ways
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    # When the settings are read, Then they are refused, saying why
    with pytest.raises(ValueError, match=refusal):
        Settings()


def test_the_redis_password_never_shows_in_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APERTURE_REDIS_USER", "aperture")
    monkeypatch.setenv("APERTURE_REDIS_PASSWORD", "s3cret-for-this-run")
    settings = Settings()
    assert "s3cret-for-this-run" not in repr(settings)
    assert settings.redis_password is not None
    assert settings.redis_password.get_secret_value() == "s3cret-for-this-run"


def _factories_called_by(handler: Path) -> list[str]:
    """The wiring factories a handler module calls (`wiring.feed()`) or hands on (`standing=wiring.standing`), read
    from its source."""
    calls = {
        node.attr
        for node in ast.walk(ast.parse(handler.read_text()))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "wiring"
    }
    return sorted(calls)


@pytest.mark.parametrize("declared", FUNCTIONS, ids=lambda f: f.name)
def test_every_service_a_handler_calls_can_be_built_with_what_its_function_is_given(
    monkeypatch: pytest.MonkeyPatch, declared: Function
) -> None:
    # Given the function deployed as declared: one outside the VPC has no REDIS_URL, and every other value is what
    # the stacks give it (a Redis or OpenSearch endpoint, if any, well formed)
    overrides = {"REDIS_URL": "redis://cache.invalid:6379"} if declared.redis else {}
    if "opensearch_url" in required_on_lambda(declared):
        overrides["OPENSEARCH_URL"] = "https://search.invalid"
    _deployed(monkeypatch, declared.name, **overrides)
    handler = ROOT / "functions" / declared.name / "handler.py"
    factories = _factories_called_by(handler)
    # When each service its handler calls is built (building connects to nothing)
    for factory in factories:
        getattr(wiring, factory)()
    # Then none needs a setting the function is not given (a Redis client outside the VPC, say)
    assert factories or declared.name == "health"


@pytest.mark.parametrize("declared", FUNCTIONS, ids=lambda f: f.name)
def test_every_function_with_signed_in_routes_refuses_disabled_accounts(declared: Function) -> None:
    # Given a handler whose routes read the signed-in caller
    source = (ROOT / "functions" / declared.name / "handler.py").read_text()
    if "caller(" not in source:
        return
    # Then its resolver is built with the account check, the one that fits where it runs (Redis or not)
    expected = "wiring.standing" if declared.redis else "wiring.standing_from_table"
    assert f"standing={expected})" in source
