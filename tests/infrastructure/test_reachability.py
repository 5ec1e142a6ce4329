"""Every AWS service a function's role lets it call can be reached from where the function runs.

A function outside the VPC reaches every public AWS endpoint. A function inside it (the ones that use Redis) runs
in isolated subnets: it reaches a service only through a VPC endpoint for that service in its VPC (gateway endpoints
for S3 and DynamoDB, interface endpoints for the others) or through a NAT gateway. A grant without a way to reach
its service deploys fine and fails only when the call is made, on AWS; this finds it at synth.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from aperture.resources import FUNCTIONS, Function
from stacks.constructs.permissions import QUEUE_READ, STREAM_READ
from tests.infrastructure.conftest import Synthesized, logical_id, resources

# One synthesis per session: under xdist, every infrastructure test runs on the same worker.
pytestmark = pytest.mark.xdist_group("cdk")

# What Lambda's event source mapping does with the function's role, from Lambda's own network (never the
# function's): reading its source, and writing what keeps failing to its on-failure destination.
MAPPING_SOURCE_ACTIONS = {
    *STREAM_READ,  # granted by the function's stream:<key> read grant, used by its mapping
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    *QUEUE_READ,  # granted by its queue:<key> read grant
    "sqs:GetQueueUrl",
}
MAPPING_DESTINATION_ACTIONS = {
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:SendMessage",
    "sns:Publish",
    "s3:ListBucket",
    "s3:PutObject",
}
# The DynamoDB event source's action without a resource type (granted on "*" for the mapping to find the stream).
MAPPING_UNSCOPED_ACTIONS = {"dynamodb:ListStreams"}

# IAM service prefix -> (VPC endpoint service name after com.amazonaws.<region>., endpoint type). None: AWS offers
# no VPC endpoint for the service's API, so from isolated subnets only a NAT gateway reaches it.
ENDPOINTS: dict[str, tuple[str, str] | None] = {
    "dynamodb": ("dynamodb", "Gateway"),
    "s3": ("s3", "Gateway"),
    "kinesis": ("kinesis-streams", "Interface"),
    "sqs": ("sqs", "Interface"),
    "sns": ("sns", "Interface"),
    "cognito-idp": ("cognito-idp", "Interface"),
    "rekognition": ("rekognition", "Interface"),
    "xray": ("xray", "Interface"),
    "cloudwatch": ("monitoring", "Interface"),
    "logs": ("logs", "Interface"),
    "lambda": ("lambda", "Interface"),
    "cloudfront": None,
}
# A VPC OpenSearch domain answers on network interfaces in the VPC: reachable from inside it, never from outside.
# elasticache:Connect is no API call at all: the cache authorizes it when a function authenticates over the cache's
# own protocol (its Redis password an IAM token), so it is reached where the cache is, on its port, in the VPC.
HTTPS = 443
CACHE_PORT = 6379


@dataclass(frozen=True)
class Templates:
    service: dict[str, Any]
    stateful: dict[str, Any]

    def resolve(self, value: Any) -> Any:
        """A value imported from the stateful stack, as that stack writes it; any other value as it is."""
        if isinstance(value, dict) and "Fn::ImportValue" in value:
            name = value["Fn::ImportValue"]
            (output,) = (o for o in self.stateful["Outputs"].values() if o.get("Export", {}).get("Name") == name)
            return output["Value"]
        return value

    def stateful_of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return resources(self.stateful, resource_type)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _role_statements(synthesized: Synthesized, template: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The role's own statements (the managed policies only let Lambda write logs and attach the function's ENIs,
    both done by Lambda itself, not from the function's network)."""
    function = synthesized.service.functions.by_name[name].function
    assert function.role is not None
    role = logical_id(function.role)
    return [
        statement
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")  # (CDK's OverflowPolicy<n> for a large role)
        for policy in resources(template, kind).values()
        if {"Ref": role} in policy["Properties"].get("Roles", [])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
    ]


def _mapping_resources(template: dict[str, Any], function_id: str) -> tuple[list[Any], list[Any]]:
    """The sources and on-failure destinations of the function's event source mappings (as the template spells them)."""
    sources: list[Any] = []
    destinations: list[Any] = []
    for mapping in resources(template, "AWS::Lambda::EventSourceMapping").values():
        properties = mapping["Properties"]
        if properties["FunctionName"] != {"Ref": function_id}:
            continue
        sources.append(properties["EventSourceArn"])
        destination = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination is not None:
            destinations.append(destination)
    return sources, destinations


def _parts(arn: Any) -> list[Any]:
    """An ARN as the template spells it, as the parts of its Fn::Join (or the one value it is)."""
    if isinstance(arn, dict) and "Fn::Join" in arn and arn["Fn::Join"][0] == "":
        return list(arn["Fn::Join"][1])
    return [arn]


def _within(resource: Any, arn: Any) -> bool:
    """`resource` is `arn` itself, or a path under it (an object key pattern of a bucket, say)."""
    if resource == arn:
        return True
    whole, head = _parts(resource), _parts(arn)
    rest = whole[len(head) :]
    return whole[: len(head)] == head and bool(rest) and isinstance(rest[0], str) and rest[0].startswith("/")


def called_services(synthesized: Synthesized, template: dict[str, Any], declaration: Function) -> dict[str, set[str]]:
    """IAM service prefix -> the actions the function's own code may call (not its event source mapping)."""
    function_id = logical_id(synthesized.service.functions.by_name[declaration.name].function)
    sources, destinations = _mapping_resources(template, function_id)

    def the_mappings(action: str, resource: Any) -> bool:
        if action in MAPPING_UNSCOPED_ACTIONS and resource == "*" and sources:
            return True
        if action in MAPPING_SOURCE_ACTIONS and any(_within(resource, source) for source in sources):
            return True
        return action in MAPPING_DESTINATION_ACTIONS and any(_within(resource, target) for target in destinations)

    called: dict[str, set[str]] = {}
    for statement in _role_statements(synthesized, template, declaration.name):
        for action in _listed(statement["Action"]):
            if all(the_mappings(action, resource) for resource in _listed(statement["Resource"])):
                continue
            called.setdefault(action.partition(":")[0], set()).add(action)
    return called


@dataclass(frozen=True)
class Network:
    """Where an in-VPC function runs: its VPC, subnets and security groups (stateful-stack logical ids)."""

    vpc: str
    subnets: set[str]
    security_groups: set[str]


def _network(templates: Templates, properties: dict[str, Any]) -> Network | None:
    config = properties.get("VpcConfig")
    if config is None:
        return None
    subnets = {templates.resolve(s)["Ref"] for s in config["SubnetIds"]}
    groups = {templates.resolve(g)["Fn::GetAtt"][0] for g in config["SecurityGroupIds"]}
    declared = templates.stateful_of_type("AWS::EC2::Subnet")
    (vpc,) = {declared[s]["Properties"]["VpcId"]["Ref"] for s in subnets}
    return Network(vpc=vpc, subnets=subnets, security_groups=groups)


def _covers(rule: dict[str, Any], port: int) -> bool:
    if str(rule.get("IpProtocol")) == "-1":
        return True
    return str(rule.get("IpProtocol")) == "tcp" and int(rule["FromPort"]) <= port <= int(rule["ToPort"])


def _ingress_rules(templates: Templates, group: str) -> Iterator[dict[str, Any]]:
    declared = templates.stateful_of_type("AWS::EC2::SecurityGroup")[group]["Properties"]
    yield from declared.get("SecurityGroupIngress", [])
    for rule in templates.stateful_of_type("AWS::EC2::SecurityGroupIngress").values():
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [group, "GroupId"]}:
            yield rule["Properties"]


def _egress_rules(templates: Templates, group: str) -> Iterator[dict[str, Any]]:
    declared = templates.stateful_of_type("AWS::EC2::SecurityGroup")[group]["Properties"]
    yield from declared.get("SecurityGroupEgress", [])
    for rule in templates.stateful_of_type("AWS::EC2::SecurityGroupEgress").values():
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [group, "GroupId"]}:
            yield rule["Properties"]


def _group_of(reference: Any) -> str | None:
    """The logical id of a security group named by {"Fn::GetAtt": [group, "GroupId"]}, else None."""
    return reference["Fn::GetAtt"][0] if isinstance(reference, dict) and "Fn::GetAtt" in reference else None


def _admits(templates: Templates, groups: list[Any], network: Network, port: int = HTTPS) -> bool:
    """One of `groups` (a resource's security groups) lets the function's security groups in on `port`, and the
    function's groups let it out there."""
    targets = {g["Fn::GetAtt"][0] for g in groups}
    ingress = any(
        _covers(rule, port) and _group_of(rule.get("SourceSecurityGroupId")) in network.security_groups
        for target in targets
        for rule in _ingress_rules(templates, target)
    )
    egress = any(
        _covers(rule, port)
        and (rule.get("CidrIp") == "0.0.0.0/0" or _group_of(rule.get("DestinationSecurityGroupId")) in targets)
        for group in network.security_groups
        for rule in _egress_rules(templates, group)
    )
    return ingress and egress


def _route_tables(templates: Templates, network: Network) -> set[str]:
    return {
        a["Properties"]["RouteTableId"]["Ref"]
        for a in templates.stateful_of_type("AWS::EC2::SubnetRouteTableAssociation").values()
        if a["Properties"]["SubnetId"]["Ref"] in network.subnets
    }


def _through_nat(templates: Templates, network: Network) -> bool:
    """Every subnet of the function routes to the internet through a NAT gateway."""
    tables = _route_tables(templates, network)
    natted = {
        r["Properties"]["RouteTableId"]["Ref"]
        for r in templates.stateful_of_type("AWS::EC2::Route").values()
        if r["Properties"].get("DestinationCidrBlock") == "0.0.0.0/0" and "NatGatewayId" in r["Properties"]
    }
    return bool(tables) and tables <= natted


def _service_suffix(service_name: Any) -> str:
    """com.amazonaws.<region>.<name>, as CDK joins it, -> <name>."""
    parts = service_name["Fn::Join"][1] if isinstance(service_name, dict) else [service_name]
    return str(parts[-1]).rsplit(".", 1)[-1] if isinstance(parts[-1], str) else ""


def _through_endpoint(templates: Templates, network: Network, service: str, kind: str) -> bool:
    for endpoint in templates.stateful_of_type("AWS::EC2::VPCEndpoint").values():
        properties = endpoint["Properties"]
        if properties["VpcId"] != {"Ref": network.vpc} or _service_suffix(properties["ServiceName"]) != service:
            continue
        if properties.get("VpcEndpointType", "Gateway") != kind:
            continue
        if kind == "Gateway":
            # Reached through a route in each of the function's subnets' route tables.
            if _route_tables(templates, network) <= {t["Ref"] for t in properties.get("RouteTableIds", [])}:
                return True
        elif properties.get("PrivateDnsEnabled") and _admits(
            templates, properties.get("SecurityGroupIds", []), network
        ):
            # The SDK's default endpoint name resolves to the endpoint, which lets the function in on HTTPS.
            return True
    return False


def _search_domain_reachable(templates: Templates, network: Network | None) -> bool:
    domains = templates.stateful_of_type("AWS::OpenSearchService::Domain").values()
    for domain in domains:
        options = domain["Properties"].get("VPCOptions")
        if options is None:
            return True  # a public domain answers anyone its policy lets in
        if network is None:
            continue
        declared = templates.stateful_of_type("AWS::EC2::Subnet")
        vpcs = {declared[s["Ref"]]["Properties"]["VpcId"]["Ref"] for s in options["SubnetIds"]}
        if vpcs == {network.vpc} and _admits(templates, options.get("SecurityGroupIds", []), network):
            return True
    return False


def _cache_reachable(templates: Templates, network: Network | None) -> bool:
    """The serverless cache has interfaces in the function's VPC whose security group lets it in on the cache's port."""
    if network is None:
        return False
    declared = templates.stateful_of_type("AWS::EC2::Subnet")
    for cache in templates.stateful_of_type("AWS::ElastiCache::ServerlessCache").values():
        properties = cache["Properties"]
        vpcs = {declared[s["Ref"]]["Properties"]["VpcId"]["Ref"] for s in properties["SubnetIds"]}
        if vpcs == {network.vpc} and _admits(templates, properties["SecurityGroupIds"], network, CACHE_PORT):
            return True
    return False


def unreachable(templates: Templates, properties: dict[str, Any], services: dict[str, set[str]]) -> dict[str, str]:
    """Service -> why the function cannot reach it from where it runs."""
    network = _network(templates, properties)
    problems: dict[str, str] = {}
    for service, actions in sorted(services.items()):
        if service == "es":
            if not _search_domain_reachable(templates, network):
                problems[service] = f"{sorted(actions)}: the search domain is not reachable from where it runs"
            continue
        if service == "elasticache":
            if not _cache_reachable(templates, network):
                problems[service] = f"{sorted(actions)}: the cache is not reachable from where it runs"
            continue
        if service not in ENDPOINTS:
            problems[service] = f"{sorted(actions)}: no rule says how {service!r} is reached; add one to ENDPOINTS"
            continue
        if network is None or _through_nat(templates, network):
            continue  # the public endpoint
        endpoint = ENDPOINTS[service]
        if endpoint is None:
            problems[service] = f"{sorted(actions)}: AWS has no VPC endpoint for it and the VPC has no NAT gateway"
        elif not _through_endpoint(templates, network, *endpoint):
            problems[service] = f"{sorted(actions)}: no {endpoint[1].lower()} endpoint for {endpoint[0]} in its VPC"
    return problems


@pytest.mark.parametrize("declaration", FUNCTIONS, ids=lambda f: f.name)
def test_every_service_a_function_may_call_is_reachable_from_where_it_runs(
    synthesized: Synthesized,
    service_template: dict[str, Any],
    stateful_template: dict[str, Any],
    declaration: Function,
) -> None:
    # Given the AWS services the function's own code may call (its event source mapping's calls aside)
    services = called_services(synthesized, service_template, declaration)
    assert "xray" in services  # every function is traced: a role with no calls at all would prove nothing here
    # When we look at where it runs
    function = logical_id(synthesized.service.functions.by_name[declaration.name].function)
    properties = service_template["Resources"][function]["Properties"]
    templates = Templates(service=service_template, stateful=stateful_template)
    # Then each one is reachable: the function is outside the VPC, or an endpoint (or a NAT) in its VPC reaches it
    problems = unreachable(templates, properties, services)
    assert problems == {}, (
        f"{declaration.name} runs {'inside' if 'VpcConfig' in properties else 'outside'} the VPC and could not "
        f"reach: {problems}"
    )


def test_the_rule_finds_a_service_an_in_vpc_function_cannot_reach(
    synthesized: Synthesized, service_template: dict[str, Any], stateful_template: dict[str, Any]
) -> None:
    # Given an in-VPC function and the services the network reaches today
    (inside, *_) = [f for f in FUNCTIONS if f.redis]
    function = logical_id(synthesized.service.functions.by_name[inside.name].function)
    properties = service_template["Resources"][function]["Properties"]
    templates = Templates(service=service_template, stateful=stateful_template)
    # Then a call to CloudFront (AWS has no VPC endpoint for it) or to a service no rule covers is flagged, while
    # DynamoDB (a gateway endpoint) is not
    problems = unreachable(
        templates,
        properties,
        {"cloudfront": {"cloudfront:CreateInvalidation"}, "dynamodb": {"dynamodb:GetItem"}, "kms": {"kms:Decrypt"}},
    )
    assert set(problems) == {"cloudfront", "kms"}
    # And the same calls from outside the VPC reach their public endpoints
    outside = {k: v for k, v in properties.items() if k != "VpcConfig"}
    assert unreachable(templates, outside, {"cloudfront": {"cloudfront:CreateInvalidation"}}) == {}
    # And the cache only from inside it: connecting to it is authenticating over the cache's own port, in the VPC
    connect = {"elasticache": {"elasticache:Connect"}}
    assert unreachable(templates, properties, connect) == {}
    assert set(unreachable(templates, outside, connect)) == {"elasticache"}
