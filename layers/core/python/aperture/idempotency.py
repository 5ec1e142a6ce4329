"""Claim, do, mark done: the one way a consumer makes a piece of work happen once per key.

Powertools' idempotency utility with its DynamoDB persistence layer does the bookkeeping: the key is claimed
(an INPROGRESS record), the work runs, and its result is saved (COMPLETED) so a redelivery gets the result without
doing the work again. Work that raises releases its claim, so the retry does it; work cut short by a timeout is
claimed until the invocation's deadline, then done again. The work itself must therefore be safe to redo up to
its last step: writes that are conditional or overwrite the same item, Redis operations that converge.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext

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
