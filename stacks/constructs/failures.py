"""The failure archive: where every stream consumer's event source mapping writes the batches it gave up on, whole.

An SQS or SNS on-failure destination of a Kinesis or DynamoDB Streams mapping receives only the batch's shard and
sequence numbers, and the stream keeps records 24 hours: after that nothing is left to redrive. An S3 destination
receives the whole invocation record, the batch included (`python -m local.redrive` gives it back to the function).
"""

from __future__ import annotations

import jsii
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from aperture.resources import FAILURE_ARCHIVE_PREFIX

from .monitoring import ARCHIVE_METRICS_FILTER
from .naming import failure_archive_bucket_name

# Long enough to notice and redrive after a long weekend; SQS's longest retention, as for the dead-letter queues.
ARCHIVE_RETENTION = Duration.days(14)
# What Lambda needs of the destination (its documentation): PutObject, and ListBucket on the bucket.
ARCHIVE_WRITE = ("s3:PutObject",)
ARCHIVE_LIST = ("s3:ListBucket",)


class FailureArchive(Construct):
    """A private bucket for failed stream batches: SSE-S3 (Lambda writes it without a KMS grant), TLS only, no
    versions (each record is written once under its own key, and deleted once redriven), expiring after 14 days."""

    def __init__(self, scope: Construct, construct_id: str, *, access_logs: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=failure_archive_bucket_name(),
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=False,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="failures/",
            lifecycle_rules=[s3.LifecycleRule(id="expire-failed-batches", expiration=ARCHIVE_RETENTION)],
            # Request metrics (PutRequests) let an alarm fire the minute a batch is archived.
            metrics=[s3.BucketMetrics(id=ARCHIVE_METRICS_FILTER)],
            removal_policy=RemovalPolicy.RETAIN,
        )


@jsii.implements(lambda_.IEventSourceDlq)
class ArchiveOnFailure:
    """The archive as a stream mapping's on-failure destination, granting the function's role only what Lambda
    needs to write there (CDK's S3OnFailureDestination grants reading, writing and deleting the whole bucket)."""

    def __init__(self, bucket: s3.IBucket) -> None:
        self._bucket = bucket

    @property
    def objects(self) -> str:
        """The keys Lambda writes: aws/lambda/<mapping id>/<shard id>/..."""
        return self._bucket.arn_for_objects(f"{FAILURE_ARCHIVE_PREFIX}*")

    def bind(
        self, target: lambda_.IEventSourceMapping, target_handler: lambda_.IFunction
    ) -> lambda_.DlqDestinationConfig:
        target_handler.add_to_role_policy(iam.PolicyStatement(actions=list(ARCHIVE_WRITE), resources=[self.objects]))
        target_handler.add_to_role_policy(
            iam.PolicyStatement(actions=list(ARCHIVE_LIST), resources=[self._bucket.bucket_arn])
        )
        return lambda_.DlqDestinationConfig(destination=self._bucket.bucket_arn)
