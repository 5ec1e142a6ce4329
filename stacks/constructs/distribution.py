"""What Aperture's CloudFront distributions share: the region their stacks must deploy to, where their access logs
go, and the findings every public distribution on the default certificate acknowledges."""

from __future__ import annotations

from aws_cdk import Aws, CfnRule, CfnRuleAssertion, Duration, Fn, RemovalPolicy, Stack, Token
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .nag import acknowledge

LOG_RETENTION = Duration.days(90)
# CloudFront takes Lambda@Edge functions and web ACLs (scope CLOUDFRONT) created in this region only.
EDGE_REGION = "us-east-1"
# The id of the rule (and so its logical id in the template) that refuses another region at deploy.
REGION_RULE = "DeployedInUsEast1"


def require_edge_region(stack: Stack, holds: str) -> None:
    """Refuse to deploy `stack`, which holds `holds` (a phrase: what CloudFront takes from us-east-1 only), elsewhere.

    The stacks are synthesized environment-agnostic, so a known other region is refused at synth and an unknown one
    by a CloudFormation rule at deploy, before anything is created.
    """
    if not Token.is_unresolved(stack.region) and stack.region != EDGE_REGION:
        raise ValueError(
            f"{stack.node.id} holds {holds}, which CloudFront takes from {EDGE_REGION} only; "
            f"deploy with region {EDGE_REGION}, not {stack.region}"
        )
    CfnRule(
        stack,
        REGION_RULE,
        assertions=[
            CfnRuleAssertion(
                assert_=Fn.condition_equals(Aws.REGION, EDGE_REGION),
                assert_description=f"This stack holds {holds}, which CloudFront takes from {EDGE_REGION} only: "
                "deploy there.",
            )
        ],
    )


def log_bucket(scope: Construct, construct_id: str) -> s3.Bucket:
    """A private bucket for a distribution's standard logs (and, if asked, a bucket's access logs), kept 90 days."""
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        # CloudFront standard logging writes with ACLs, so this bucket must accept object-writer ownership.
        object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
        lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=LOG_RETENTION)],
        removal_policy=RemovalPolicy.RETAIN,
    )


def acknowledge_public_distribution(distribution: cloudfront.Distribution, serves: str) -> None:
    """CFR1 (geo restriction) and CFR4 (TLS policy) for a distribution that `serves` (a phrase) to all."""
    acknowledge(
        distribution,
        "AwsSolutions-CFR1",
        f"It serves {serves} worldwide by design; there is no country the product must block.",
    )
    acknowledge(
        distribution,
        "AwsSolutions-CFR4",
        "The distribution uses the default *.cloudfront.net certificate, whose minimum protocol CloudFront fixes; "
        "TLS 1.2_2021 applies once a custom domain and ACM certificate are configured.",
    )
