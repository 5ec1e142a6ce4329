"""What Aperture's CloudFront distributions share: where their access logs go, and the findings every public
distribution on the default certificate acknowledges."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .nag import acknowledge

LOG_RETENTION = Duration.days(90)


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


def acknowledge_public_distribution(distribution: cloudfront.Distribution, serves: str, *, firewall: bool) -> None:
    """CFR1 (geo restriction), CFR4 (TLS policy) and, without a web ACL, CFR2 (WAF) for a distribution that
    `serves` (a phrase) to all."""
    acknowledge(
        distribution,
        "AwsSolutions-CFR1",
        f"It serves {serves} worldwide by design; there is no country the product must block.",
    )
    if not firewall:
        acknowledge(
            distribution,
            "AwsSolutions-CFR2",
            f"Its only origin is a private bucket holding {serves}, a few fixed files the cache absorbs; a web ACL "
            "for it would have to live in us-east-1 while this stack may deploy elsewhere (docs/security.md, "
            "known gaps).",
        )
    acknowledge(
        distribution,
        "AwsSolutions-CFR4",
        "The distribution uses the default *.cloudfront.net certificate, whose minimum protocol CloudFront fixes; "
        "TLS 1.2_2021 applies once a custom domain and ACM certificate are configured.",
    )
