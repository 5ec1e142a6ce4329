"""The media bucket: raw uploads in, rendered images out, readable only through CloudFront."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from aperture.adapters.s3 import PROCESSED_TAG
from aperture.resources import (
    ACTIVITY_LOG_DAYS,
    ACTIVITY_LOG_PREFIX,
    EXPORT_PREFIX,
    IMAGE_PREFIX,
    MEDIA_UPLOAD_CORS,
    UPLOAD_PREFIX,
)

from .naming import media_bucket_name

UPLOAD_RETENTION = Duration.days(7)
PROCESSED_UPLOAD_RETENTION = Duration.days(1)
NONCURRENT_RETENTION = Duration.days(1)
# A data export's ZIP lasts as long as its download link (a day; S3 runs lifecycle daily, so it goes within two).
EXPORT_RETENTION = Duration.days(1)
# The activity log's retention in days (impressions and engagements, for ranking): CDK context, ACTIVITY_LOG_DAYS
# unless set. The account erasure rewrites the objects within it (aperture.erasure), so keep the two in step
# (APERTURE_ACTIVITY_LOG_DAYS is set from it on the functions).
ACTIVITY_LOG_DAYS_CONTEXT = "aperture:activityLogDays"


def activity_log_days(scope: Construct) -> int:
    value = scope.node.try_get_context(ACTIVITY_LOG_DAYS_CONTEXT)
    days = ACTIVITY_LOG_DAYS if value is None else int(value)
    if days < 1:
        raise ValueError(f"{ACTIVITY_LOG_DAYS_CONTEXT} must be a whole number of days, at least 1")
    return days


class MediaStore(Construct):
    """The media bucket and the bucket that receives its server access logs."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # cdk-nag accepts a bucket that is itself another bucket's access-log destination without logging.
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(90))],
            removal_policy=RemovalPolicy.RETAIN,
        )

        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=media_bucket_name(),
            # SSE-S3 rather than KMS: CloudFront's origin access control reads SSE-S3 objects without a key
            # policy, and images are public once published anyway.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # Versions guard against a bad deploy or a stolen role overwriting or deleting images; a replaced or
            # deleted object's old version lives NONCURRENT_RETENTION, long enough to restore, short enough that a
            # deleted photo is gone within a day.
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="media/",
            lifecycle_rules=[
                # A processed upload has served its purpose once its renditions exist (media_process tags it).
                s3.LifecycleRule(
                    id="expire-processed-uploads",
                    prefix=UPLOAD_PREFIX,
                    tag_filters={PROCESSED_TAG["Key"]: PROCESSED_TAG["Value"]},
                    expiration=PROCESSED_UPLOAD_RETENTION,
                ),
                s3.LifecycleRule(
                    id="expire-noncurrent-versions",
                    noncurrent_version_expiration=NONCURRENT_RETENTION,
                    expired_object_delete_marker=True,
                ),
                # Untagged ones (abandoned, or failed and kept for a look) go after a week.
                s3.LifecycleRule(
                    id="expire-raw-uploads",
                    prefix=UPLOAD_PREFIX,
                    expiration=UPLOAD_RETENTION,
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
                # Users' data exports: their link lasts a day, and so does the file (aperture.exports)
                s3.LifecycleRule(
                    id="expire-data-exports",
                    prefix=EXPORT_PREFIX,
                    expiration=EXPORT_RETENTION,
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
                # The ranking loop's impressions and engagements (aperture.activity_flush)
                s3.LifecycleRule(
                    id="expire-activity-log",
                    prefix=ACTIVITY_LOG_PREFIX,
                    expiration=Duration.days(activity_log_days(self)),
                ),
            ],
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods(m) for m in MEDIA_UPLOAD_CORS.methods],
                    allowed_origins=list(MEDIA_UPLOAD_CORS.origins),
                    allowed_headers=list(MEDIA_UPLOAD_CORS.headers),
                    max_age=MEDIA_UPLOAD_CORS.max_age_seconds,
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        # CloudFront (origin access control) may read rendered images and nothing else. The condition names any
        # distribution of this account rather than the one distribution, because that lives in the edge stack,
        # which depends on this one; naming it here would tie the stacks in a cycle.
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudFrontReadsImages",
                principals=[iam.ServicePrincipal("cloudfront.amazonaws.com")],
                actions=["s3:GetObject"],
                resources=[self.bucket.arn_for_objects(f"{IMAGE_PREFIX}*")],
                conditions={
                    "ArnLike": {"AWS:SourceArn": f"arn:{Aws.PARTITION}:cloudfront::{Aws.ACCOUNT_ID}:distribution/*"}
                },
            )
        )
