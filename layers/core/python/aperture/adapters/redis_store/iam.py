"""ElastiCache IAM authentication: the Redis password is a short-lived connect request presigned with the role.

The token is what AWS's own samples build (docs "Authenticating with IAM", ElastiCache): a SigV4 query-string
presign, for the service `elasticache`, of `GET http://<cache name>/?Action=connect&User=<user id>` (plus
`ResourceType=ServerlessCache` for a serverless cache), valid for 900 seconds, with the `http://` taken off. The
cache checks it once, when the connection authenticates (AUTH or HELLO); the connection then lives on, for at most
12 hours (ElastiCache closes it then; aperture.adapters.redis_store.client reconnects, asking for a token again).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.auth import SIGV4_TIMESTAMP, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from redis.credentials import CredentialProvider

SERVICE = "elasticache"
TOKEN_SECONDS = 900  # how long ElastiCache accepts a token after it was signed (its maximum)
# A token is handed out again for this long, so none is used in the last five minutes of its life: reconnecting
# connections of one burst share one signature, and a token is never offered so close to expiry that the clock
# difference between the function and the cache could refuse it.
REUSE_SECONDS = 600


class _PresignedAt(SigV4QueryAuth):
    """botocore's SigV4 query-string presign, dated by our clock rather than botocore's (tests freeze ours)."""

    def __init__(self, credentials: Any, region: str, signed_at: datetime) -> None:
        super().__init__(credentials, SERVICE, region, expires=TOKEN_SECONDS)
        self._signed_at = signed_at

    def add_auth(self, request: AWSRequest) -> None:
        request.context["timestamp"] = self._signed_at.strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        canonical_request = self.canonical_request(request)
        signature = self.signature(self.string_to_sign(request, canonical_request), request)
        self._inject_signature_to_request(request, signature)


class ElastiCacheIamToken(CredentialProvider):
    """redis-py's credential provider for an IAM-authenticated ElastiCache user: (user id, token) for each new
    connection, one token reused for REUSE_SECONDS."""

    def __init__(
        self,
        user_id: str,
        cache_name: str,
        region: str,
        credentials: Callable[[], Any],
        *,
        serverless: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # `credentials` gives botocore credentials (the shared session's: refreshed by botocore as they near their
        # own expiry), asked at each signing rather than once, so a refreshed role session is used.
        self._user_id = user_id
        self._cache_name = cache_name
        self._region = region
        self._credentials = credentials
        self._serverless = serverless
        self._clock = clock  # real time, never the platform's shifted clock: the cache checks against its own
        self._lock = threading.Lock()  # the local runtime and a cluster client may connect from several threads
        self._token: str | None = None
        self._signed_at = 0.0

    def get_credentials(self) -> tuple[str, str]:
        with self._lock:
            now = self._clock()
            if self._token is None or now - self._signed_at >= REUSE_SECONDS:
                self._token, self._signed_at = self._sign(now), now
            return self._user_id, self._token

    def _sign(self, now: float) -> str:
        credentials = self._credentials()
        if credentials is None:
            raise RuntimeError("no AWS credentials to sign the ElastiCache IAM token with")
        params = {"Action": "connect", "User": self._user_id}
        if self._serverless:
            params["ResourceType"] = "ServerlessCache"
        request = AWSRequest(method="GET", url=f"http://{self._cache_name}/", params=params)
        signed_at = datetime.fromtimestamp(now, tz=UTC)
        _PresignedAt(credentials.get_frozen_credentials(), self._region, signed_at).add_auth(request)
        return str(request.url).removeprefix("http://")
