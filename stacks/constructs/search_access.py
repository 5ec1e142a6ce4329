"""Who may do what inside the explore search domain, and its audit log: written at deploy by a custom resource.

With fine-grained access control on (stacks.constructs.search), OpenSearch authorizes each signed request a second
time, by the roles inside the domain that the caller's IAM role is mapped to: an IAM role mapped to none may do
nothing. Those roles and mappings live in the domain's security index, which CloudFormation cannot write, so a custom
resource (stacks/handlers/search_access) writes them through the security plugin's REST API: one role per access to
the explore alias (stacks.constructs.permissions, from the same grants as the functions' IAM policies), and each
function's IAM role mapped to the roles its grants name. It also turns the audit log on inside the domain: the
domain's log publishing only ships what the security plugin records, and the plugin records once told to.

The handler runs in the VPC, where the domain answers, from a security group that reaches the domain alone, as the
domain's master user (a role that may write the security API and nothing else of the domain). CDK's provider
framework, outside the VPC, invokes it and answers CloudFormation, which isolated subnets could not reach. Both run
only during deploys: nothing here bills while idle.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from .functions import LOG_RETENTION, Placement, ServiceFunction
from .layer import ARCHITECTURE, RUNTIME
from .nag import BASIC_EXECUTION, acknowledge, managed_policy_finding, wildcard_resource_finding
from .permissions import SEARCH_ALIASES, search_security_roles, search_security_roles_for
from .search import ExploreSearch

HANDLER_CODE = Path(__file__).resolve().parents[1] / "handlers" / "search_access"
RESOURCE_TYPE = "Custom::SearchAccess"
# The security plugin's audit settings (PUT _plugins/_security/api/audit/config). Recorded: failed logins, refused
# requests (MISSING_PRIVILEGES: a role asking for more than its mapping gives), spoofed headers, index administration
# (the refresh job creating, re-aliasing and deleting generations, a few a run) and every read and write of the
# security configuration itself (compliance internal_config). Not recorded: requests that were let through
# (AUTHENTICATED, GRANTED_PRIVILEGES: every explore k-NN query would be a line) and request bodies (a refused bulk
# load would put up to 100 KB of vectors in one). So the log costs cents a month; see docs/cost.md.
AUDIT: dict[str, Any] = {
    "enabled": True,
    "audit": {
        "enable_rest": True,
        "disabled_rest_categories": ["AUTHENTICATED", "GRANTED_PRIVILEGES"],
        "enable_transport": True,
        "disabled_transport_categories": ["AUTHENTICATED", "GRANTED_PRIVILEGES"],
        "resolve_bulk_requests": False,
        "log_request_body": False,
        "resolve_indices": True,
        "exclude_sensitive_headers": True,
        "ignore_users": [],
        "ignore_requests": [],
    },
    "compliance": {
        "enabled": True,
        "internal_config": True,
        "external_config": False,
        "read_metadata_only": True,
        "read_watched_fields": {},
        "read_ignore_users": [],
        "write_metadata_only": True,
        "write_log_diffs": False,
        "write_watched_indices": [],
        "write_ignore_users": [],
    },
}


def role_mappings(functions: Mapping[str, ServiceFunction]) -> dict[str, list[str]]:
    """The domain's role name -> the IAM role ARNs of the functions whose grants name it."""
    mappings: dict[str, list[str]] = {}
    for name in sorted(functions):
        service_function = functions[name]
        role = service_function.function.role
        for grant in service_function.declaration.grants:
            for security_role in search_security_roles_for(grant):
                if role is None:
                    raise ValueError(f"function {name!r} is granted {grant.resource!r} but has no role to map")
                mappings.setdefault(security_role, []).append(role.role_arn)
    return mappings


class SearchAccess(Construct):
    """The custom resource (`resource`), its in-VPC handler (`handler`) and CDK's provider framework around it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        search: ExploreSearch,
        placement: Placement,
        functions: Mapping[str, ServiceFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        # The stateful stack owns the role (the domain names it as master user); the handler only runs as it.
        administrator = iam.Role.from_role_arn(self, "Administrator", search.administrator.role_arn, mutable=False)
        self.handler = lambda_.Function(
            self,
            "Handler",
            description="Aperture explore search: writes the domain's roles, role mappings and audit configuration",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler="handler.on_event",
            code=lambda_.Code.from_asset(str(HANDLER_CODE), exclude=["**/__pycache__", "**/*.pyc", "__init__.py"]),
            memory_size=128,
            timeout=Duration.minutes(5),  # five requests of up to 20 s each, to a domain fresh from blue/green
            role=administrator,
            vpc=placement.vpc,
            vpc_subnets=placement.subnets,
            security_groups=[search.administration],
            log_group=logs.LogGroup(self, "Logs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY),
        )
        acknowledge(
            self.handler,
            "AwsSolutions-L1",
            "Python 3.12 is the platform's chosen runtime (the service functions and their tests use it too); "
            "moving runtimes is a deliberate, tested change for every function at once.",
        )
        provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.handler,
            log_group=logs.LogGroup(
                self, "ProviderLogs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY
            ),
        )
        self.provider = provider
        self._acknowledge_provider(provider)
        roles = {name: body for alias in SEARCH_ALIASES.values() for name, body in search_security_roles(alias).items()}
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties={
                "Endpoint": f"https://{search.domain.domain_endpoint}",
                # One JSON document: CloudFormation hands a custom resource every other scalar as a string.
                "Security": Stack.of(self).to_json_string(
                    {"roles": roles, "mappings": role_mappings(functions), "audit": AUDIT}
                ),
            },
        )

    def _acknowledge_provider(self, provider: cr.Provider) -> None:
        """CDK's provider framework: one Node.js function that invokes the handler and answers CloudFormation."""
        reasons = {
            managed_policy_finding(BASIC_EXECUTION): "CDK's provider framework writes its own CloudWatch logs "
            "through the AWS-maintained basic execution policy.",
            wildcard_resource_finding(self, f"{self.handler.function_arn}:*"): "CDK's grant to invoke the handler "
            "(any version of that one function), which the framework calls during deploys.",
        }
        for rule, reason in reasons.items():
            acknowledge(provider, rule, reason)
