"""The explore search domain's fine-grained access control: its master role, the roles and mappings its custom
resource writes (stacks.constructs.search_access), its audit log, and where that custom resource runs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aperture.settings import Settings
from stacks.constructs.search_access import RESOURCE_TYPE
from tests.infrastructure.conftest import Synthesized, logical_id, resources
from tests.infrastructure.test_reachability import Templates, unreachable

# One synthesis per session: under xdist, every infrastructure test runs on the same worker.
pytestmark = pytest.mark.xdist_group("cdk")


def _render(node: Any) -> str:
    """A template string with each resource (or pseudo parameter) it names as <logical id>, each import as <export>."""
    if isinstance(node, str):
        return node
    if "Fn::Join" in node:
        delimiter, items = node["Fn::Join"]
        return str(delimiter).join(_render(item) for item in items)
    if "Fn::GetAtt" in node:
        return f"<{node['Fn::GetAtt'][0]}>"
    if "Ref" in node:
        return f"<{node['Ref']}>"
    if "Fn::ImportValue" in node:
        return f"<{node['Fn::ImportValue']}>"
    raise AssertionError(f"unexpected {node!r}")


def _domain(synthesized: Synthesized, stateful_template: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = stateful_template["Resources"][logical_id(synthesized.stateful.search.domain)][
        "Properties"
    ]
    return properties


def _statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _security(synthesized: Synthesized, service_template: dict[str, Any]) -> dict[str, Any]:
    (custom,) = resources(service_template, RESOURCE_TYPE).values()
    assert custom["Properties"]["ServiceToken"] == {
        "Fn::GetAtt": [
            logical_id(synthesized.service.search_access.provider.node.find_child("framework-onEvent")),
            "Arn",
        ]
    }
    security: dict[str, Any] = json.loads(_render(custom["Properties"]["Security"]))
    return security


def test_the_domain_authorizes_by_its_own_roles_with_an_iam_master_role_that_may_only_write_its_access_control(
    synthesized: Synthesized, stateful_template: dict[str, Any]
) -> None:
    # Given the search domain
    properties = _domain(synthesized, stateful_template)
    search = synthesized.stateful.search
    administrator = logical_id(search.administrator)
    # Then fine-grained access control is on, with an IAM role (no password anywhere) as its master user
    assert properties["AdvancedSecurityOptions"] == {
        "Enabled": True,
        "InternalUserDatabaseEnabled": False,
        "MasterUserOptions": {"MasterUserARN": {"Fn::GetAtt": [administrator, "Arn"]}},
    }
    # And what it requires is on: encryption at rest and between nodes, HTTPS only
    assert properties["EncryptionAtRestOptions"] == {"Enabled": True}
    assert properties["NodeToNodeEncryptionOptions"] == {"Enabled": True}
    assert properties["DomainEndpointOptions"]["EnforceHTTPS"] is True
    # And the master role is Lambda's to run as, and may only write (PUT, DELETE) the domain's security API
    trust = stateful_template["Resources"][administrator]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "lambda.amazonaws.com"}]
    (statement,) = _statements(stateful_template, administrator)
    assert sorted(statement["Action"]) == ["es:ESHttpDelete", "es:ESHttpPut"]
    assert _render(statement["Resource"]).endswith(":domain/aperture-explore/_plugins/_security/api/*")


def test_the_domain_publishes_its_audit_log_to_a_group_kept_a_year_that_only_the_service_may_write(
    synthesized: Synthesized, stateful_template: dict[str, Any]
) -> None:
    audit = _domain(synthesized, stateful_template)["LogPublishingOptions"]["AUDIT_LOGS"]
    assert audit["Enabled"] is True
    (group,) = audit["CloudWatchLogsLogGroupArn"]["Fn::GetAtt"][:1]
    declared = stateful_template["Resources"][group]
    # Kept a year, and kept when the stack is deleted: an audit trail a deletion erases is no trail
    assert declared["Properties"]["RetentionInDays"] == 365
    assert declared["DeletionPolicy"] == "Retain"
    # OpenSearch Service may write it, through the one resource policy of the domain's logs
    (policy,) = resources(stateful_template, "AWS::Logs::ResourcePolicy").values()
    (statement,) = json.loads(_render(policy["Properties"]["PolicyDocument"]))["Statement"]
    assert statement["Principal"] == {"Service": "es.amazonaws.com"}
    assert f"<{group}>" in statement["Resource"]
    # And the domain waits for that policy: OpenSearch refuses a logging change whose groups it may not yet write
    (policy_id,) = resources(stateful_template, "AWS::Logs::ResourcePolicy")
    domain = stateful_template["Resources"][logical_id(synthesized.stateful.search.domain)]
    assert policy_id in domain.get("DependsOn", [])


def test_each_function_granted_the_index_is_mapped_to_the_domain_role_of_its_access_and_no_other(
    synthesized: Synthesized, service_template: dict[str, Any]
) -> None:
    # Given what the custom resource writes into the domain
    security = _security(synthesized, service_template)
    alias = Settings().opensearch_alias
    by_name = synthesized.service.functions.by_name

    def role_of(name: str) -> str:
        role = by_name[name].function.role
        assert role is not None
        return f"<{logical_id(role)}>"

    # Then explore and explore_rank may search, explore_refresh may build and publish, and no other role is mapped
    assert {name: sorted(arns) for name, arns in security["mappings"].items()} == {
        f"{alias}-read": sorted([role_of("explore"), role_of("explore_rank")]),
        f"{alias}-write": [role_of("explore_refresh")],
    }
    read, write = security["roles"][f"{alias}-read"], security["roles"][f"{alias}-write"]
    # And both roles reach the alias and its generations only
    for role in (read, write):
        (permissions,) = role["index_permissions"]
        assert permissions["index_patterns"] == [alias, f"{alias}-*"]
    # And a reader only searches; the writer's one cluster-level action is the bulk load
    assert read["index_permissions"][0]["allowed_actions"] == ["indices:data/read/search*"]
    assert read["cluster_permissions"] == []
    assert write["cluster_permissions"] == ["indices:data/write/bulk"]
    assert not [a for a in write["index_permissions"][0]["allowed_actions"] if a == "*" or "security" in a]


def test_the_audit_log_is_turned_on_inside_the_domain_without_every_granted_request_or_body(
    synthesized: Synthesized, service_template: dict[str, Any]
) -> None:
    audit = _security(synthesized, service_template)["audit"]
    assert audit["enabled"] is True
    layers = audit["audit"]
    assert layers["enable_rest"] is True and layers["enable_transport"] is True
    # Refusals, failed logins and index administration are recorded; requests let through are not (every k-NN
    # query would be a line), nor request bodies
    for disabled in (layers["disabled_rest_categories"], layers["disabled_transport_categories"]):
        assert set(disabled) == {"AUTHENTICATED", "GRANTED_PRIVILEGES"}
    assert layers["log_request_body"] is False
    # And every change to the security configuration is recorded (compliance: internal config)
    assert audit["compliance"]["enabled"] is True and audit["compliance"]["internal_config"] is True


def test_the_custom_resource_runs_in_the_vpc_as_the_master_role_and_reaches_only_the_domain(
    synthesized: Synthesized, service_template: dict[str, Any], stateful_template: dict[str, Any]
) -> None:
    # Given the custom resource's handler
    access = synthesized.service.search_access
    search = synthesized.stateful.search
    properties = service_template["Resources"][logical_id(access.handler)]["Properties"]
    # Then it runs as the domain's master role, from the administration security group
    assert f"ExportsOutputFnGetAtt{logical_id(search.administrator)}Arn" in properties["Role"]["Fn::ImportValue"]
    (group,) = properties["VpcConfig"]["SecurityGroupIds"]
    administration = logical_id(search.administration)
    assert f"ExportsOutputFnGetAtt{administration}GroupId" in group["Fn::ImportValue"]
    # And from there the domain answers it
    templates = Templates(service=service_template, stateful=stateful_template)
    assert unreachable(templates, properties, {"es": {"es:ESHttpPut"}}) == {}
    # And that group may reach the domain on HTTPS and nothing else
    egress = [
        rule["Properties"]
        for rule in resources(stateful_template, "AWS::EC2::SecurityGroupEgress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [administration, "GroupId"]}
    ]
    assert [(r["IpProtocol"], r["FromPort"], r["ToPort"], r["DestinationSecurityGroupId"]) for r in egress] == [
        ("tcp", 443, 443, {"Fn::GetAtt": [logical_id(search.security_group), "GroupId"]})
    ]
    assert "SecurityGroupEgress" not in stateful_template["Resources"][administration]["Properties"]
    # And the provider framework (outside the VPC, so it can answer CloudFormation) may invoke that function only
    framework = access.provider.node.find_child("framework-onEvent")
    role = framework.node.find_child("ServiceRole")
    invoked = [s for s in _statements(service_template, logical_id(role)) if s["Action"] == "lambda:InvokeFunction"]
    handler = logical_id(access.handler)
    assert [_render(r) for s in invoked for r in s["Resource"]] == [f"<{handler}>", f"<{handler}>:*"]
