"""ElastiCache IAM authentication: the token the functions send as their Redis password, and how long one is used."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from botocore.credentials import Credentials

from aperture.adapters.redis_store.client import redis_client
from aperture.adapters.redis_store.iam import REUSE_SECONDS, TOKEN_SECONDS, ElastiCacheIamToken
from tests.support import settings_env

CACHE = "aperture-stateful-timelines"
USER = "aperture-stateful-functions"
REGION = "eu-west-1"
SIGNED_AT = datetime(2025, 3, 14, 15, 9, 26, tzinfo=UTC)
ACCESS_KEY, SECRET_KEY, SESSION_TOKEN = "ASIAEXAMPLEKEY", "example/secret+key", "session//token=="


class FrozenClock:
    def __init__(self, at: datetime) -> None:
        self.seconds = at.timestamp()

    def __call__(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


def _provider(clock: FrozenClock, *, serverless: bool = True) -> tuple[ElastiCacheIamToken, list[int]]:
    """The provider with fixed role credentials; the list counts how often it asked for them (once per signing)."""
    asked: list[int] = []

    def credentials() -> Credentials:
        asked.append(1)
        return Credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN)

    return ElastiCacheIamToken(USER, CACHE, REGION, credentials, serverless=serverless, clock=clock), asked


def _expected_signature(host: str, query: list[tuple[str, str]], amz_date: str) -> str:
    """SigV4 written out from AWS's description (not botocore's code): a query-string presign of GET / on `host`,
    the host header the only one signed, an empty payload."""
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in query if k != "X-Amz-Signature")
    canonical_request = "\n".join(
        [
            "GET",
            "/",
            "&".join(f"{k}={v}" for k, v in encoded),
            f"host:{host}\n",
            "host",
            hashlib.sha256(b"").hexdigest(),
        ]
    )
    scope = f"{amz_date[:8]}/{REGION}/elasticache/aws4_request"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = f"AWS4{SECRET_KEY}".encode()
    for part in (amz_date[:8], REGION, "elasticache", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def test_the_token_is_a_presigned_connect_request_for_the_serverless_cache_and_user() -> None:
    # Given fixed role credentials and a frozen clock
    provider, _ = _provider(FrozenClock(SIGNED_AT))
    # When redis-py asks for a new connection's credentials
    user, token = provider.get_credentials()
    # Then the user is the ElastiCache user id, and the password a presigned URL without its scheme
    assert user == USER
    assert not token.startswith("http")
    url = urlsplit(f"http://{token}")
    query = parse_qsl(url.query, keep_blank_values=True)
    params = dict(query)
    assert (url.hostname, url.path) == (CACHE, "/")
    assert params["Action"] == "connect"
    assert params["User"] == USER
    assert params["ResourceType"] == "ServerlessCache"
    # signed for ElastiCache in the cache's region, at the clock's time, valid for 15 minutes
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert params["X-Amz-Credential"] == f"{ACCESS_KEY}/20250314/{REGION}/elasticache/aws4_request"
    assert params["X-Amz-Date"] == "20250314T150926Z"
    assert params["X-Amz-Expires"] == str(TOKEN_SECONDS) == "900"
    assert params["X-Amz-SignedHeaders"] == "host"
    assert params["X-Amz-Security-Token"] == SESSION_TOKEN  # a role's session credentials carry their token
    # And the signature is SigV4's over exactly that request
    assert params["X-Amz-Signature"] == _expected_signature(CACHE, query, params["X-Amz-Date"])


def test_a_replication_group_token_names_no_resource_type() -> None:
    provider, _ = _provider(FrozenClock(SIGNED_AT), serverless=False)
    _, token = provider.get_credentials()
    params = dict(parse_qsl(urlsplit(f"http://{token}").query))
    assert "ResourceType" not in params
    assert params["Action"] == "connect"


def test_one_token_serves_every_connection_until_it_nears_its_expiry() -> None:
    # Given a token handed out for one connection
    clock = FrozenClock(SIGNED_AT)
    provider, asked = _provider(clock)
    _, first = provider.get_credentials()
    # When more connections open within REUSE_SECONDS (less than the token's 15 minutes)
    clock.advance(REUSE_SECONDS - 1)
    _, again = provider.get_credentials()
    # Then they get the same token, signed once
    assert again == first
    assert len(asked) == 1
    # And a connection opened after that gets a new one, signed at that time, still well within its own life
    clock.advance(1)
    _, renewed = provider.get_credentials()
    assert renewed != first
    assert dict(parse_qsl(urlsplit(f"http://{renewed}").query))["X-Amz-Date"] == "20250314T151926Z"
    assert len(asked) == 2
    assert REUSE_SECONDS < TOKEN_SECONDS - 60  # no token is offered in its last minutes


def test_without_role_credentials_no_token_is_made() -> None:
    provider = ElastiCacheIamToken(USER, CACHE, REGION, lambda: None, clock=FrozenClock(SIGNED_AT))
    with pytest.raises(RuntimeError, match="no AWS credentials"):
        provider.get_credentials()


def test_a_function_configured_for_iam_connects_with_tokens_signed_by_its_role() -> None:
    # Given the variables the stacks give a function that uses Redis, and the role's credentials Lambda provides
    with settings_env(
        REDIS_URL="rediss://cache.invalid:6379",
        APERTURE_REDIS_USER=USER,
        APERTURE_REDIS_IAM_CACHE=CACHE,
        AWS_REGION=REGION,
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_SESSION_TOKEN=SESSION_TOKEN,
    ):
        # When its Redis client is built (which connects to nothing) and asked how a connection authenticates
        provider = redis_client().connection_pool.connection_kwargs["credential_provider"]
        user, token = provider.get_credentials()
    # Then it is as the user, with a token for the cache signed with the process's AWS credentials
    assert isinstance(provider, ElastiCacheIamToken)
    assert user == USER
    params = dict(parse_qsl(urlsplit(f"http://{token}").query))
    assert urlsplit(f"http://{token}").hostname == CACHE
    assert params["User"] == USER
    assert (
        params["X-Amz-Credential"].startswith(f"{ACCESS_KEY}/")
        and f"/{REGION}/elasticache/" in params["X-Amz-Credential"]
    )
    assert params["X-Amz-Security-Token"] == SESSION_TOKEN
