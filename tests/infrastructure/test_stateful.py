"""The stateful stack: tables, streams, queues, media bucket, identity, cache, search and network as declared."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

import app as cdk_app
from aperture.adapters.s3 import PROCESSED_TAG
from aperture.resources import (
    ACTIVITY_LOG_PREFIX,
    CACHE_ACCESS,
    EXPORT_PREFIX,
    FANOUT,
    FUNCTIONS,
    IMAGE_PREFIX,
    NOTIFICATIONS,
    QUEUES,
    STREAMS,
    TABLES,
    UPLOAD_PREFIX,
    Attribute,
    Function,
    Grant,
    Queue,
    SqsTrigger,
    Stream,
    Table,
)
from aperture.settings import Settings
from stacks.constructs.cache import OPEN_DEFAULT_CONTEXT
from stacks.constructs.media import ACTIVITY_LOG_DAYS_CONTEXT
from stacks.constructs.network import interface_endpoints_for
from stacks.constructs.queues import max_receives
from stacks.stateful_stack import StatefulStack
from tests.infrastructure.conftest import NO_BUNDLING, Synthesized, logical_id, resources

# One synthesis per session: under xdist, every infrastructure test runs on the same worker.
pytestmark = pytest.mark.xdist_group("cdk")


def _keys(partition: Attribute, sort: Attribute | None) -> list[dict[str, str]]:
    keys = [{"AttributeName": partition.name, "KeyType": "HASH"}]
    if sort:
        keys.append({"AttributeName": sort.name, "KeyType": "RANGE"})
    return keys


def _attribute_types(table: Table) -> dict[str, str]:
    declared = [table.partition, table.sort] + [a for i in table.indexes for a in (i.partition, i.sort)]
    return {a.name: a.type for a in declared if a is not None}


def _table(synthesized: Synthesized, template: dict[str, Any], table: Table) -> dict[str, Any]:
    resource = template["Resources"][logical_id(synthesized.stateful.data.tables[table.key])]
    assert resource["Type"] == "AWS::DynamoDB::Table"
    return resource


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.key)
def test_every_declared_table_has_its_keys_and_indexes(
    synthesized: Synthesized, stateful_template: dict[str, Any], table: Table
) -> None:
    # Given the table as declared in aperture.resources
    # When the stack is synthesized
    properties = _table(synthesized, stateful_template, table)["Properties"]
    # Then its key schema, attribute types and indexes are exactly the declared ones
    assert properties["KeySchema"] == _keys(table.partition, table.sort)
    assert {a["AttributeName"]: a["AttributeType"] for a in properties["AttributeDefinitions"]} == _attribute_types(
        table
    )
    expected_indexes = [
        {"IndexName": i.name, "KeySchema": _keys(i.partition, i.sort), "Projection": {"ProjectionType": i.projection}}
        for i in table.indexes
    ]
    assert sorted(properties.get("GlobalSecondaryIndexes", []), key=lambda i: i["IndexName"]) == sorted(
        expected_indexes, key=lambda i: i["IndexName"]
    )


def test_notifications_are_indexed_by_post_keys_only_for_the_deletion_cascade(
    synthesized: Synthesized, stateful_template: dict[str, Any]
) -> None:
    # Given the notifications table as deployed
    properties = _table(synthesized, stateful_template, NOTIFICATIONS)["Properties"]
    # Then a deleted post's notifications are found in every inbox by the post's id, with their keys alone (all the
    # cascade needs to delete them; a follow's notification has no post_id and stays out of the index)
    by_post = next(i for i in properties["GlobalSecondaryIndexes"] if i["IndexName"] == "by_post")
    assert by_post["KeySchema"][0] == {"AttributeName": "post_id", "KeyType": "HASH"}
    assert by_post["Projection"] == {"ProjectionType": "KEYS_ONLY"}


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.key)
def test_every_table_has_ttl_and_stream_only_as_declared(
    synthesized: Synthesized, stateful_template: dict[str, Any], table: Table
) -> None:
    properties = _table(synthesized, stateful_template, table)["Properties"]
    if table.ttl_attribute:
        assert properties["TimeToLiveSpecification"] == {"AttributeName": table.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in properties
    if table.stream:
        assert properties["StreamSpecification"] == {"StreamViewType": table.stream}
    else:
        assert "StreamSpecification" not in properties


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.key)
def test_every_table_is_on_demand_recoverable_encrypted_and_retained(
    synthesized: Synthesized, stateful_template: dict[str, Any], table: Table
) -> None:
    resource = _table(synthesized, stateful_template, table)
    properties = resource["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert properties["DeletionProtectionEnabled"] is True
    assert resource["DeletionPolicy"] == "Retain"


def test_no_table_exists_that_is_not_declared(stateful_template: dict[str, Any]) -> None:
    assert len(resources(stateful_template, "AWS::DynamoDB::Table")) == len(TABLES)


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.key)
def test_every_declared_stream_is_encrypted_with_its_shards_and_retention(
    synthesized: Synthesized, stateful_template: dict[str, Any], stream: Stream
) -> None:
    properties = stateful_template["Resources"][logical_id(synthesized.stateful.events.streams[stream.key])][
        "Properties"
    ]
    assert properties["ShardCount"] == stream.shards
    assert properties["RetentionPeriodHours"] == stream.retention_hours
    assert properties["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert properties["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}


def _expected_max_receives(queue: Queue) -> int:
    declared = [
        f.trigger.max_receives for f in FUNCTIONS if isinstance(f.trigger, SqsTrigger) and f.trigger.queue == queue.key
    ]
    return declared[0] if declared else 5


@pytest.mark.parametrize("queue", QUEUES, ids=lambda q: q.key)
def test_every_declared_queue_is_encrypted_and_dead_letters_what_keeps_failing(
    synthesized: Synthesized, stateful_template: dict[str, Any], queue: Queue
) -> None:
    # Given the queue as declared and its consumer's trigger
    queues = synthesized.stateful.queues
    properties = stateful_template["Resources"][logical_id(queues.queues[queue.key])]["Properties"]
    dead_letters = logical_id(queues.dead_letters[queue.key])
    # Then it is encrypted, with the declared visibility timeout, and redrives to its own dead-letter queue after
    # the consumer's max_receives (5 without a consumer)
    assert properties["SqsManagedSseEnabled"] is True
    assert properties["VisibilityTimeout"] == queue.visibility_timeout_seconds
    assert properties["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dead_letters, "Arn"]},
        "maxReceiveCount": _expected_max_receives(queue),
    }
    # And the dead-letter queue is encrypted, keeps messages the longest SQS allows, and goes nowhere further
    parked = stateful_template["Resources"][dead_letters]["Properties"]
    assert parked["SqsManagedSseEnabled"] is True
    assert parked["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert "RedrivePolicy" not in parked


def test_every_queue_refuses_plain_http_and_none_is_undeclared(stateful_template: dict[str, Any]) -> None:
    queues = resources(stateful_template, "AWS::SQS::Queue")
    assert len(queues) == 2 * len(QUEUES)  # each declared queue and its dead-letter queue
    denied = {
        q["Ref"]
        for p in resources(stateful_template, "AWS::SQS::QueuePolicy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny"
        and s["Action"] == "sqs:*"
        and s["Principal"] == {"AWS": "*"}
        and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for q in p["Properties"]["Queues"]
    }
    assert denied == set(queues)


def test_a_queue_without_a_consumer_dead_letters_after_five_receives() -> None:
    assert max_receives(Queue(key="unconsumed"), FUNCTIONS) == 5


def test_consumers_that_disagree_on_max_receives_fail_the_synth() -> None:
    consumers = [
        Function(name, grants=(Grant("queue:fanout", "read"),), trigger=SqsTrigger("fanout", max_receives=receives))
        for name, receives in (("a", 3), ("b", 4))
    ]
    with pytest.raises(ValueError, match=r"consumers of queue 'fanout' declare different max_receives: \[3, 4\]"):
        max_receives(FANOUT, consumers)


def _media_bucket(synthesized: Synthesized, template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"][logical_id(synthesized.stateful.media.bucket)]["Properties"]


def _assert_private_encrypted_and_logged(synthesized: Synthesized, properties: dict[str, Any]) -> None:
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert properties["LoggingConfiguration"]["DestinationBucketName"] == {
        "Ref": logical_id(synthesized.stateful.media.access_logs)
    }


def test_media_bucket_blocks_public_access_and_encrypts(
    synthesized: Synthesized, stateful_template: dict[str, Any]
) -> None:
    properties = _media_bucket(synthesized, stateful_template)
    _assert_private_encrypted_and_logged(synthesized, properties)


def test_media_bucket_expires_uploads_and_never_images(
    synthesized: Synthesized, stateful_template: dict[str, Any]
) -> None:
    rules = _media_bucket(synthesized, stateful_template)["LifecycleConfiguration"]["Rules"]
    expiring = {
        (r["Prefix"], r["ExpirationInDays"], repr(r.get("TagFilters"))) for r in rules if "ExpirationInDays" in r
    }
    # Processed uploads (tagged by media_process) go after a day, untagged ones after a week, data export ZIPs
    # after a day (as long as their link lasts), images never.
    assert expiring == {
        (UPLOAD_PREFIX, 1, repr([PROCESSED_TAG])),
        (UPLOAD_PREFIX, 7, "None"),
        (EXPORT_PREFIX, 1, "None"),
        (ACTIVITY_LOG_PREFIX, 30, "None"),  # the ranking loop's impressions and engagements
    }
    (exports,) = (r for r in rules if r.get("Prefix") == EXPORT_PREFIX)
    assert exports["Status"] == "Enabled"
    assert exports["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


def test_media_bucket_keeps_a_replaced_or_deleted_image_one_day_and_no_longer(
    synthesized: Synthesized, stateful_template: dict[str, Any]
) -> None:
    properties = _media_bucket(synthesized, stateful_template)
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    (noncurrent,) = (r for r in properties["LifecycleConfiguration"]["Rules"] if "NoncurrentVersionExpiration" in r)
    # Whole bucket: a deleted photo's old version is gone after a day, and so is its delete marker
    assert "Prefix" not in noncurrent and "TagFilters" not in noncurrent
    assert noncurrent["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    assert noncurrent["ExpiredObjectDeleteMarker"] is True


def _bucket_policy(synthesized: Synthesized, template: dict[str, Any]) -> list[dict[str, Any]]:
    bucket = logical_id(synthesized.stateful.media.bucket)
    (policy,) = (
        p for p in resources(template, "AWS::S3::BucketPolicy").values() if p["Properties"]["Bucket"] == {"Ref": bucket}
    )
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_media_bucket_refuses_plain_http(synthesized: Synthesized, stateful_template: dict[str, Any]) -> None:
    statements = _bucket_policy(synthesized, stateful_template)
    assert any(
        s["Effect"] == "Deny" and s["Action"] == "s3:*" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )


def test_the_failure_archive_is_private_encrypted_tls_only_unversioned_and_expires_in_two_weeks(
    synthesized: Synthesized, stateful_template: dict[str, Any]
) -> None:
    # Given the bucket the stream mappings write failed batches to
    bucket = logical_id(synthesized.stateful.failures.bucket)
    properties = stateful_template["Resources"][bucket]["Properties"]
    # Then nobody outside reaches it, it is encrypted with S3's keys (Lambda writes it without a KMS grant), and its
    # access is logged
    _assert_private_encrypted_and_logged(synthesized, properties)
    # And every record expires after 14 days; none keeps old versions (redriven records are deleted for good)
    assert properties["LifecycleConfiguration"]["Rules"] == [
        {"ExpirationInDays": 14, "Id": "expire-failed-batches", "Status": "Enabled"}
    ]
    assert "VersioningConfiguration" not in properties
    # And it refuses plain HTTP, and its policy grants nobody anything (the functions' roles do, for writing)
    (policy,) = (
        p
        for p in resources(stateful_template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket}
    )
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # And the stack names it for the operator's redrive
    assert stateful_template["Outputs"]["FailureArchiveBucketName"]["Value"] == {"Ref": bucket}


def test_cloudfront_may_read_rendered_images_and_nothing_else(
    synthesized: Synthesized, stateful_template: dict[str, Any]
) -> None:
    allowed = [s for s in _bucket_policy(synthesized, stateful_template) if s["Effect"] == "Allow"]
    assert len(allowed) == 1
    (statement,) = allowed
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Action"] == "s3:GetObject"
    assert statement["Resource"]["Fn::Join"][1][-1] == f"/{IMAGE_PREFIX}*"
    assert "AWS:SourceArn" in statement["Condition"]["ArnLike"]


def test_user_pool_carries_an_immutable_user_id_and_no_self_sign_up(stateful: Template) -> None:
    stateful.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "Schema": Match.array_with(
                [Match.object_like({"Name": "user_id", "AttributeDataType": "String", "Mutable": False})]
            ),
            "Policies": {
                "PasswordPolicy": Match.object_like(
                    {
                        "MinimumLength": 8,
                        "RequireLowercase": True,
                        "RequireUppercase": True,
                        "RequireNumbers": True,
                        "RequireSymbols": True,
                    }
                )
            },
        },
    )


def test_moderators_group_is_the_one_the_functions_check(stateful: Template) -> None:
    stateful.has_resource_properties(
        "AWS::Cognito::UserPoolGroup", {"GroupName": Settings().moderator_group, "UserPoolId": Match.any_value()}
    )


def test_user_pool_client_is_confidential_and_allows_no_user_password_auth(stateful: Template) -> None:
    # Password sign-in only through the auth function (behind the API's throttles), never straight to Cognito
    (client,) = stateful.find_resources("AWS::Cognito::UserPoolClient").values()
    properties = client["Properties"]
    assert sorted(properties["ExplicitAuthFlows"]) == ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert properties["GenerateSecret"] is True
    assert properties["EnableTokenRevocation"] is True
    assert "AllowedOAuthFlows" not in properties


def test_user_pool_offers_totp_and_no_sms(stateful: Template) -> None:
    (pool,) = stateful.find_resources("AWS::Cognito::UserPool").values()
    properties = pool["Properties"]
    assert properties["MfaConfiguration"] == "OPTIONAL"
    assert properties["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]


def _ingress_sources(template: dict[str, Any], group: str) -> set[tuple[str, int, int]]:
    rules = resources(template, "AWS::EC2::SecurityGroupIngress").values()
    return {
        (
            r["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0],
            r["Properties"]["FromPort"],
            r["Properties"]["ToPort"],
        )
        for r in rules
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [group, "GroupId"]}
    }


def test_cache_is_valkey_inside_the_vpc_reachable_from_functions_only(
    synthesized: Synthesized, stateful_template: dict[str, Any]
) -> None:
    cache = synthesized.stateful.cache
    properties = stateful_template["Resources"][logical_id(cache.cache)]["Properties"]
    assert properties["Engine"] == "valkey"
    assert len(properties["SubnetIds"]) == 2  # two AZs
    group = logical_id(cache.security_group)
    assert properties["SecurityGroupIds"] == [{"Fn::GetAtt": [group, "GroupId"]}]
    functions = logical_id(synthesized.stateful.network.function_security_group)
    assert _ingress_sources(stateful_template, group) == {(functions, 6379, 6380)}
    assert stateful_template["Resources"][group]["Properties"].get("SecurityGroupIngress") is None


def test_cache_admits_only_its_iam_authenticated_user_and_no_default_user(
    synthesized: Synthesized, stateful_template: dict[str, Any]
) -> None:
    cache = synthesized.stateful.cache
    deployed = stateful_template["Resources"]
    # Given the cache, its user group and every ElastiCache user the stack declares
    properties = deployed[logical_id(cache.cache)]["Properties"]
    group = deployed[logical_id(cache.user_group)]["Properties"]
    users = {
        u["Properties"]["UserId"]: u["Properties"]
        for u in resources(stateful_template, "AWS::ElastiCache::User").values()
    }
    # Then the cache is governed by the group (RBAC), which holds exactly the declared users, all of its engine
    assert properties["UserGroupId"] == {"Ref": logical_id(cache.user_group)}
    assert sorted(group["UserIds"]) == sorted(users)
    assert {u["Engine"] for u in users.values()} == {group["Engine"]}
    # And the functions' user authenticates with IAM only: its name is its id, lowercase, as IAM tokens require
    functions = users[cache.user_id]
    assert functions["AuthenticationMode"] == {"Type": "iam"}
    assert "Passwords" not in functions and not functions.get("NoPasswordRequired")
    assert functions["UserName"] == functions["UserId"] == functions["UserId"].lower()
    # ...and may run every command but the dangerous ones (no FLUSHALL, KEYS, CONFIG) on every key
    assert functions["AccessString"] == CACHE_ACCESS
    assert CACHE_ACCESS.split()[0] == "on" and "-@dangerous" in CACHE_ACCESS.split()
    # And what a connection is before it authenticates, the group's "default" user, is off and may run nothing:
    # not AWS's own default user (id "default": no password, every command)
    (default,) = [u for u in users.values() if u["UserName"] == "default"]
    assert "default" not in group["UserIds"]
    assert default["AccessString"].split() == ["off", "-@all"]


def test_the_activity_logs_retention_is_set_by_context() -> None:
    # Given a deployment that keeps the ranking loop's records 45 days
    app = cdk_app.build_app(context={**NO_BUNDLING, ACTIVITY_LOG_DAYS_CONTEXT: "45"})
    (stack,) = (child for child in app.node.children if isinstance(child, StatefulStack))
    (bucket,) = (
        b["Properties"]
        for b in resources(dict(Template.from_stack(stack).to_json()), "AWS::S3::Bucket").values()
        if "CorsConfiguration" in b["Properties"]
    )
    # Then its log objects expire after 45 days
    (rule,) = (r for r in bucket["LifecycleConfiguration"]["Rules"] if r.get("Prefix") == ACTIVITY_LOG_PREFIX)
    assert (rule["ExpirationInDays"], rule["Status"]) == (45, "Enabled")


def test_an_upgrade_can_keep_the_caches_default_user_open_for_one_deploy() -> None:
    # Given an existing deployment upgraded in two steps (docs/operations.md), the first with the context value
    app = cdk_app.build_app(context={**NO_BUNDLING, OPEN_DEFAULT_CONTEXT: "true"})
    (stack,) = (child for child in app.node.children if isinstance(child, StatefulStack))
    users = resources(dict(Template.from_stack(stack).to_json()), "AWS::ElastiCache::User").values()
    # Then the group's default user still lets unauthenticated connections (today's functions) in, for that deploy
    (default,) = [u["Properties"] for u in users if u["Properties"]["UserName"] == "default"]
    assert default["AccessString"].split()[0] == "on" and "-@dangerous" in default["AccessString"].split()


def test_search_domain_is_encrypted_https_only_and_inside_the_vpc(
    synthesized: Synthesized, stateful_template: dict[str, Any]
) -> None:

    search = synthesized.stateful.search
    properties = stateful_template["Resources"][logical_id(search.domain)]["Properties"]
    assert properties["EncryptionAtRestOptions"] == {"Enabled": True}
    assert properties["NodeToNodeEncryptionOptions"] == {"Enabled": True}
    assert properties["DomainEndpointOptions"]["EnforceHTTPS"] is True
    assert properties["VPCOptions"]["SecurityGroupIds"] == [
        {"Fn::GetAtt": [logical_id(search.security_group), "GroupId"]}
    ]
    functions = logical_id(synthesized.stateful.network.function_security_group)
    # The functions, and the deploy-time custom resource that writes its access control (test_search_access.py)
    administration = logical_id(search.administration)
    assert _ingress_sources(stateful_template, logical_id(search.security_group)) == {
        (functions, 443, 443),
        (administration, 443, 443),
    }
    # The domain trusts IAM (this account's principals), never an anonymous '*'.
    (statement,) = properties["AccessPolicies"]["Statement"]
    assert "*" not in str(statement["Principal"])


def test_network_has_no_nat_and_free_gateway_endpoints(stateful_template: dict[str, Any]) -> None:
    assert resources(stateful_template, "AWS::EC2::NatGateway") == {}
    assert resources(stateful_template, "AWS::EC2::InternetGateway") == {}
    gateways = [
        e["Properties"]["ServiceName"]["Fn::Join"][1][-1]
        for e in resources(stateful_template, "AWS::EC2::VPCEndpoint").values()
        if e["Properties"]["VpcEndpointType"] == "Gateway"
    ]
    assert sorted(gateways) == [".dynamodb", ".s3"]


def _polled(function: Function, grant: Grant) -> bool:
    """A read grant on the queue that triggers the function: the event source mapping reads it, not the function."""
    trigger = function.trigger
    return grant.access == "read" and isinstance(trigger, SqsTrigger) and grant.resource == f"queue:{trigger.queue}"


def test_interface_endpoints_are_the_ones_in_vpc_functions_need(stateful_template: dict[str, Any]) -> None:
    # Given what the redis (in-VPC) functions are granted
    in_vpc = [f for f in FUNCTIONS if f.redis]
    needed = {".xray"}  # every function is traced
    if any(g.resource.startswith("stream:") and g.access != "read" for f in in_vpc for g in f.grants):
        needed.add(".kinesis-streams")
    if any(g.resource.partition(":")[0] == "user_pool" for f in in_vpc for g in f.grants):
        needed.add(".cognito-idp")
    if any(g.resource.startswith("rekognition:") for f in in_vpc for g in f.grants):
        needed.add(".rekognition")
    if any(g.resource.startswith("sns:") for f in in_vpc for g in f.grants):
        needed.add(".sns")
    # A queue a function sends to (or reads without being triggered by it) is called from inside the VPC; the one
    # it is triggered by is polled by Lambda's event source mapping from outside.
    if any(g.resource.startswith("queue:") and not _polled(f, g) for f in in_vpc for g in f.grants):
        needed.add(".sqs")
    # Then exactly those interface endpoints exist, with private DNS so SDK clients use them unchanged
    interfaces = [
        e["Properties"]
        for e in resources(stateful_template, "AWS::EC2::VPCEndpoint").values()
        if e["Properties"]["VpcEndpointType"] == "Interface"
    ]
    assert {e["ServiceName"]["Fn::Join"][1][-1] for e in interfaces} == needed
    assert all(e["PrivateDnsEnabled"] for e in interfaces)


@pytest.mark.parametrize(
    ("grant", "needs_endpoint"),
    [
        (Grant("queue:fanout", "read"), False),  # consumed through its trigger only
        (Grant("queue:fanout", "read_write"), True),
        (Grant("queue:spare", "read"), True),  # read by the function itself
    ],
    ids=["triggered-read", "triggered-read-write", "untriggered-read"],
)
def test_an_in_vpc_function_needs_an_sqs_endpoint_unless_lambda_polls_the_queue_for_it(
    grant: Grant, needs_endpoint: bool
) -> None:
    consumer = Function("consumer", grants=(grant,), redis=True, trigger=SqsTrigger("fanout"))
    assert ("Sqs" in interface_endpoints_for([consumer])) is needs_endpoint
    # And outside the VPC no function needs one
    assert "Sqs" not in interface_endpoints_for([Function("outside", grants=(grant,), trigger=SqsTrigger("fanout"))])
