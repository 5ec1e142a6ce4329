"""cdk-nag acknowledgments: one helper so every waived rule carries its reason next to the resource."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

# Lambda's own logging/VPC policies; every role that uses them gets the same reasoned acknowledgment.
BASIC_EXECUTION = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
VPC_EXECUTION = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Waive `rule` (e.g. "AwsSolutions-S1" or "AwsSolutions-IAM5[Resource::*]") on `scope` and below."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))


def managed_policy_finding(policy_arn: str) -> str:
    return f"AwsSolutions-IAM4[Policy::{policy_arn}]"


def wildcard_resource_finding(scope: IConstruct, resource: str) -> str:
    """The IAM5 finding id cdk-nag reports for `resource` (a string that may hold tokens) in `scope`'s stack."""
    return f"AwsSolutions-IAM5[Resource::{_flatten(Stack.of(scope).resolve(resource))}]"


def _flatten(node: Any) -> str:
    # Mirrors cdk-nag's flattenCfnReference so an acknowledgment names exactly the finding nag raises.
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return str(delimiter).join(_flatten(item) for item in items)
        if "Fn::Sub" in node:
            return _flatten(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{_flatten(resource)}.{_flatten(attribute)}>"
        if "Fn::ImportValue" in node:
            return _flatten(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{_flatten(node['Ref'])}>"
    raise ValueError(f"cannot name a nag finding for {node!r}")
