"""Every AWS call and Redis command a function makes while the tests run it is checked against its declared grants.

Grants in aperture.resources are what the CDK stacks turn into IAM policies (stacks/constructs/permissions.py,
whose action lists this reuses) and what puts a function in the VPC (`redis`). Locally nothing enforces them,
so a handler could use a table, a prefix or an action its deployed role lacks and only fail on AWS. Calls made
outside a function (test setup, seeding) are not checked.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from aperture.resources import FUNCTIONS, QUEUES, STREAMS, TABLES, Function, Queue, Stream, Table
from aperture.settings import get_settings
from local.invoke import running
from stacks.constructs import permissions as iam

_lock = threading.Lock()
violations: list[str] = []

# Calls that only happen locally: the queue's URL is looked up by name (on AWS it comes in the environment).
LOCAL_ONLY = {("sqs", "GetQueueUrl")}
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def _by_name(kind: str) -> dict[str, str]:
    settings = get_settings()
    by_kind: dict[str, tuple[Table, ...] | tuple[Stream, ...] | tuple[Queue, ...]] = {
        "table": TABLES,
        "stream": STREAMS,
        "queue": QUEUES,
    }
    declared = by_kind[kind]
    return {str(getattr(settings, d.setting)).rsplit("/", 1)[-1]: d.key for d in declared}


def _needs(service: str, operation: str, params: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(grant resource, key or prefix the call touches, IAM action) for each resource an AWS call touches."""
    if service == "dynamodb":
        tables = _by_name("table")
        if operation in ("BatchGetItem", "BatchWriteItem"):
            for name in params["RequestItems"]:
                yield f"table:{tables[name]}", "", f"dynamodb:{operation}"
        elif operation == "TransactWriteItems":
            for item in params["TransactItems"]:
                ((kind, body),) = item.items()
                yield f"table:{tables[body['TableName']]}", "", f"dynamodb:{TRANSACT_ACTIONS[kind]}"
        else:
            yield f"table:{tables[params['TableName']]}", "", f"dynamodb:{operation}"
    elif service == "kinesis":
        yield f"stream:{_by_name('stream')[params['StreamName']]}", "", f"kinesis:{operation}"
    elif service == "sqs":
        action = "sqs:SendMessage" if operation == "SendMessageBatch" else f"sqs:{operation}"
        yield f"queue:{_by_name('queue')[params['QueueUrl'].rsplit('/', 1)[-1]]}", "", action
    elif service == "s3":
        aliases = {
            "HeadObject": "s3:GetObject",
            "DeleteObjects": "s3:DeleteObject",
            "ListObjectsV2": "s3:ListBucket",
            # A multipart upload (a data export's ZIP) is authorized by s3:PutObject at every step
            "CreateMultipartUpload": "s3:PutObject",
            "UploadPart": "s3:PutObject",
            "CompleteMultipartUpload": "s3:PutObject",
        }
        # DeleteObject, GetObject, PutObject, PutObjectTagging: the IAM action is the operation's name
        key = params.get("Prefix", "") if operation == "ListObjectsV2" else params.get("Key", "")
        keys = [o["Key"] for o in params["Delete"]["Objects"]] if operation == "DeleteObjects" else [key]
        for touched in keys:
            yield "bucket", touched, aliases.get(operation, f"s3:{operation}")
    elif service == "cognito-idp":
        yield "user_pool", "", f"cognito-idp:{operation}"
    elif service == "sns":
        yield "sns:push", "", f"sns:{operation}"
    elif service == "rekognition":
        yield "rekognition:moderation", "", f"rekognition:{operation}"
    elif service == "cloudfront":
        yield "cdn:images", "", f"cloudfront:{operation}"
    else:
        yield f"{service}:?", "", f"{service}:{operation}"


_ACTIONS = {
    "table": (iam.TABLE_READ, iam.TABLE_WRITE),
    "stream": (iam.STREAM_READ, iam.STREAM_WRITE),
    "queue": (iam.QUEUE_READ, iam.QUEUE_WRITE),
    "bucket": ((*iam.OBJECT_READ, "s3:ListBucket"), iam.OBJECT_WRITE),
    "user_pool": (iam.USER_POOL_READ, iam.USER_POOL_WRITE),
    "sns": ((*iam.PUSH_ENDPOINT_READ,), (*iam.PUSH_ENDPOINT_WRITE, *iam.PUSH_APPLICATION_WRITE)),
    "rekognition": (iam.MODERATION_READ, ()),
    "cdn": ((), iam.CDN_INVALIDATE),
}


def _allowed(declaration: Function, resource: str, key: str, action: str) -> bool:
    kind = resource.partition(":")[0]
    for grant in declaration.grants:
        if kind == "bucket":
            if not (grant.resource.startswith("bucket:") and key.startswith(grant.resource.removeprefix("bucket:"))):
                continue
        elif grant.resource != resource:
            continue
        read, write = _ACTIONS[kind]
        granted = {"read": read, "write": write, "read_write": (*read, *write)}[grant.access]
        granted = (*granted, *iam.TABLE_SCAN) if grant.scan else granted
        if action in granted:
            return True
    return False


def check(function_name: str, service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """What a function's call would be refused on AWS, as messages (empty when its grants allow it all)."""
    if (service, operation) in LOCAL_ONLY:
        return []
    declaration = next(f for f in FUNCTIONS if f.name == function_name)
    return [
        f"{function_name}: {action} on {resource}{' ' + key.split('/')[0] + '/...' if key else ''} is not granted"
        for resource, key, action in _needs(service, operation, params)
        if not _allowed(declaration, resource, key, action)
    ]


def _record(messages: list[str]) -> None:
    if messages:
        with _lock:
            violations.extend(messages)


def install() -> None:
    """Watch every botocore call and Redis command made inside local.invoke, from now on."""
    import redis
    from botocore.client import BaseClient

    make_call = BaseClient._make_api_call

    def checked_call(self: Any, operation: str, params: dict[str, Any]) -> Any:
        name = running.get()
        if name is not None:
            _record(check(name, self.meta.service_model.service_name, operation, params))
        return make_call(self, operation, params)

    BaseClient._make_api_call = checked_call

    def uses_redis(method: Any) -> Any:
        def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
            name = running.get()
            if name is not None and not next(f for f in FUNCTIONS if f.name == name).redis:
                _record([f"{name}: uses Redis but is not declared with redis=True (it runs outside the VPC)"])
            return method(self, *args, **kwargs)

        return wrapped

    redis.Redis.execute_command = uses_redis(redis.Redis.execute_command)  # type: ignore[method-assign]
    redis.client.Pipeline.execute = uses_redis(redis.client.Pipeline.execute)  # type: ignore[method-assign]

    # The k-NN index is FAISS in process here and an OpenSearch domain on AWS, whose role policy the
    # search:explore grant writes: querying needs read, publishing a generation needs write.
    from aperture.adapters.vectors import FaissIndex

    def uses_search(method: Any, access: str) -> Any:
        def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
            name = running.get()
            if name is not None:
                grants = next(f for f in FUNCTIONS if f.name == name).grants
                if not any(g.resource == "search:explore" and g.access in (access, "read_write") for g in grants):
                    _record([f"{name}: {access} on the explore k-NN index (search:explore) is not granted"])
            return method(self, *args, **kwargs)

        return wrapped

    FaissIndex.replace = uses_search(FaissIndex.replace, "write")  # type: ignore[method-assign]
    FaissIndex.nearest = uses_search(FaissIndex.nearest, "read")  # type: ignore[method-assign]
