"""Physical names that more than one stack must agree on without a cross-stack reference."""

from __future__ import annotations

from aws_cdk import Aws

from aperture.resources import FAILURE_ARCHIVE_BUCKET_PREFIX


def media_bucket_name() -> str:
    # Known to every stack from the pseudo parameters alone: the service stack attaches the upload notification
    # and the edge stack the CloudFront origin without importing the stateful stack's bucket (which would tie the
    # stacks in a reference cycle), and the IAM prefix grants read the same in every template.
    return f"aperture-media-{Aws.ACCOUNT_ID}-{Aws.REGION}"


def failure_archive_bucket_name() -> str:
    # The service stack's stream mappings name it as their on-failure destination, and an operator's redrive can
    # find it from the account and region alone (`python -m local.redrive`).
    return f"{FAILURE_ARCHIVE_BUCKET_PREFIX}{Aws.ACCOUNT_ID}-{Aws.REGION}"


def bucket_objects_arn(bucket_name: str, key_pattern: str) -> str:
    return f"arn:{Aws.PARTITION}:s3:::{bucket_name}/{key_pattern}"


def bucket_arn(bucket_name: str) -> str:
    return f"arn:{Aws.PARTITION}:s3:::{bucket_name}"
