"""Writes the OpenAPI document generated from every API function's routes (`make openapi`)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Server

from aperture.api import make_resolver
from aperture.models.api import ErrorResponse
from aperture.routes import ROUTES

TITLE = "Aperture HTTP API"
VERSION = "1.0.0"


def openapi_document() -> dict[str, object]:
    functions = sorted({route.function for route in ROUTES})
    routers = [importlib.import_module(f"functions.{name}.handler").router for name in functions]
    # Including a router rebinds it to the including resolver; give each back to its own function after.
    owners = [router.api_resolver for router in routers]
    try:
        document = make_resolver(*routers).get_openapi_json_schema(
            title=TITLE,
            version=VERSION,
            summary="Posts, feed, follows and uploads of the Aperture photo platform",
            description=(
                "Every route but sign-up, sign-in (and its TOTP step), token refresh and health needs "
                "`Authorization: Bearer <IdToken>`. "
                "The token is checked before anything else: without a valid one the answer is 401, whatever the "
                "request holds. Then the body is validated (400 not JSON, 415 not application/json, 422 not the "
                'contract\'s shape: no coercion, so `true`, `"5"` or `5.0` is not an integer). Errors are '
                '`{"error": {"code", "message"}}`.'
            ),
            servers=[Server(url="/")],
            security_schemes={"cognito": HTTPBearer(bearerFormat="JWT", description="A Cognito IdToken")},
        )
    finally:
        for router, owner in zip(routers, owners, strict=True):
            router.api_resolver = owner
    schema: dict[str, object] = json.loads(document)
    public = {route.route_key for route in ROUTES if not route.auth}
    statuses = _success_statuses(routers)
    paths = schema.get("paths", {})
    if not isinstance(paths, dict):
        raise TypeError(f"the generated document's paths are a {type(paths).__name__}, not an object")
    for path, operations in paths.items():
        for method, operation in operations.items():
            template = path.replace("<", "{").replace(">", "}")
            route_key = f"{method.upper()} {template}"
            if route_key not in public:
                operation["security"] = [{"cognito": []}]
            _describe_responses(operation, statuses[route_key])
    _add_error_schema(schema)
    return schema


ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}


def _success_statuses(routers: list[Any]) -> dict[str, int]:
    """Each route's success status, as its handler declares it (200 unless `status_code=` says otherwise)."""
    found = {}
    for router in routers:
        for key in router._routes:  # (rule, methods, ..., status_code): powertools' route key
            rule, methods, status = key[0], key[1], key[-1]
            for method in methods:
                found[f"{method} {rule.replace('<', '{').replace('>', '}')}"] = int(status)
    return found


def _describe_responses(operation: dict[str, Any], success: int) -> None:
    """Powertools documents a route that lists its error responses with the success model on every one of them
    and no success response at all: put the model on the success status, and the API's error shape on errors."""
    responses: dict[str, Any] = operation["responses"]
    model = next(
        (r["content"] for r in responses.values() if "HTTPValidationError" not in json.dumps(r.get("content", {}))),
        None,
    )
    if str(success) not in responses:
        responses[str(success)] = {"description": "Success"}
    if "requestBody" in operation:  # what every route with a JSON body may answer (aperture.api)
        responses.setdefault("400", {"description": "The body is not valid JSON"})
        responses.setdefault("415", {"description": "The body is not application/json"})
    for code, response in responses.items():
        if int(code) >= 400:
            response["content"] = {"application/json": {"schema": ERROR_REF}}
        elif int(code) == 204 or model is None:
            response.pop("content", None)
        else:
            response["content"] = model


def _add_error_schema(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    definition = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(definition.pop("$defs", {}))
    components["ErrorResponse"] = definition
    used = json.dumps(schema.get("paths", {}))
    for name in ("HTTPValidationError", "ValidationError"):
        if f"/{name}" not in used and name in components:
            del components[name]


def render() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/openapi.json")
    target.write_text(render())
    print(f"wrote {target}")
