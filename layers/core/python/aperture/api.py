"""HTTP glue shared by every API function: the resolver, error mapping, and who is calling."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from pydantic import BaseModel

from aperture.adapters.cognito import USER_ID_CLAIM
from aperture.errors import (
    ApertureError,
    ForbiddenError,
    MfaRequiredError,
    NotFoundError,
    RateLimitedError,
    UnauthorizedError,
)

if TYPE_CHECKING:  # (the idempotency utility brings boto3; only the functions that take Idempotency-Key load it)
    from aperture.idempotency import Replays
    from aperture.standing import AccountStanding

# List parameters every list route takes (API.md: limit 1..50, default 20; outside that, 422).
Limit = Annotated[int, Query(ge=1, le=50, description="items per page")]
Cursor = Annotated[str | None, Query(max_length=1024, description="next_cursor of the previous page")]

# Retries by clients (API.md): 1..64 printable characters, the same key within 24 hours answers as the first time.
IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=64,
        pattern=r"^[\x20-\x7e]+$",
        description=(
            "Makes a retry safe: the same key from the same user within 24 hours returns the first response "
            "and creates nothing new; the same key with a different request is 422 idempotency_key_reused."
        ),
    ),
]

# Error responses every authenticated route can give, for the OpenAPI document.
COMMON_RESPONSES: dict[int, OpenAPIResponse] = {
    401: {"description": "No token, or an invalid or expired one"},
    422: {"description": "The request does not match the contract"},
    503: {"description": "A service the request needs is throttled or down: retry after `Retry-After` seconds"},
}


# What a rate-limited route answers past its limit (aperture.limits)
RATE_LIMITED: dict[int, OpenAPIResponse] = {
    429: {"description": "Too many of these lately (`rate_limited`): retry after `Retry-After` seconds"}
}


# A private account's content asked for by someone who is not its owner or an approved follower.
PRIVATE_ACCOUNT: OpenAPIResponse = {"description": "A private account you do not follow (`private_account`)"}


def error_response(status: int, code: str, message: str, **more: str) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps({"error": {"code": code, "message": message, **more}}),
    )


# DynamoDB (and other AWS) refusals that mean "too much, now": retried with backoff by botocore, then a 503.
THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "Throttling",
        "SlowDown",
    }
)
TRANSACTION_BUSY_REASONS = frozenset(
    {"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded", "TransactionConflict"}
)
RETRY_AFTER_SECONDS = 1


def _unavailable(message: str) -> Response[str]:
    response = error_response(503, "service_unavailable", message)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _redis_unavailable(error: Exception) -> bool:
    """Whether `error` is Redis not answering (down, timed out, failing over).

    Matched here rather than registered as exception handlers by class: importing redis for its classes would load
    the whole client into the API functions that never talk to Redis (docs/benchmarks.md, cold starts). A process
    that has not loaded redis cannot have raised one of its errors."""
    exceptions = sys.modules.get("redis.exceptions")
    return exceptions is not None and isinstance(
        error,
        (exceptions.ConnectionError, exceptions.TimeoutError, exceptions.ClusterDownError, exceptions.TryAgainError),
    )


def _describe(errors: Any) -> str:
    parts = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in {"body", "query", "path"})
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid")))
    return "; ".join(parts) or "the request is invalid"


def _unsupported(content_type: str) -> Response[str]:
    return error_response(
        415, "unsupported_media_type", f"send the body as application/json (it came as {content_type or 'nothing'})"
    )


# Deeper JSON is refused before parsing: nothing in the contract nests past a few levels, and Python's parser
# fails on about a thousand (a RecursionError, which would be a 500).
MAX_JSON_DEPTH = 32


def _nested_too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    if text.count("[") + text.count("{") <= limit:
        return False  # cannot be deeper than that: no scan
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _refusal(status: int, code: str, message: str) -> dict[str, Any]:
    """An API Gateway (HTTP API, payload 2.0) response in the API's error shape."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"error": {"code": code, "message": message}}),
        "isBase64Encoded": False,
    }


def _screen_body(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """What Powertools would otherwise turn into a 500: a body that is not JSON (a multipart body without its
    boundary among them) or JSON nested past reason. Also makes the media type case-insensitive, as HTTP says."""
    headers = event.get("headers") or {}
    content_type = str(headers.get("content-type", ""))
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    if content_type:
        headers["content-type"] = media + (";" + params if params else "")
    body = event.get("body")
    if not body or event.get("routeKey") == "$default":
        return None
    if media and media != "application/json" and not media.endswith("+json"):
        return _refusal(415, "unsupported_media_type", f"send the body as application/json (it came as {media})")
    text = body
    if event.get("isBase64Encoded"):
        try:
            text = base64.b64decode(body).decode()
        except (ValueError, UnicodeDecodeError):
            return _refusal(400, "invalid_json", "the request body is not valid JSON (not UTF-8 text)")
    if _nested_too_deep(text):
        return _refusal(400, "invalid_json", f"the request body nests deeper than {MAX_JSON_DEPTH} levels")
    return None


class ApertureResolver(APIGatewayHttpResolver):
    """Powertools' resolver, with bodies screened first (see _screen_body)."""

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        refused = _screen_body(event)
        return refused if refused is not None else super().resolve(event, context)


def make_resolver(*routers: Router, standing: Callable[[], AccountStanding] | None = None) -> APIGatewayHttpResolver:
    """A resolver with request validation and one mapping from errors to JSON error bodies. With `standing` (every
    function with authenticated routes), requests by disabled accounts are refused."""
    app = ApertureResolver(enable_validation=True)
    for router in routers:
        app.include_router(router)
    if standing is not None:
        app.use(middlewares=[_refusing_disabled_accounts(standing)])

    @app.exception_handler(ApertureError)
    def _domain_error(error: ApertureError) -> Response[str]:
        if isinstance(error, MfaRequiredError):
            return error_response(error.status, error.code, error.message, session=error.session)
        response = error_response(error.status, error.code, error.message)
        if isinstance(error, RateLimitedError):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    def _content_type() -> str:
        return str((app.current_event.headers or {}).get("content-type", ""))

    @app.exception_handler(RequestValidationError)
    def _validation_error(error: RequestValidationError) -> Response[str]:
        errors = list(error.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "invalid_json", "the request body is not valid JSON")
        content_type = _content_type()
        if (
            content_type
            and not content_type.startswith("application/json")
            and any(e.get("loc", ())[:1] == ("body",) for e in errors)
        ):
            # A form or text body on a JSON route (curl -d without -H): say what to send instead.
            return _unsupported(content_type)
        return error_response(422, "invalid_request", _describe(errors))

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported_type(_: RequestUnsupportedContentType) -> Response[str]:
        return _unsupported(_content_type())

    @app.exception_handler(ClientError)
    def _aws_error(error: ClientError) -> Response[str]:
        code = error.response.get("Error", {}).get("Code")
        reasons = {r.get("Code") for r in error.response.get("CancellationReasons", [])}
        # A transaction DynamoDB cancelled for capacity or a conflicting transaction says so in its reasons
        busy = code == "TransactionCanceledException" and bool(reasons & TRANSACTION_BUSY_REASONS)
        if code not in THROTTLING_CODES and not busy:
            raise error
        # The client's retries with backoff (adapters/aws.py) ran out: the client may retry, a little later
        return _unavailable("the service is busy; retry after the time in Retry-After")

    def _cache_down(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        try:
            return next_middleware(app)
        except Exception as error:
            if not _redis_unavailable(error):
                raise
            return _unavailable("a service the request needs is not answering; retry after the time in Retry-After")

    app.use([_cache_down])

    @app.exception_handler(RouteNotFoundError)
    def _no_route(_: Exception) -> Response[str]:
        return error_response(404, "route_not_found", "there is no such route")

    @app.exception_handler(json.JSONDecodeError)
    def _bad_json(_: Exception) -> Response[str]:
        return error_response(400, "invalid_json", "the request body is not valid JSON")

    @app.exception_handler(UnicodeDecodeError)
    def _not_text(_: Exception) -> Response[str]:  # (bytes that are not UTF-8: API Gateway passes them in base64)
        return error_response(400, "invalid_json", "the request body is not valid JSON (not UTF-8 text)")

    return app


def _refusing_disabled_accounts(standing: Callable[[], AccountStanding]) -> Callable[..., Response[Any]]:
    def refuse(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        """Every authenticated request by a suspended or erased account is refused (401 account_disabled): the JWT
        authorizer checks only the token, which stays valid until it expires. A change is refused before it runs;
        a read is checked after, with the set it fetched in its first batch if it did (no round trip of its own)."""
        user_id = _claimed_user_id(app.current_event)
        if user_id is None:
            return next_middleware(app)
        if app.current_event.request_context.http.method.upper() in READ_METHODS:
            return standing().checked_after(user_id, lambda: next_middleware(app))
        standing().require_active(user_id)
        return next_middleware(app)

    return refuse


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _claimed_user_id(event: APIGatewayProxyEventV2) -> int | None:
    authorizer = event.request_context.authorizer
    claims = (authorizer.jwt_claim if authorizer else None) or {}
    user_id = str(claims.get(USER_ID_CLAIM) or "")
    return int(user_id) if user_id.isascii() and user_id.isdigit() else None


@dataclass(frozen=True)
class Caller:
    user_id: int
    username: str
    groups: frozenset[str] = frozenset()

    def require_group(self, group: str) -> None:
        if group not in self.groups:
            raise ForbiddenError(f"only members of {group!r} may do this")


def _groups(claim: Any) -> frozenset[str]:
    """Cognito groups from the claim: a list, or API Gateway's flattened "[a b]" string."""
    if isinstance(claim, list | tuple):
        return frozenset(str(g) for g in claim)
    text = str(claim or "").strip().strip("[]")
    return frozenset(g for g in text.replace(",", " ").split() if g)


def caller(router: Router | APIGatewayHttpResolver) -> Caller:
    """The signed-in user, from the claims the JWT authorizer (or the local gateway) verified."""
    event = cast(APIGatewayProxyEventV2, router.current_event)
    authorizer = event.request_context.authorizer
    claims = (authorizer.jwt_claim if authorizer else None) or {}
    user_id = str(claims.get(USER_ID_CLAIM) or "")
    if not user_id.isdigit():
        raise UnauthorizedError("a valid IdToken is required")
    return Caller(
        user_id=int(user_id),
        username=str(claims.get("cognito:username", "")),
        groups=_groups(claims.get("cognito:groups")),
    )


M = TypeVar("M", bound=BaseModel)


def answered_once(
    router: Router,
    replays: Replays,
    key: str | None,
    request: dict[str, Any],
    work: Callable[[Callable[[], int]], M],
    model: type[M],
    new_id: Callable[[], int],
    ids: int = 1,
    charge: Callable[[], None] = lambda: None,
) -> M:
    """`work(new_id)`, or with an Idempotency-Key, the first answer to this user's request under that key.

    The work's new ids are reserved under the key, so a retry of a request that died after writing writes the same
    items again (conditionally: nothing new) and answers as the first would have.

    `charge` (a rate limit's take) runs before anything is written, the key's claim aside: a replayed answer is not
    charged again, and a refused request keeps nothing (its claim is released, no ids are reserved)."""
    if key is None:
        charge()
        return work(new_id)
    event = cast(APIGatewayProxyEventV2, router.current_event)
    scope = f"{caller(router).user_id} {event.route_key} {key}"

    def reserved() -> dict[str, Any]:
        charge()
        stable = iter(replays.reservations.ids(scope, request, ids, new_id))
        return work(lambda: next(stable)).model_dump(mode="json")

    return model.model_validate(replays(scope, request, reserved))


def source_address(router: Router | APIGatewayHttpResolver) -> str:
    """The client's address as API Gateway saw it (the TCP peer: a client cannot set it with a header)."""
    event = cast(APIGatewayProxyEventV2, router.current_event)
    return event.request_context.http.source_ip or "unknown"


def parse_id(value: str, what: str) -> int:

    if not (value.isascii() and value.isdigit()) or len(value) > 20:
        raise NotFoundError(f"there is no {what} {value!r}")
    return int(value)
