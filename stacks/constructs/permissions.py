"""Least-privilege IAM for a function, derived from its declared grants (aperture.resources.Grant)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_sqs as sqs

from aperture.resources import Access, Grant, Queue, Table
from aperture.settings import Settings

from .naming import bucket_arn, bucket_objects_arn

# No Scan: a function reads a whole table only with a grant that says so (Grant(..., scan=True)); tests/grants.py
# records every call the tests make and checks it against these lists, so an undeclared scan fails there.
TABLE_SCAN = ("dynamodb:Scan",)
TABLE_READ = (
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:Query",
)
TABLE_WRITE = (
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
# Reading is what the event source mapping does on the function's behalf.
STREAM_READ = (
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
    "kinesis:SubscribeToShard",
)
STREAM_WRITE = ("kinesis:DescribeStreamSummary", "kinesis:PutRecord", "kinesis:PutRecords")
# Consuming, as the SQS event source mapping does with the function's role (SqsEventSource adds CDK's own consume
# grant, which also has sqs:GetQueueUrl). Senders need SendMessage alone (SendMessageBatch is authorized by it): the
# URL comes in the environment, so CDK's grant_send_messages (plus GetQueueAttributes, GetQueueUrl) is not used.
QUEUE_READ = ("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")
QUEUE_WRITE = ("sqs:SendMessage",)
OBJECT_READ = ("s3:GetObject",)
# Tagging rewrites an object's tag set (processed uploads are tagged for the lifecycle rule), so it is a write;
# so is deleting (a deleted post's or an expired story's renditions; DeleteObjects is authorized per key by it).
OBJECT_WRITE = ("s3:DeleteObject", "s3:PutObject", "s3:PutObjectTagging")
# The calls aperture.adapters.cognito makes; the pool's other admin actions stay out of reach. A bare "user_pool"
# grant is the whole account's (reading it, signing in as it, deleting it: what erasing an account needs; nothing
# sets a password any more); the auth function holds two narrower ones, by purpose:
USER_POOL_READ = ("cognito-idp:AdminGetUser",)
USER_POOL_WRITE = (
    "cognito-idp:AdminCreateUser",
    "cognito-idp:AdminDeleteUser",
    "cognito-idp:AdminInitiateAuth",
)
USER_POOL_ERASE = ("cognito-idp:AdminDeleteUser",)
USER_POOL_AUTHENTICATE = ("cognito-idp:AdminInitiateAuth",)
# "user_pool:sign_up": create the user (its password is set by answering NEW_PASSWORD_REQUIRED, a sessions call that
# needs the password; a half-made sign-up is resumed, never deleted). No AdminSetUserPassword or AdminDeleteUser.
USER_POOL_SIGN_UP = ("cognito-idp:AdminCreateUser",)
# "user_pool:sessions": sign in (a password, then a TOTP or new-password answer), refresh, and sign out everywhere;
# reading is the confidential client's secret, fetched at run time (DescribeUserPoolClient), never in the environment.
USER_POOL_SESSIONS_READ = ("cognito-idp:DescribeUserPoolClient",)
USER_POOL_SESSIONS_WRITE = (
    "cognito-idp:AdminInitiateAuth",
    "cognito-idp:AdminRespondToAuthChallenge",
    "cognito-idp:AdminUserGlobalSignOut",
)
# (read, write) actions of each user-pool grant, by the name after "user_pool:" ("" for the bare grant).
USER_POOL_ACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "": (USER_POOL_READ, USER_POOL_WRITE),
    "sign_up": ((), USER_POOL_SIGN_UP),
    "sessions": (USER_POOL_SESSIONS_READ, USER_POOL_SESSIONS_WRITE),
    # the erasure worker deletes the erased account's user
    "erase": ((), USER_POOL_ERASE),
    # the users function checks a password again before an erasure (the client's secret to sign the check with)
    "authenticate": (USER_POOL_SESSIONS_READ, USER_POOL_AUTHENTICATE),
}
# DetectModerationLabels takes the image bytes and has no resource type, so IAM can only say Resource "*".
MODERATION_READ = ("rekognition:DetectModerationLabels",)
# Mobile push through SNS platform applications (aperture's push adapter): registering a device token creates an
# endpoint under a platform application; everything after that (reading and re-enabling it, publishing to it by
# TargetArn, deleting it) acts on the endpoint. No topic, SMS or platform-application management is granted.
PUSH_APPLICATION_WRITE = ("sns:CreatePlatformEndpoint",)
PUSH_ENDPOINT_READ = ("sns:GetEndpointAttributes",)
PUSH_ENDPOINT_WRITE = (
    "sns:DeleteEndpoint",
    "sns:GetEndpointAttributes",
    "sns:Publish",
    "sns:SetEndpointAttributes",
)
# Explore's k-NN index (aperture.adapters.opensearch) in the one OpenSearch domain. The domain authorizes ESHttp*
# actions on the request's path (domain ARN + "/" + path), so grants name paths. Readers query the alias and nothing
# else: a POST anywhere under the index would also index or delete documents (_doc, _delete_by_query), so reading is
# the alias's _search endpoint alone (GET or POST, both a search). The refresh job builds `<alias>-<generation>`
# indices (create, bulk, refresh, list, delete) and moves the alias between them in one atomic POST /_aliases, a
# path without an index in it.
SEARCH_READ = ("es:ESHttpGet", "es:ESHttpPost")
SEARCH_WRITE = ("es:ESHttpDelete", "es:ESHttpGet", "es:ESHttpPost", "es:ESHttpPut")
SEARCH_ALIASES_WRITE = ("es:ESHttpPost",)
# The alias every function uses: the settings default, since no function is given another.
SEARCH_ALIASES = {"explore": str(Settings.model_fields["opensearch_alias"].default)}
# Inside the domain, fine-grained access control authorizes each request a second time, by OpenSearch action and
# index name, for the roles the caller's IAM role is mapped to (stacks.constructs.search_access writes both). The same
# two accesses in its terms, on the alias and its generations only: a reader searches (the k-NN query, with its
# shard-level phases); the writer lists, creates, bulk-loads, refreshes and deletes generations and moves the alias
# (checked against the alias and the indices it names). A bulk request is a cluster-level action too. No other index,
# no cluster setting, nothing of the security configuration.
SEARCH_INDEX_READ = ("indices:data/read/search*",)
SEARCH_INDEX_WRITE = (
    "indices:admin/aliases*",
    "indices:admin/create",
    "indices:admin/delete",
    "indices:admin/get",
    "indices:admin/refresh*",
    "indices:data/write/bulk*",
    "indices:data/write/index",
)
SEARCH_CLUSTER_WRITE = ("indices:data/write/bulk",)
# Authenticating to the timeline cache as its IAM-enabled user: a function's Redis password is a token signed with its
# role, which ElastiCache accepts only if the role may connect to both the cache and the user.
CACHE_CONNECT = ("elasticache:Connect",)
# Invalidating the distribution's cached images (deleted posts and stories); nothing else of CloudFront.
CDN_INVALIDATE = ("cloudfront:CreateInvalidation",)
ANY_RESOURCE = "*"


@dataclass(frozen=True)
class GrantTargets:
    """The deployed resources a grant can name."""

    tables: Mapping[str, dynamodb.ITable]
    table_declarations: Mapping[str, Table]
    streams: Mapping[str, kinesis.IStream]
    queues: Mapping[str, sqs.IQueue]
    queue_declarations: Mapping[str, Queue]
    media_bucket_name: str
    user_pool: cognito.IUserPool
    search_domain_arn: str  # the explore OpenSearch domain
    cdn_distribution_arn: str  # the image CDN, whose cached copies of deleted images are invalidated


def _actions(access: Access, read: tuple[str, ...], write: tuple[str, ...]) -> list[str]:
    chosen = {"read": read, "write": write, "read_write": read + write}[access]
    return sorted(set(chosen))


def _kind(grant: Grant) -> tuple[str, str]:
    kind, _, name = grant.resource.partition(":")
    return kind, name


def _one_resource(kind: str, name: str, targets: GrantTargets) -> tuple[str, tuple[str, ...], tuple[str, ...]] | None:
    """For a grant on exactly one resource: its ARN, and the actions reading and writing it."""
    if kind == "stream":
        return targets.streams[name].stream_arn, STREAM_READ, STREAM_WRITE
    if kind == "queue":
        return targets.queues[name].queue_arn, QUEUE_READ, QUEUE_WRITE
    if kind == "user_pool":
        return targets.user_pool.user_pool_arn, *USER_POOL_ACTIONS[name]
    if kind == "cdn" and name == "images":
        return targets.cdn_distribution_arn, (), CDN_INVALIDATE
    return None


def statements_for(grant: Grant, targets: GrantTargets) -> list[iam.PolicyStatement]:
    """The policy statements that let a function do `grant.access` on `grant.resource`, and nothing more."""
    kind, name = _kind(grant)
    reads = grant.access in ("read", "read_write")
    if kind == "table":
        table = targets.tables[name]
        resources = [table.table_arn]
        if reads:
            # Each declared index by name: no index/* wildcard, and a new index is granted when it is declared.
            resources += [f"{table.table_arn}/index/{index.name}" for index in targets.table_declarations[name].indexes]
        actions = _actions(grant.access, TABLE_READ, TABLE_WRITE) + (list(TABLE_SCAN) if grant.scan else [])
        return [iam.PolicyStatement(actions=sorted(actions), resources=resources)]
    single = _one_resource(kind, name, targets)
    if single is not None:
        arn, read, write = single
        return [iam.PolicyStatement(actions=_actions(grant.access, read, write), resources=[arn])]
    if kind == "bucket":
        objects = bucket_objects_arn(targets.media_bucket_name, f"{name}*")
        statements = [
            iam.PolicyStatement(actions=_actions(grant.access, OBJECT_READ, OBJECT_WRITE), resources=[objects])
        ]
        if reads:
            # Listing within the prefix turns a HEAD of a missing key into 404 instead of 403.
            statements.append(
                iam.PolicyStatement(
                    actions=["s3:ListBucket"],
                    resources=[bucket_arn(targets.media_bucket_name)],
                    conditions={"StringLike": {"s3:prefix": [f"{name}*"]}},
                )
            )
        return statements
    if kind == "rekognition" and name == "moderation" and grant.access == "read":
        return [iam.PolicyStatement(actions=list(MODERATION_READ), resources=[ANY_RESOURCE])]
    if kind == "sns" and name == "push":
        return [iam.PolicyStatement(actions=actions, resources=[arn]) for actions, arn in _push_scopes(grant.access)]
    if kind == "search" and name in SEARCH_ALIASES:
        return [
            iam.PolicyStatement(actions=actions, resources=resources)
            for actions, resources in _search_scopes(grant.access, SEARCH_ALIASES[name], targets.search_domain_arn)
        ]
    raise ValueError(f"no IAM mapping for grant {grant!r}; add one in stacks/constructs/permissions.py")


def cache_connect_statement(cache_arn: str, user_arn: str) -> iam.PolicyStatement:
    """What every function that uses Redis is granted: connecting to the one cache, as the one user."""
    return iam.PolicyStatement(actions=list(CACHE_CONNECT), resources=[cache_arn, user_arn])


def push_patterns() -> tuple[str, str]:
    """The ARN patterns of this account and region's SNS platform applications and of their endpoints.

    The platform applications are made outside CDK (they hold APNs/FCM credentials) and each device's endpoint is
    made at run time, so neither ARN is known at synth: the pattern names the resource type, in this account and
    region, and nothing else.
    """
    prefix = f"arn:{Aws.PARTITION}:sns:{Aws.REGION}:{Aws.ACCOUNT_ID}"
    return f"{prefix}:app/*", f"{prefix}:endpoint/*"


def _push_scopes(access: Access) -> list[tuple[list[str], str]]:
    applications, endpoints = push_patterns()
    scopes = [(_actions(access, PUSH_ENDPOINT_READ, PUSH_ENDPOINT_WRITE), endpoints)]
    if access != "read":
        scopes.append((list(PUSH_APPLICATION_WRITE), applications))
    return scopes


def _search_scopes(access: Access, alias: str, domain_arn: str) -> list[tuple[list[str], list[str]]]:
    scopes: list[tuple[list[str], list[str]]] = []
    if access in ("read", "read_write"):
        scopes.append((list(SEARCH_READ), [f"{domain_arn}/{alias}/_search"]))
    if access in ("write", "read_write"):
        scopes.append((list(SEARCH_WRITE), [f"{domain_arn}/{alias}-*"]))
        scopes.append((list(SEARCH_ALIASES_WRITE), [f"{domain_arn}/_aliases"]))
    return scopes


def search_security_role(access: Access, alias: str) -> str:
    """The name of the domain's role for `access` ("read" or "write") to the alias's indices."""
    if access == "read_write":
        raise ValueError("read_write is two roles: search_security_roles_for names both")
    return f"{alias}-{access}"


def search_security_roles_for(grant: Grant) -> list[str]:
    """The domain's roles a search grant maps its function's IAM role to (none for a grant on anything else)."""
    kind, name = _kind(grant)
    if kind != "search":
        return []
    accesses: list[Access] = ["read", "write"] if grant.access == "read_write" else [grant.access]
    return [search_security_role(access, SEARCH_ALIASES[name]) for access in accesses]


def search_security_roles(alias: str) -> dict[str, dict[str, Any]]:
    """The domain's read and write roles on `alias` and its generations, as the security plugin's REST API takes
    them (PUT _plugins/_security/api/roles/<name>)."""
    patterns = [alias, f"{alias}-*"]
    return {
        search_security_role("read", alias): {
            "description": f"Aperture: search {alias} (its alias and generations)",
            "cluster_permissions": [],
            "index_permissions": [{"index_patterns": patterns, "allowed_actions": list(SEARCH_INDEX_READ)}],
        },
        search_security_role("write", alias): {
            "description": f"Aperture: build, publish and delete the generations of {alias}",
            "cluster_permissions": list(SEARCH_CLUSTER_WRITE),
            "index_permissions": [{"index_patterns": patterns, "allowed_actions": list(SEARCH_INDEX_WRITE)}],
        },
    }


def search_patterns(grants: tuple[Grant, ...], domain_arn: str) -> list[str]:
    """The index-path patterns (generation wildcards) the search grants produce; cdk-nag reports each."""
    return sorted(
        {
            resource
            for g in grants
            if _kind(g)[0] == "search"
            for _, resources in _search_scopes(g.access, SEARCH_ALIASES[_kind(g)[1]], domain_arn)
            for resource in resources
            if "*" in resource
        }
    )


def wildcard_push_patterns(grants: tuple[Grant, ...]) -> list[str]:
    """The push ARN patterns the sns:push grants produce; cdk-nag reports each."""
    return [arn for g in grants if _kind(g) == ("sns", "push") for _, arn in _push_scopes(g.access)]


def object_patterns(grants: tuple[Grant, ...], bucket_name: str) -> list[str]:
    """The object ARN patterns (prefix wildcards) the bucket grants produce; cdk-nag reports each."""
    return [bucket_objects_arn(bucket_name, f"{_kind(g)[1]}*") for g in grants if _kind(g)[0] == "bucket"]
