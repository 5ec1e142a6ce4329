"""The edge stack: images leave through CloudFront over HTTPS, read with origin access control, format negotiated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment

from stacks.constructs.firewall import IMAGE_REQUESTS_PER_IP_PER_5_MINUTES
from stacks.edge_stack import EdgeStack
from tests.infrastructure.conftest import Synthesized, logical_id, resources

ROOT = Path(__file__).resolve().parents[2]

# One synthesis per session: under xdist, every infrastructure test runs on the same worker.
pytestmark = pytest.mark.xdist_group("cdk")


def _distribution(synthesized: Synthesized, template: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = template["Resources"][logical_id(synthesized.edge.cdn.distribution)]["Properties"][
        "DistributionConfig"
    ]
    return config


def test_images_are_served_over_https_only(synthesized: Synthesized, edge_template: dict[str, Any]) -> None:
    config = _distribution(synthesized, edge_template)
    behaviors = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
    assert [b["PathPattern"] for b in config["CacheBehaviors"]] == ["/images/*"]
    assert {b["ViewerProtocolPolicy"] for b in behaviors} == {"https-only"}
    assert {tuple(b["AllowedMethods"]) for b in behaviors} == {("GET", "HEAD")}


def test_the_bucket_is_read_through_origin_access_control(
    synthesized: Synthesized, edge_template: dict[str, Any]
) -> None:
    (origin,) = _distribution(synthesized, edge_template)["Origins"]
    (control,) = resources(edge_template, "AWS::CloudFront::OriginAccessControl")
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [control, "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    # The origin is the media bucket by its shared name: aperture-media-<account>-<region>.s3.<region>...
    assert origin["DomainName"]["Fn::Join"][1][0] == "aperture-media-"
    control_config = edge_template["Resources"][control]["Properties"]["OriginAccessControlConfig"]
    assert control_config["SigningBehavior"] == "always"


def test_image_cache_key_is_the_url_alone(synthesized: Synthesized, edge_template: dict[str, Any]) -> None:
    config = _distribution(synthesized, edge_template)
    (images,) = config["CacheBehaviors"]
    policy = edge_template["Resources"][images["CachePolicyId"]["Ref"]]["Properties"]["CachePolicyConfig"]
    keys = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    assert keys["HeadersConfig"] == {"HeaderBehavior": "none"}
    assert keys["QueryStringsConfig"] == {"QueryStringBehavior": "none"}
    assert keys["CookiesConfig"] == {"CookieBehavior": "none"}
    assert policy["DefaultTTL"] == 365 * 86400


def test_the_distribution_logs_to_its_own_private_bucket(
    synthesized: Synthesized, edge_template: dict[str, Any]
) -> None:

    logging = _distribution(synthesized, edge_template)["Logging"]
    logs = logical_id(synthesized.edge.cdn.logs)
    assert logging["Bucket"] == {"Fn::GetAtt": [logs, "RegionalDomainName"]}
    blocked = edge_template["Resources"][logs]["Properties"]["PublicAccessBlockConfiguration"]
    assert all(blocked.values())


# --- Format negotiation at the edge (stacks.constructs.cdn.FormatNegotiation) ---


def _images_behavior(synthesized: Synthesized, template: dict[str, Any]) -> dict[str, Any]:
    (images,) = _distribution(synthesized, template)["CacheBehaviors"]
    assert images["PathPattern"] == "/images/*"
    behavior: dict[str, Any] = images
    return behavior


def test_images_are_negotiated_by_a_viewer_request_cloudfront_function(
    synthesized: Synthesized, edge_template: dict[str, Any]
) -> None:
    # Given the /images/* behavior
    images = _images_behavior(synthesized, edge_template)
    # Then its one viewer-request association is the CloudFront Function built from edge/negotiate.js
    function = logical_id(synthesized.edge.cdn.negotiation.viewer_request)
    assert images["FunctionAssociations"] == [
        {"EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": [function, "FunctionARN"]}}
    ]
    properties = edge_template["Resources"][function]["Properties"]
    assert properties["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    assert properties["AutoPublish"] is True
    assert properties["FunctionCode"] == (ROOT / "edge" / "negotiate.js").read_text()


def test_images_fall_back_and_vary_through_one_lambda_at_edge_version(
    synthesized: Synthesized, edge_template: dict[str, Any]
) -> None:
    images = _images_behavior(synthesized, edge_template)
    (version,) = resources(edge_template, "AWS::Lambda::Version")
    assert images["LambdaFunctionAssociations"] == [
        {"EventType": "origin-request", "LambdaFunctionARN": {"Ref": version}},
        {"EventType": "origin-response", "LambdaFunctionARN": {"Ref": version}},
    ]
    function = logical_id(synthesized.edge.cdn.negotiation.function)
    assert edge_template["Resources"][version]["Properties"]["FunctionName"] == {"Ref": function}
    properties = edge_template["Resources"][function]["Properties"]
    # Lambda@Edge: x86_64, no environment variables, no layers, no VPC, an origin-trigger timeout of at most 30 s
    assert (properties["Runtime"], properties["Architectures"], properties["Handler"]) == (
        "python3.12",
        ["x86_64"],
        "images.handler",
    )
    assert not {"Environment", "Layers", "VpcConfig", "DeadLetterConfig"} & set(properties)
    assert properties["Timeout"] <= 30


def test_the_default_behavior_runs_no_edge_code(synthesized: Synthesized, edge_template: dict[str, Any]) -> None:
    default = _distribution(synthesized, edge_template)["DefaultCacheBehavior"]
    assert "FunctionAssociations" not in default
    assert "LambdaFunctionAssociations" not in default


def test_negotiated_images_are_cached_by_url_alone(synthesized: Synthesized, edge_template: dict[str, Any]) -> None:
    # The function rewrites the URI from Accept before the lookup, so no header (Accept least of all) is in the key.
    images = _images_behavior(synthesized, edge_template)
    assert "OriginRequestPolicyId" not in images
    policy = edge_template["Resources"][images["CachePolicyId"]["Ref"]]["Properties"]["CachePolicyConfig"]
    keys = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    assert keys["HeadersConfig"] == {"HeaderBehavior": "none"}
    assert keys["EnableAcceptEncodingGzip"] is False
    assert keys["EnableAcceptEncodingBrotli"] is False


def test_the_edge_role_reads_rendered_images_and_lists_only_their_prefix(
    synthesized: Synthesized, edge_template: dict[str, Any]
) -> None:
    role = logical_id(synthesized.edge.cdn.negotiation.role)
    trust = edge_template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]},
        }
    ]
    (policy,) = (
        p["Properties"]
        for p in resources(edge_template, "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role}]
    )
    bucket = ["arn:", {"Ref": "AWS::Partition"}, ":s3:::aperture-media-", {"Ref": "AWS::AccountId"}, "-"]
    bucket += [{"Ref": "AWS::Region"}]
    assert policy["PolicyDocument"]["Statement"] == [
        {"Action": "s3:GetObject", "Effect": "Allow", "Resource": {"Fn::Join": ["", [*bucket, "/images/*"]]}},
        {
            "Action": "s3:ListBucket",
            "Condition": {"StringLike": {"s3:prefix": ["images/*"]}},
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", bucket]},
        },
    ]


def test_the_edge_stack_deploys_only_to_us_east_1(edge_template: dict[str, Any]) -> None:
    (assertion,) = edge_template["Rules"]["DeployedInUsEast1"]["Assertions"]
    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}


def test_an_edge_stack_for_another_region_is_refused_at_synth() -> None:
    with pytest.raises(ValueError, match="us-east-1"):
        EdgeStack(
            App(),
            "Edge",
            env=Environment(account="123456789012", region="eu-west-1"),
            media_bucket_name="aperture-media-123456789012-eu-west-1",
        )


def test_a_web_acl_blocks_known_bad_clients_and_any_address_past_its_rate(
    synthesized: Synthesized, edge_template: dict[str, Any]
) -> None:
    (acl_id, acl), *others = resources(edge_template, "AWS::WAFv2::WebACL").items()
    assert others == []
    # The distribution is behind it
    distribution = edge_template["Resources"][logical_id(synthesized.edge.cdn.distribution)]["Properties"]
    assert distribution["DistributionConfig"]["WebACLId"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    properties = acl["Properties"]
    assert properties["Scope"] == "CLOUDFRONT" and properties["DefaultAction"] == {"Allow": {}}
    rules = {rule["Name"]: rule for rule in properties["Rules"]}
    managed = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in rules.values()
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert managed == {"AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesKnownBadInputsRuleSet"}
    rate = rules["RatePerIp"]
    assert rate["Action"] == {"Block": {}}
    assert rate["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "Limit": IMAGE_REQUESTS_PER_IP_PER_5_MINUTES,
        "EvaluationWindowSec": 300,
    }
    # Every rule can be watched: metrics and sampled requests
    assert all(r["VisibilityConfig"]["CloudWatchMetricsEnabled"] for r in properties["Rules"])
    assert all(r["VisibilityConfig"]["SampledRequestsEnabled"] for r in properties["Rules"])
    assert len({r["Priority"] for r in properties["Rules"]}) == len(properties["Rules"])
