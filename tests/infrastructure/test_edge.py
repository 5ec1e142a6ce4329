"""The edge stack: images leave through CloudFront over HTTPS, read from the bucket with origin access control."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infrastructure.conftest import Synthesized, logical_id, resources

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
