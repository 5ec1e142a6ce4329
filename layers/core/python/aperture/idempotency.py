"""Claim, do, mark done: the one way a consumer makes a piece of work happen once per key.

Powertools' idempotency utility with its DynamoDB persistence layer does the bookkeeping: the key is claimed
(an INPROGRESS record), the work runs, and its result is saved (COMPLETED) so a redelivery gets the result without
doing the work again. Work that raises releases its claim, so the retry does it; work cut short by a timeout is
claimed until the invocation's deadline, then done again. The work itself must therefore be safe to redo up to
its last step: writes that are conditional or overwrite the same item, Redis operations that converge.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from aperture.errors import IdempotencyKeyInUseError, IdempotencyKeyReusedError

T = TypeVar("T")

# Longer than any stream or queue keeps a record (Kinesis 24 hours, SQS 4 days), so no redelivery outlives its key.
KEY_TTL_SECONDS = 7 * 86_400


class Once:
    """`once(key, work)` runs `work` to completion at most once per key and returns its (JSON-able) result."""

    def __init__(self, persistence: BasePersistenceLayer, expires_after_seconds: int = KEY_TTL_SECONDS) -> None:
        self._persistence = persistence
        self._config = IdempotencyConfig(expires_after_seconds=expires_after_seconds)

    def register(self, context: LambdaContext) -> None:
        """The running invocation: a claim left by a crash expires with it, so the retry can do the work."""
        self._config.register_lambda_context(context)

    def __call__(self, key: str, work: Callable[[], T]) -> T:
        @idempotent_function(data_keyword_argument="key", persistence_store=self._persistence, config=self._config)
        def claimed(key: str) -> Any:
            return work()

        result: T = claimed(key=key)
        return result


def dynamo_once(table_name: str, client: Any) -> Once:
    return Once(DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client))


# "The same key from the same user within 24 hours returns the first response" (API.md, Retries by clients).
REPLAY_TTL_SECONDS = 86_400


class Replays:
    """Client retries with an `Idempotency-Key`: the first successful answer to (user, route, key) is kept for 24
    hours and returned again to a retry, which creates nothing; a retry with another request under the same key
    is refused. The same Powertools bookkeeping as `Once`, with the request's hash validated against the first's.
    A request that failed keeps nothing, so its retry is tried afresh."""

    def __init__(
        self,
        persistence: BasePersistenceLayer,
        reservations: Reservations,
        expires_after_seconds: int = REPLAY_TTL_SECONDS,
    ) -> None:
        self._persistence = persistence
        self.reservations = reservations
        self._config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="request",
            expires_after_seconds=expires_after_seconds,
        )

    def register(self, context: LambdaContext) -> None:
        """The running invocation: a claim left by a crash expires with it, so the client's retry is done."""
        self._config.register_lambda_context(context)

    def __call__(self, key: str, request: dict[str, Any], work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """`work`'s JSON-able answer, or the first one's for this key (`key` names the user and the route)."""

        @idempotent_function(data_keyword_argument="call", persistence_store=self._persistence, config=self._config)
        def answered(call: dict[str, Any]) -> Any:
            return work()

        try:
            result: dict[str, Any] = answered(call={"key": key, "request": request})
        except IdempotencyValidationError as error:
            raise IdempotencyKeyReusedError(
                "this Idempotency-Key was sent before with a different request; use a new key for a new request"
            ) from error
        except IdempotencyAlreadyInProgressError as error:
            raise IdempotencyKeyInUseError(
                "a request with this Idempotency-Key is still being handled; retry in a moment"
            ) from error
        return result


class Reservations:
    """Ids that stay the same across a client's retries under one key, so that a request that died after its write
    and is sent again writes the same items (conditionally: nothing new) instead of new ones. Kept in the
    idempotency table next to Powertools' records (ids prefixed `ids#`), expiring with them."""

    def __init__(
        self,
        table_name: str,
        client: Any,
        expires_after_seconds: int = REPLAY_TTL_SECONDS,
        now_s: Callable[[], float] = time.time,
    ) -> None:
        self._table_name = table_name
        self._client = client
        self._expires_after_seconds = expires_after_seconds
        self._now_s = now_s

    def ids(self, key: str, request: dict[str, Any], count: int, new_id: Callable[[], int]) -> list[int]:
        """`count` ids for this key: new the first time, the same ones after. A different request under the same
        key is refused, as Powertools refuses it once the first answer is saved."""
        digest = hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()
        item_id = "ids#" + hashlib.sha256(key.encode()).hexdigest()
        ids = [new_id() for _ in range(count)]
        now = int(self._now_s())
        try:
            # New, or one whose time is up (TTL deletes expired items only eventually): replaced
            self._client.put_item(
                TableName=self._table_name,
                Item={
                    "id": {"S": item_id},
                    "ids": {"L": [{"N": str(i)} for i in ids]},
                    "request": {"S": digest},
                    "expiration": {"N": str(now + self._expires_after_seconds)},
                },
                ConditionExpression="attribute_not_exists(id) OR expiration < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            found = self._client.get_item(TableName=self._table_name, Key={"id": {"S": item_id}}, ConsistentRead=True)
            item = found["Item"]
            if item["request"]["S"] != digest:
                raise IdempotencyKeyReusedError(
                    "this Idempotency-Key was sent before with a different request; use a new key for a new request"
                ) from error
            return [int(i["N"]) for i in item["ids"]["L"]]
        return ids


def dynamo_replays(table_name: str, client: Any) -> Replays:
    persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client)
    return Replays(persistence, Reservations(table_name, client))
