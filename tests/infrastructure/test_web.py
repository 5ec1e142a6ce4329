"""The web stack: the app's files in a private bucket behind CloudFront, its config.json and its security headers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_cdk import App, Environment
from botocore.config import Config

from aperture.adapters.s3 import MediaStore
from aperture.resources import WEB_APP_PATH
from stacks.constructs.firewall import MANAGED_RULE_GROUPS, WEB_APP_REQUESTS_PER_IP_PER_5_MINUTES
from stacks.constructs.web import ASSETS_CACHE, PAGES_CACHE
from stacks.web_stack import WebStack
from tests.infrastructure.conftest import Synthesized, logical_id, resources

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT, REGION = "123456789012", "us-east-1"

# One synthesis per session: under xdist, every infrastructure test runs on the same worker.
pytestmark = pytest.mark.xdist_group("cdk")


def _render(node: Any, imports: dict[str, str]) -> str:
    """A template string with its references filled in (pseudo parameters, and named stand-ins for imports)."""
    if isinstance(node, str):
        return node
    if "Fn::Join" in node:
        delimiter, items = node["Fn::Join"]
        return str(delimiter).join(_render(item, imports) for item in items)
    if "Ref" in node:
        return {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws"}[node["Ref"]]
    if "Fn::ImportValue" in node:
        return next(value for key, value in imports.items() if key in node["Fn::ImportValue"])
    raise AssertionError(f"unexpected {node!r}")


IMPORTS = {"ImagesDistribution": "cdn.example.net", "HttpApi": "https://api.example.com"}


def _distribution(synthesized: Synthesized, template: dict[str, Any]) -> dict[str, Any]:
    resource = template["Resources"][logical_id(synthesized.web.web.distribution)]
    config: dict[str, Any] = resource["Properties"]["DistributionConfig"]
    return config


def test_the_app_is_served_over_https_from_a_private_bucket_through_origin_access_control(
    synthesized: Synthesized, web_template: dict[str, Any]
) -> None:
    config = _distribution(synthesized, web_template)
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["AllowedMethods"] == ["GET", "HEAD"]
    (origin,) = config["Origins"]
    bucket = logical_id(synthesized.web.web.bucket)
    assert origin["DomainName"] == {"Fn::GetAtt": [bucket, "RegionalDomainName"]}
    (control,) = resources(web_template, "AWS::CloudFront::OriginAccessControl")
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [control, "Id"]}
    # CloudFront reads objects and cannot list: S3's 403 for a missing file reaches viewers as a 404 (with the app)
    assert config["CustomErrorResponses"] == [
        {"ErrorCode": 403, "ResponseCode": 404, "ResponsePagePath": "/app/index.html", "ErrorCachingMinTTL": 60}
    ]
    properties = web_template["Resources"][bucket]["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    # Only this distribution may read it
    (policy,) = (
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources(web_template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket}
    )
    (reader,) = (s for s in policy if s["Effect"] == "Allow")
    assert reader["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert reader["Action"] == "s3:GetObject"
    source = reader["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Join"][1]
    assert source[-2:] == [":distribution/", {"Ref": logical_id(synthesized.web.web.distribution)}]


def test_every_screen_is_routed_to_index_html_by_the_function_the_tests_run(
    synthesized: Synthesized, web_template: dict[str, Any]
) -> None:
    behavior = _distribution(synthesized, web_template)["DefaultCacheBehavior"]
    (association,) = behavior["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    function = web_template["Resources"][association["FunctionARN"]["Fn::GetAtt"][0]]["Properties"]
    assert function["FunctionCode"] == (ROOT / "edge" / "web_routes.js").read_text()
    assert function["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"


def test_the_security_headers_admit_the_api_the_cdn_and_the_upload_endpoint_boto3_signs_for(
    synthesized: Synthesized, web_template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # signing as on AWS, whatever other tests set
    behavior = _distribution(synthesized, web_template)["DefaultCacheBehavior"]
    policy = web_template["Resources"][behavior["ResponseHeadersPolicyId"]["Ref"]]["Properties"]
    headers = policy["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = _render(headers["ContentSecurityPolicy"]["ContentSecurityPolicy"], IMPORTS)
    directives = dict(d.split(" ", 1) for d in csp.split("; "))
    assert directives["script-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert directives["img-src"] == "'self' data: blob: https://cdn.example.net/"
    # Where a browser sends the presigned POST for this deployment's media bucket, as the media store signs it on AWS
    s3 = boto3.client(
        "s3",
        region_name=REGION,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(signature_version="s3v4"),
    )
    upload = MediaStore(s3, f"aperture-media-{ACCOUNT}-{REGION}").upload_url()
    connect = directives["connect-src"].split()
    assert "https://api.example.com" in connect
    assert any(upload.startswith(source) for source in connect if source.startswith("https://aperture-media-"))
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 365 * 86400
    assert headers["FrameOptions"]["FrameOption"] == "DENY"


def test_config_json_is_written_at_deploy_with_the_api_url_and_the_cognito_client(
    synthesized: Synthesized, web_template: dict[str, Any]
) -> None:
    pages = web_template["Resources"][logical_id(synthesized.web.web.pages.node.find_child("CustomResource"))]
    sources = zip(pages["Properties"]["SourceObjectKeys"], pages["Properties"]["SourceMarkers"], strict=True)
    (path, markers), *_ = [
        (synthesized.outdir / f"asset.{key.removesuffix('.zip')}" / "config.json", markers)
        for key, markers in sources
        if (synthesized.outdir / f"asset.{key.removesuffix('.zip')}" / "config.json").is_file()
    ]
    # CloudFormation fills each marker in at deploy; here, named stand-ins do
    written = path.read_text()
    for marker, value in markers.items():
        written = written.replace(marker, _render(value, IMPORTS | {"IdentityUsersClients": "client-id"}))
    assert json.loads(written) == {
        "api_url": "https://api.example.com",
        "user_pool_client_id": "client-id",
        "region": REGION,
        "cdn_base": "https://cdn.example.net",
    }


def test_assets_are_cached_for_a_year_and_pages_revalidate_after_them(
    synthesized: Synthesized, web_template: dict[str, Any]
) -> None:
    assets = web_template["Resources"][logical_id(synthesized.web.web.assets.node.find_child("CustomResource"))]
    pages_id = logical_id(synthesized.web.web.pages.node.find_child("CustomResource"))
    pages = web_template["Resources"][pages_id]
    assert assets["Properties"]["DestinationBucketKeyPrefix"] == WEB_APP_PATH.strip("/") + "/assets/"
    assert assets["Properties"]["SystemMetadata"] == {"cache-control": ASSETS_CACHE}
    assert pages["Properties"]["SystemMetadata"] == {"cache-control": PAGES_CACHE}
    # Nothing is pruned (a page loaded before a deploy still finds its assets), and pages go after assets
    assert assets["Properties"]["Prune"] is False and pages["Properties"]["Prune"] is False
    assert any(re.match(r"AppAssets", dependency) for dependency in pages.get("DependsOn", []))
    assert pages["Properties"]["DistributionPaths"] == ["/app/index.html", "/app/config.json", "/app/favicon.svg"]


def test_the_app_is_behind_its_own_cloudfront_web_acl_with_a_rate_limit_per_address(
    synthesized: Synthesized, web_template: dict[str, Any]
) -> None:
    # Given the web app's distribution
    config = _distribution(synthesized, web_template)
    # Then it names a web ACL of its own stack, scoped to CloudFront, that lets through what no rule blocks
    (acl_id,) = resources(web_template, "AWS::WAFv2::WebACL")
    assert config["WebACLId"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    properties = web_template["Resources"][acl_id]["Properties"]
    assert properties["Scope"] == "CLOUDFRONT" and properties["DefaultAction"] == {"Allow": {}}
    rules = {rule["Name"]: rule for rule in properties["Rules"]}
    # And it blocks an address past the app shell's rate (far below the image CDN's), after AWS's managed rules
    assert rules["RatePerIp"]["Action"] == {"Block": {}}
    assert rules["RatePerIp"]["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "Limit": WEB_APP_REQUESTS_PER_IP_PER_5_MINUTES,
        "EvaluationWindowSec": 300,
    }
    managed = {r["Statement"]["ManagedRuleGroupStatement"]["Name"] for n, r in rules.items() if n != "RatePerIp"}
    assert managed == set(MANAGED_RULE_GROUPS)
    assert all(r["VisibilityConfig"]["CloudWatchMetricsEnabled"] for r in properties["Rules"])


def test_the_web_stack_deploys_only_to_us_east_1_where_cloudfront_takes_web_acls(
    web_template: dict[str, Any],
) -> None:
    (assertion,) = web_template["Rules"]["DeployedInUsEast1"]["Assertions"]
    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}
    # And a known other region is refused at synth, before anything is built
    with pytest.raises(ValueError, match="web ACL, which CloudFront takes from us-east-1 only"):
        WebStack(
            App(),
            "Web",
            env=Environment(account=ACCOUNT, region="eu-west-1"),
            dist=ROOT / "web" / "dist",
            api_url="https://api.example.com",
            user_pool_client_id="client-id",
            cdn_base="https://cdn.example.net",
            media_bucket_name=f"aperture-media-{ACCOUNT}-eu-west-1",
        )
