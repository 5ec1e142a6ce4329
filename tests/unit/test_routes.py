"""The one route table agrees with the functions that serve it and with the committed OpenAPI document."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from aperture.resources import FUNCTIONS
from aperture.routes import ROUTES, UNMATCHED_FUNCTION
from local.gateway import compile_routes
from local.openapi import render

ROOT = Path(__file__).resolve().parents[2]


def _registered(function: str) -> set[tuple[str, str]]:
    router = importlib.import_module(f"functions.{function}.handler").router
    registered = set()
    for (rule, methods, *_), _handler in router._routes.items():
        for method in methods:
            registered.add((method, rule.replace("<", "{").replace(">", "}")))
    return registered


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.route_key)
def test_every_route_is_served_by_the_function_the_table_names(route) -> None:
    assert (route.method, route.path) in _registered(route.function)
    assert route.function in {f.name for f in FUNCTIONS}


def test_no_function_serves_a_route_missing_from_the_table() -> None:
    declared = {(r.method, r.path) for r in ROUTES}
    for function in {r.function for r in ROUTES}:
        assert _registered(function) <= declared, function


def test_only_signup_signin_refresh_and_health_are_public() -> None:
    # Refresh is public: the IdToken it replaces may have expired; the refresh token is the credential. The TOTP
    # answer is sign-in's second step (its session is the credential); sign-out needs a token like any other route.
    assert {r.route_key for r in ROUTES if not r.auth} == {
        "GET /health",
        "POST /auth/signup",
        "POST /auth/token",
        "POST /auth/token/totp",
        "POST /auth/refresh",
    }


def test_literal_segments_win_over_parameters() -> None:
    compiled = compile_routes()
    first = next(c for c in compiled if c.pattern.match("/users/abc/follow"))
    assert first.route.path == "/users/{user_id}/follow"
    me = next(c for c in compiled if c.pattern.match("/me"))
    assert me.route.path == "/me"


def test_the_committed_openapi_document_is_current() -> None:
    committed = (ROOT / "docs" / "openapi.json").read_text()
    assert committed == render(), "docs/openapi.json is stale: run `make openapi` and commit it"


def test_ids_in_paths_must_be_ascii_digits() -> None:
    import pytest as _pytest

    from aperture.api import parse_id
    from aperture.errors import NotFoundError

    assert parse_id("123", "post") == 123
    for bad in ("²", "١٢", "12a", "1" * 21, ""):
        with _pytest.raises(NotFoundError):
            parse_id(bad, "post")


def test_a_request_matching_no_route_gets_the_apis_json_404_on_aws_too() -> None:
    # API Gateway sends what matches no route to the $default route, integrated with UNMATCHED_FUNCTION.
    from local.invoke import invoke

    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/no/such/thing",
        "rawQueryString": "",
        "headers": {"accept": "application/json"},
        "isBase64Encoded": False,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "example.com",
            "domainPrefix": "example",
            "http": {
                "method": "GET",
                "path": "/no/such/thing",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "test",
            },
            "requestId": "id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "24/Nov/2026:00:00:00 +0000",
            "timeEpoch": 0,
        },
    }
    response = invoke(UNMATCHED_FUNCTION, event)
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["error"]["code"] == "route_not_found"


def test_a_known_path_with_another_method_is_no_route_locally_as_on_aws() -> None:
    from werkzeug.test import Client

    from local.gateway import Gateway

    gateway = Gateway(lambda name, event: {"statusCode": 500}, lambda: None, lambda: None, controls={})
    response = Client(gateway).open("/health", method="DELETE")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "route_not_found"


def test_the_openapi_document_gives_each_route_its_success_model_and_the_error_shape() -> None:
    document = json.loads((ROOT / "docs" / "openapi.json").read_text())
    schemas = document["components"]["schemas"]
    assert set(schemas["ErrorResponse"]["properties"]) == {"error"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            successes = [code for code in responses if code.startswith("2")]
            # One success each, but for a follow: 200 (following) or, for a private account, 202 (requested); and a
            # report: 201 (filed) or 200 (the caller's earlier report of the same target)
            assert len(successes) == 1 or successes in (["200", "202"], ["200", "201"]), (method, path, successes)
            for code in successes:
                success = responses[code]
                if code == "204":
                    assert "content" not in success, (method, path)
                else:
                    ref = success["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
                    assert ref in schemas and ref != "ErrorResponse", (method, path)
            for code, response in responses.items():
                if int(code) >= 400:
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/ErrorResponse"
                    }, (method, path, code)
