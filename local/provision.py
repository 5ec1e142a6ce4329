"""Creates every declared resource in the emulated AWS (moto), from the declarations the stacks use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aperture.adapters.aws import client
from aperture.resources import MEDIA_UPLOAD_CORS, QUEUES, STREAMS, TABLES, UPLOAD_PREFIX, Queue, Stream, Table
from aperture.settings import Settings

NOTIFICATION_QUEUE = "aperture-media-notifications"
FAILURE_QUEUE = "aperture-failures"


def create_table_request(table: Table, settings: Settings) -> dict[str, Any]:
    """The CreateTable request for a declared table (the stacks declare the same keys, indexes and stream)."""
    attributes = {table.partition.name: table.partition.type}
    key_schema = [{"AttributeName": table.partition.name, "KeyType": "HASH"}]
    if table.sort:
        attributes[table.sort.name] = table.sort.type
        key_schema.append({"AttributeName": table.sort.name, "KeyType": "RANGE"})
    indexes = []
    for index in table.indexes:
        attributes[index.partition.name] = index.partition.type
        index_keys = [{"AttributeName": index.partition.name, "KeyType": "HASH"}]
        if index.sort:
            attributes[index.sort.name] = index.sort.type
            index_keys.append({"AttributeName": index.sort.name, "KeyType": "RANGE"})
        indexes.append(
            {"IndexName": index.name, "KeySchema": index_keys, "Projection": {"ProjectionType": index.projection}}
        )
    request: dict[str, Any] = {
        "TableName": getattr(settings, table.setting),
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in attributes.items()],
        "KeySchema": key_schema,
        "BillingMode": "PAY_PER_REQUEST",
    }
    if indexes:
        request["GlobalSecondaryIndexes"] = indexes
    if table.stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream}
    return request


def create_queue_request(queue: Queue, settings: Settings) -> dict[str, Any]:
    name = getattr(settings, queue.setting).rsplit("/", 1)[-1]
    return {"QueueName": name, "Attributes": {"VisibilityTimeout": str(queue.visibility_timeout_seconds)}}


def create_stream_request(stream: Stream, settings: Settings) -> dict[str, Any]:
    return {"StreamName": getattr(settings, stream.setting), "ShardCount": stream.shards}


@dataclass(frozen=True)
class Provisioned:
    user_pool_id: str
    user_pool_client_id: str
    notification_queue_url: str
    failure_queue_url: str
    push_applications: dict[str, str]
    queues: dict[str, str]  # declared queue key -> URL


def provision(settings: Settings) -> Provisioned:
    """Create tables (with TTL), streams, queues, the media bucket and its notifications, the failure archive
    bucket, and the user pool."""
    dynamodb = client("dynamodb")
    for table in TABLES:
        request = create_table_request(table, settings)
        dynamodb.create_table(**request)
        if table.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=request["TableName"],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )

    kinesis = client("kinesis")
    for stream in STREAMS:
        kinesis.create_stream(**create_stream_request(stream, settings))

    sqs = client("sqs")
    queues = {q.key: sqs.create_queue(**create_queue_request(q, settings))["QueueUrl"] for q in QUEUES}
    queue_url = sqs.create_queue(QueueName=NOTIFICATION_QUEUE)["QueueUrl"]
    failure_url = sqs.create_queue(QueueName=FAILURE_QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    s3 = client("s3")
    location: dict[str, Any] = {}
    if settings.region != "us-east-1":
        location["CreateBucketConfiguration"] = {"LocationConstraint": settings.region}
    s3.create_bucket(Bucket=settings.media_bucket, **location)
    # Where the event pump writes the whole record of a stream batch its consumer gave up on, as Lambda's S3
    # on-failure destination does on AWS (`python -m local.redrive` reads them back).
    s3.create_bucket(Bucket=settings.failure_archive_bucket, **location)
    # The web app uploads from another origin (the gateway's port), as it does from CloudFront's on AWS.
    s3.put_bucket_cors(Bucket=settings.media_bucket, CORSConfiguration={"CORSRules": [MEDIA_UPLOAD_CORS.s3_rule()]})
    s3.put_bucket_notification_configuration(
        Bucket=settings.media_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": UPLOAD_PREFIX}]}},
                }
            ]
        },
    )

    cognito = client("cognito-idp")
    pool_id = cognito.create_user_pool(
        PoolName="aperture-users",
        Schema=[{"Name": "user_id", "AttributeDataType": "String", "Mutable": False}],
        # The same policy the stateful stack deploys, so a password refused on AWS is refused here too.
        Policies={
            "PasswordPolicy": {
                "MinimumLength": 8,
                "RequireUppercase": True,
                "RequireLowercase": True,
                "RequireNumbers": True,
                "RequireSymbols": True,
            }
        },
    )["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="aperture-clients",
        # As the stateful stack declares it: confidential, and password sign-in only through the auth function.
        GenerateSecret=True,
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    cognito.set_user_pool_mfa_config(
        UserPoolId=pool_id, SoftwareTokenMfaConfiguration={"Enabled": True}, MfaConfiguration="OPTIONAL"
    )
    cognito.create_group(GroupName=settings.moderator_group, UserPoolId=pool_id, Description="Moderators")

    # SNS platform applications stand in for the APNs and FCM ones a deployment is given.
    sns = client("sns")
    push = {
        platform: sns.create_platform_application(
            Name=f"aperture-{platform}", Platform=kind, Attributes={"PlatformCredential": "local"}
        )["PlatformApplicationArn"]
        for platform, kind in (("apns", "APNS"), ("fcm", "GCM"))
    }
    return Provisioned(pool_id, client_id, queue_url, failure_url, push, queues)
