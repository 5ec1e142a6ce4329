"""moto as the local AWS, with the few corrections that make it answer as AWS does where the platform relies on it."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import os
import threading
import types
from typing import Any


def start_moto() -> tuple[Any, str]:
    """moto's server on a free loopback port, corrected; returns the server and its endpoint URL."""
    from moto.server import ThreadedMotoServer

    _cognito_refuses_unknown_refresh_tokens()
    _cognito_checks_client_flows_and_secrets()
    _cognito_checks_temporary_passwords()
    _dispatch_lists_services_once()
    _dynamodb_transactions_are_isolated_and_undo_only_what_they_touched()
    # moto accepts any TOTP code unless told to check it (against the one secret it hands every user).
    os.environ["MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP"] = "true"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def _dispatch_lists_services_once() -> None:
    """moto's server lists its own package directory (a stat per service) on every request it dispatches (about a
    twentieth of the CPU a test run spends in it); the list never changes while it runs, so it is read once."""
    from moto import backends

    if getattr(backends.list_of_moto_modules, "corrected", False):
        return
    services = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules() -> tuple[str, ...]:
        return services

    list_of_moto_modules.corrected = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = list_of_moto_modules


# One DynamoDB call at a time, as AWS isolates a transaction from every other read and write of its items.
_DYNAMODB = threading.RLock()


def dynamodb_lock() -> threading.RLock:
    """The lock every emulated DynamoDB call holds (for a reader of moto's tables from outside a call)."""
    return _DYNAMODB


_DYNAMODB_CALLS = (
    "get_item",
    "put_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "batch_get_item",
    "batch_write_item",
    "transact_get_items",
)


def _dynamodb_transactions_are_isolated_and_undo_only_what_they_touched() -> None:
    """moto's TransactWriteItems deep-copies every table it touches before it starts, to put the copies back if it
    is cancelled: the outbox table and its stream records included, so each transaction cost grew with everything
    written before it (a test run spent over a third of its CPU there). And its server runs each request in a
    thread without a lock, so a cancelled transaction put back copies older than other requests' committed writes.

    Here a transaction remembers only the items it names and how long each touched table's stream was, and undoes
    exactly those; and every DynamoDB call holds one lock, so no read or write runs in the middle of a transaction.
    """
    from moto.dynamodb import models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items
    if getattr(original, "corrected", False):
        return

    def deepcopy(value: Any, memo: Any = None) -> Any:
        # (the module's own copies of a table are what the transaction no longer makes; other copies are kept)
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    models.copy = types.SimpleNamespace(deepcopy=deepcopy)  # type: ignore[assignment]

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        with _DYNAMODB:
            undo = _Undo(self.tables, transact_items)
            try:
                original(self, transact_items)
            except Exception:
                undo.restore()
                raise

    transact_write_items.corrected = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    for name in _DYNAMODB_CALLS:
        setattr(DynamoDBBackend, name, _holding_the_lock(getattr(DynamoDBBackend, name)))


class _Undo:
    """What a transaction's items were before it, and how long each touched table's stream was."""

    def __init__(self, tables: dict[str, Any], transact_items: list[dict[str, Any]]) -> None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        self._items: list[tuple[Any, Any, Any, Any]] = []  # (table, hash key, range key or None, item or None)
        self._streams: dict[int, tuple[Any, int]] = {}
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = tables.get(op.get("TableName", ""))
            key = op.get("Key") or op.get("Item") or {}
            range_attr = table.range_key_attr if table is not None else None
            if table is None or table.hash_key_attr not in key or (range_attr and range_attr not in key):
                continue  # (moto refuses it before writing anything)
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[range_attr]) if range_attr else None
            self._items.append((table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))))
            if table.stream_shard is not None:
                self._streams.setdefault(id(table), (table, len(table.stream_shard.items)))

    def restore(self) -> None:
        for table, hash_value, range_value, before in reversed(self._items):
            items = table.items if range_value is None else table.items[hash_value]
            key = hash_value if range_value is None else range_value
            if before is None:
                items.pop(key, None)
            else:
                items[key] = before
        for table, length in self._streams.values():
            del table.stream_shard.items[length:]


def _holding_the_lock(method: Any) -> Any:
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _DYNAMODB:
            return method(*args, **kwargs)

    return locked


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
        # (over UTF-8, as Cognito and our client compute it: moto's own check encodes as Latin-1 and fails with an
        # error, answered as a 500, on any username beyond it)
        expected = hmac.new(client.secret.encode(), (username + client.id).encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(base64.b64encode(expected).decode(), str(parameters.get("SECRET_HASH") or "")):
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
