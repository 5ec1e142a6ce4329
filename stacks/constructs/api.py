"""The HTTP API: every route in aperture.routes.ROUTES, JWT-authorized by the Cognito pool where declared."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import cast

import jsii
from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from aperture.routes import STAGE_THROTTLE, UNMATCHED_FUNCTION, Route

from .nag import acknowledge

# Stage-wide ceiling per account and region, for every route without a throttle of its own (aperture.routes).
THROTTLE = apigwv2.ThrottleSettings(rate_limit=STAGE_THROTTLE.rate, burst_limit=STAGE_THROTTLE.burst)
# HTTP API context variables (the REST-API defaults such as resourcePath are empty here).
ACCESS_LOG_FORMAT = apigateway.AccessLogFormat.custom(
    json.dumps(
        {
            "requestId": "$context.requestId",
            "ip": "$context.identity.sourceIp",
            "requestTime": "$context.requestTime",
            "routeKey": "$context.routeKey",
            "status": "$context.status",
            "protocol": "$context.protocol",
            "responseLength": "$context.responseLength",
            "latencyMs": "$context.responseLatency",
            "integrationError": "$context.integrationErrorMessage",
            "authorizerError": "$context.authorizer.error",
        }
    )
)


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogs:
    def __init__(self, group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigateway.AccessLogFormat:
        return ACCESS_LOG_FORMAT


def issuer_url(user_pool_id: str) -> str:
    return f"https://cognito-idp.{Aws.REGION}.amazonaws.com/{user_pool_id}"


class HttpEndpoints(Construct):
    """An HTTP API with one Lambda integration per function and one route per declared route."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        routes: Iterable[Route],
        functions: Mapping[str, lambda_.IFunction],
        user_pool_id: str,
        user_pool_client_id: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.api = apigwv2.HttpApi(
            self,
            "Api",
            description="Aperture public API",
            create_default_stage=False,
            cors_preflight=apigwv2.CorsPreflightOptions(
                allow_origins=["*"],
                allow_methods=[apigwv2.CorsHttpMethod.ANY],
                # The web app is on its own origin: it signs in, sends JSON, makes retries safe and reads backoffs
                allow_headers=["authorization", "content-type", "idempotency-key"],
                expose_headers=["retry-after"],
            ),
        )
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.api,
            stage_name="$default",
            auto_deploy=True,
            access_log_settings=_AccessLogs(access_logs),
            throttle=THROTTLE,
            # Route-level metrics (4xx, 5xx, Count, Latency per method and path): the per-route alarms read them.
            detailed_metrics_enabled=True,
        )
        # API Gateway checks signature, expiry, issuer and audience (the IdToken's aud is the client id), so
        # functions trust the claims they are handed.
        self.authorizer = authorizers.HttpJwtAuthorizer(
            "Cognito",
            jwt_issuer=issuer_url(user_pool_id),
            jwt_audience=[user_pool_client_id],
            identity_source=["$request.header.Authorization"],
        )
        targets = {
            name: integrations.HttpLambdaIntegration(f"{name}-integration", function)
            for name, function in functions.items()
        }
        route_settings: dict[str, dict[str, int]] = {}
        created_routes: list[apigwv2.HttpRoute] = []
        for route in routes:
            created = self.api.add_routes(
                path=route.path,
                methods=[apigwv2.HttpMethod(route.method)],
                integration=targets[route.function],
                authorizer=self.authorizer if route.auth else apigwv2.HttpNoneAuthorizer(),
            )
            created_routes.extend(created)
            if route.throttle is not None:
                route_settings[route.route_key] = {
                    "ThrottlingRateLimit": route.throttle.rate,
                    "ThrottlingBurstLimit": route.throttle.burst,
                }
            if not route.auth:
                for public in created:
                    acknowledge(
                        public,
                        "AwsSolutions-APIG4",
                        f"{route.route_key} is public by design (declared auth=False in aperture.routes): "
                        "health checks, sign-up and sign-in are what a caller does before it has a token.",
                    )

        # Per-route throttles (the L2 stage has only the stage-wide one). A stage's route settings must name routes
        # that exist, so the stage waits for them.
        stage = cast(apigwv2.CfnStage, self.stage.node.default_child)
        stage.add_property_override("RouteSettings", route_settings)
        for created_route in created_routes:
            self.stage.node.add_dependency(created_route)

        unmatched = apigwv2.HttpRoute(
            self,
            "Unmatched",
            http_api=self.api,
            route_key=apigwv2.HttpRouteKey.DEFAULT,
            integration=targets[UNMATCHED_FUNCTION],
        )
        acknowledge(
            unmatched,
            "AwsSolutions-APIG4",
            "The $default route only answers requests that match no declared route, with a JSON 404 and no data; "
            "requiring a token first would turn every mistyped path into a 401.",
        )

    @property
    def url(self) -> str:
        return self.api.api_endpoint
