"""Abuse control on AWS (issue 12): API Gateway throttles per route, strictest on sign-in and sign-up, and reserved
concurrency on the functions a flood aims at, within the account's concurrency."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Template

import app as cdk_app
from aperture.resources import FUNCTIONS, RESERVED_CONCURRENCY_BUDGET
from aperture.routes import ROUTES, STAGE_THROTTLE
from stacks.service_stack import ServiceStack
from tests.infrastructure.conftest import NO_BUNDLING, Synthesized, logical_id, resources

ACCOUNT_DEFAULT_CONCURRENCY = 1_000
LAMBDA_KEEPS_UNRESERVED = 100


def _route_settings(template: dict[str, Any]) -> dict[str, dict[str, int]]:
    (stage,) = resources(template, "AWS::ApiGatewayV2::Stage").values()
    settings: dict[str, dict[str, int]] = stage["Properties"]["RouteSettings"]
    return settings


def _reserved(synthesized: Synthesized, template: dict[str, Any]) -> dict[str, int | None]:
    found = {}
    for declaration in FUNCTIONS:
        function = synthesized.service.functions.by_name[declaration.name].function
        properties = template["Resources"][logical_id(function)]["Properties"]
        found[declaration.name] = properties.get("ReservedConcurrentExecutions")
    return found


def test_sign_in_and_sign_up_have_the_strictest_route_throttles(service_template: dict[str, Any]) -> None:
    settings = _route_settings(service_template)
    auth = {key: settings[key] for key in ("POST /auth/signup", "POST /auth/token", "POST /auth/token/totp")}
    others = [s for key, s in settings.items() if key not in auth]
    assert auth["POST /auth/signup"]["ThrottlingRateLimit"] <= auth["POST /auth/token"]["ThrottlingRateLimit"]
    assert max(a["ThrottlingRateLimit"] for a in auth.values()) < min(o["ThrottlingRateLimit"] for o in others)
    assert max(a["ThrottlingBurstLimit"] for a in auth.values()) < min(o["ThrottlingBurstLimit"] for o in others)


def test_every_write_a_flood_aims_at_is_throttled_below_the_stage(service_template: dict[str, Any]) -> None:
    settings = _route_settings(service_template)
    flooded = {"POST /uploads", "POST /posts/{post_id}/comments", "PUT /posts/{post_id}/like"}
    assert flooded | {"PUT /users/{user_id}/follow", "POST /auth/refresh"} <= set(settings)
    for setting in settings.values():
        assert 0 < setting["ThrottlingRateLimit"] < STAGE_THROTTLE.rate
        assert setting["ThrottlingRateLimit"] <= setting["ThrottlingBurstLimit"] < STAGE_THROTTLE.burst
    # Each names a declared route (API Gateway refuses settings for a route that does not exist)...
    declared = {route.route_key for route in ROUTES}
    assert set(settings) <= declared
    # ...and the stage is created after the routes it names
    (stage_id,) = resources(service_template, "AWS::ApiGatewayV2::Stage")
    routes = resources(service_template, "AWS::ApiGatewayV2::Route")
    depends = set(service_template["Resources"][stage_id].get("DependsOn", []))
    named = {rid for rid, r in routes.items() if r["Properties"]["RouteKey"] in settings}
    assert named <= depends


def test_the_functions_a_flood_aims_at_reserve_concurrency_and_the_readers_do_not(
    synthesized: Synthesized, service_template: dict[str, Any]
) -> None:
    reserved = _reserved(synthesized, service_template)
    assert {name for name, amount in reserved.items() if amount} == {
        "auth",
        "uploads",
        "interactions",
        "users",
        "media_process",
    }
    assert reserved["auth"] == min(a for a in reserved.values() if a)  # public: the tightest


def test_the_reservations_leave_most_of_a_default_account_unreserved(
    synthesized: Synthesized, service_template: dict[str, Any]
) -> None:
    total = sum(amount or 0 for amount in _reserved(synthesized, service_template).values())
    assert total <= RESERVED_CONCURRENCY_BUDGET
    assert ACCOUNT_DEFAULT_CONCURRENCY - total >= 3 * RESERVED_CONCURRENCY_BUDGET >= LAMBDA_KEEPS_UNRESERVED


def test_an_account_with_a_small_concurrency_limit_deploys_with_no_reservation() -> None:
    app = cdk_app.build_app(context={**NO_BUNDLING, "reservedConcurrency": "false"})
    (service,) = (child for child in app.node.children if isinstance(child, ServiceStack))
    functions = resources(dict(Template.from_stack(service).to_json()), "AWS::Lambda::Function").values()
    assert all("ReservedConcurrentExecutions" not in f["Properties"] for f in functions)
