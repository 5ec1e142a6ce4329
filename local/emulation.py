"""moto as the local AWS, with the few corrections that make it answer as AWS does where the platform relies on it."""

from __future__ import annotations

from typing import Any


def start_moto() -> tuple[Any, str]:
    """moto's server on a free loopback port, corrected; returns the server and its endpoint URL."""
    from moto.server import ThreadedMotoServer

    _cognito_refuses_unknown_refresh_tokens()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def _cognito_refuses_unknown_refresh_tokens() -> None:
    """Cognito answers a refresh token it never issued with NotAuthorizedException (the API's 401); moto looks it up
    unguarded and fails with a KeyError, which reaches boto3 as an HTTP 500."""
    from moto.cognitoidp.exceptions import NotAuthorizedError
    from moto.cognitoidp.models import CognitoIdpUserPool

    original = CognitoIdpUserPool.create_tokens_from_refresh_token
    if getattr(original, "corrected", False):
        return

    def create_tokens_from_refresh_token(self: CognitoIdpUserPool, refresh_token: str) -> tuple[str, str, int]:
        if refresh_token not in self.refresh_tokens:
            raise NotAuthorizedError(refresh_token)
        return original(self, refresh_token)

    create_tokens_from_refresh_token.corrected = True  # type: ignore[attr-defined]
    CognitoIdpUserPool.create_tokens_from_refresh_token = create_tokens_from_refresh_token  # type: ignore[method-assign]
