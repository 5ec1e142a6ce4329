"""moto as the local AWS, with the few corrections that make it answer as AWS does where the platform relies on it."""

from __future__ import annotations

import os
from typing import Any


def start_moto() -> tuple[Any, str]:
    """moto's server on a free loopback port, corrected; returns the server and its endpoint URL."""
    from moto.server import ThreadedMotoServer

    _cognito_refuses_unknown_refresh_tokens()
    _cognito_checks_client_flows_and_secrets()
    _cognito_checks_temporary_passwords()
    # moto accepts any TOTP code unless told to check it (against the one secret it hands every user).
    os.environ["MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP"] = "true"
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


def _cognito_checks_client_flows_and_secrets() -> None:
    """Cognito refuses a sign-in flow the app client does not allow, and a confidential client's call without the
    right SECRET_HASH (for a refresh, computed over the token's own user); moto (5.2) checks neither on
    InitiateAuth's password flow nor on AdminInitiateAuth, so the auth function's hashes would go untested."""
    from moto.cognitoidp.exceptions import InvalidParameterException, NotAuthorizedError
    from moto.cognitoidp.models import CognitoIdpBackend, CognitoIdpUserPool, CognitoIdpUserPoolClient
    from moto.cognitoidp.utils import check_secret_hash

    if getattr(CognitoIdpBackend.initiate_auth, "corrected", False):
        return
    original_initiate = CognitoIdpBackend.initiate_auth
    original_admin_initiate = CognitoIdpBackend.admin_initiate_auth

    def check(
        pool: CognitoIdpUserPool, client: CognitoIdpUserPoolClient, flow: str, parameters: dict[str, str]
    ) -> None:
        allowed = client.extended_config.get("ExplicitAuthFlows") or []
        if flow not in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN") and f"ALLOW_{flow}" not in allowed:
            raise InvalidParameterException(f"{flow} flow not enabled for this client")
        if not client.generate_secret:
            return
        username = parameters.get("USERNAME", "")
        if flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
            issued = pool.refresh_tokens.get(parameters.get("REFRESH_TOKEN", ""))
            username = issued[1] if issued else ""
        if not check_secret_hash(client.secret, client.id, username, parameters.get("SECRET_HASH")):
            raise NotAuthorizedError(f"Unable to verify secret hash for client {client.id}")

    def initiate_auth(
        self: CognitoIdpBackend, client_id: str, auth_flow: str, auth_parameters: dict[str, str]
    ) -> dict[str, Any]:
        for pool in self.user_pools.values():
            if client_id in pool.clients:
                check(pool, pool.clients[client_id], auth_flow, auth_parameters)
        return original_initiate(self, client_id, auth_flow, auth_parameters)

    def admin_initiate_auth(
        self: CognitoIdpBackend, user_pool_id: str, client_id: str, auth_flow: str, auth_parameters: dict[str, str]
    ) -> dict[str, Any]:
        pool = self.user_pools.get(user_pool_id)
        if pool is not None and client_id in pool.clients:
            check(pool, pool.clients[client_id], auth_flow, auth_parameters)
        return original_admin_initiate(self, user_pool_id, client_id, auth_flow, auth_parameters)

    initiate_auth.corrected = True  # type: ignore[attr-defined]
    CognitoIdpBackend.initiate_auth = initiate_auth  # type: ignore[method-assign]
    CognitoIdpBackend.admin_initiate_auth = admin_initiate_auth  # type: ignore[method-assign]


def _cognito_checks_temporary_passwords() -> None:
    """Cognito refuses AdminCreateUser with a TemporaryPassword outside the pool's policy (InvalidPasswordException),
    before the user exists; moto creates the user, which would leave a weak sign-up holding its username."""
    from moto.cognitoidp.models import CognitoIdpBackend, CognitoIdpUser

    original = CognitoIdpBackend.admin_create_user
    if getattr(original, "corrected", False):
        return

    def admin_create_user(
        self: CognitoIdpBackend,
        user_pool_id: str,
        username: str,
        message_action: str,
        temporary_password: str,
        attributes: list[dict[str, str]],
    ) -> CognitoIdpUser:
        if temporary_password:
            self._validate_password(user_pool_id, temporary_password)
        return original(self, user_pool_id, username, message_action, temporary_password, attributes)

    admin_create_user.corrected = True  # type: ignore[attr-defined]
    CognitoIdpBackend.admin_create_user = admin_create_user  # type: ignore[method-assign]
