"""Writes the OpenAPI document generated from every API function's routes (`make openapi`)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Server

from aperture.api import make_resolver
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
            servers=[Server(url="/")],
            security_schemes={"cognito": HTTPBearer(bearerFormat="JWT", description="A Cognito IdToken")},
        )
    finally:
        for router, owner in zip(routers, owners, strict=True):
            router.api_resolver = owner
    schema: dict[str, object] = json.loads(document)
    public = {route.route_key for route in ROUTES if not route.auth}
    paths = schema.get("paths", {})
    assert isinstance(paths, dict)
    for path, operations in paths.items():
        for method, operation in operations.items():
            template = path.replace("<", "{").replace(">", "}")
            if f"{method.upper()} {template}" not in public:
                operation["security"] = [{"cognito": []}]
    return schema


def render() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/openapi.json")
    target.write_text(render())
    print(f"wrote {target}")
