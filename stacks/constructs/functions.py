"""One Lambda per declared function: code, layer, environment, least-privilege role, network, triggers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Size, Stack, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3_notifications
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from aperture.resources import FUNCTION_TAG, Function, KinesisTrigger, S3Trigger, SqsTrigger, TableStreamTrigger
from aperture.settings import setting_variable

from .environment import common_variables
from .failures import ArchiveOnFailure
from .layer import ARCHITECTURE, RUNTIME
from .nag import (
    BASIC_EXECUTION,
    VPC_EXECUTION,
    acknowledge,
    managed_policy_finding,
    wildcard_resource_finding,
)
from .permissions import (
    GrantTargets,
    cache_connect_statement,
    object_patterns,
    search_patterns,
    statements_for,
    wildcard_push_patterns,
)
from .queues import check_consumer

LOG_RETENTION = logs.RetentionDays.ONE_MONTH
ASYNC_RETRIES = 2
_IGNORED = ["**/__pycache__", "**/*.pyc"]


@dataclass(frozen=True)
class Placement:
    """Where functions that use Redis run: the cache is reachable from this VPC and security group only."""

    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    security_group: ec2.ISecurityGroup


@dataclass(frozen=True)
class CacheLogin:
    """Where the functions that use Redis find the cache, and whom they authenticate as: the IAM-enabled user, with a
    token each function signs for the cache (stacks.constructs.cache)."""

    url: str  # rediss://<endpoint>:<port>
    cache_name: str
    user_id: str
    cache_arn: str
    user_arn: str


@dataclass(frozen=True)
class Wiring:
    """Everything a function may be handed besides its grants' targets."""

    targets: GrantTargets
    user_pool_client_id: str
    cache: CacheLogin
    search_url: str  # https://<the explore domain's endpoint>
    cdn_base: str
    cdn_distribution_id: str
    placement: Placement
    failure_archive: s3.IBucket  # stream batches the consumers gave up on, whole
    layer: lambda_.ILayerVersion
    functions_root: Path
    # Settings field -> SNS platform application ARN, for the platforms given (stacks.constructs.push).
    push_applications: Mapping[str, str]
    # Whether the declared reserved concurrency is set (not in an account whose limit leaves nothing to reserve)
    reserve_concurrency: bool = True


def variables_for(function: Function, wiring: Wiring) -> dict[str, str]:
    """The common variables plus one per granted resource, so a function cannot even name what it may not use."""
    targets = wiring.targets
    variables = common_variables(function.name, wiring.cdn_base)
    for grant in function.grants:
        kind, _, name = grant.resource.partition(":")
        if kind == "table":
            variables[setting_variable(targets.table_declarations[name].setting)] = targets.tables[name].table_name
        elif kind == "stream":
            variables[setting_variable(f"stream_{name}")] = targets.streams[name].stream_name
        elif kind == "queue":
            # The URL: SQS calls address a queue by it (the local runtime resolves a bare name instead).
            variables[setting_variable(targets.queue_declarations[name].setting)] = targets.queues[name].queue_url
        elif kind == "bucket":
            variables[setting_variable("media_bucket")] = targets.media_bucket_name
        elif kind == "user_pool":
            variables[setting_variable("user_pool_id")] = targets.user_pool.user_pool_id
            variables[setting_variable("user_pool_client_id")] = wiring.user_pool_client_id
        elif kind == "sns":
            for field, arn in wiring.push_applications.items():
                variables[setting_variable(field)] = arn
        elif kind == "cdn":
            variables[setting_variable("cdn_distribution_id")] = wiring.cdn_distribution_id
        elif kind == "search":
            variables[setting_variable("opensearch_url")] = wiring.search_url
            # The domain trusts IAM only: every request is signed with the function's role.
            variables[setting_variable("opensearch_sigv4")] = "true"
    if function.redis:
        variables[setting_variable("redis_url")] = wiring.cache.url
        # ElastiCache Serverless speaks the cluster protocol only.
        variables[setting_variable("redis_cluster")] = "true"
        # No connection may do anything before it authenticates: as this user, with an IAM token for this cache.
        variables[setting_variable("redis_user")] = wiring.cache.user_id
        variables[setting_variable("redis_iam_cache")] = wiring.cache.cache_name
    variables.update(function.extra)
    return variables


def check_placement(function: Function) -> None:
    """Refuse a function placed where a service it is granted cannot be reached.

    The search domain answers only inside the VPC; CloudFront's API only outside it (AWS offers no VPC endpoint
    for it, and the VPC has no NAT). `redis` is what places a function in the VPC (aperture.resources), so the
    declaration has to change.
    """
    searches = [g.resource for g in function.grants if g.resource.startswith("search:")]
    if searches and not function.redis:
        raise ValueError(
            f"function {function.name!r} is granted {searches[0]!r} but runs outside the VPC, where the search "
            "domain cannot be reached: declare it with redis=True in aperture.resources"
        )
    invalidations = [g.resource for g in function.grants if g.resource.startswith("cdn:")]
    if invalidations and function.redis:
        raise ValueError(
            f"function {function.name!r} is granted {invalidations[0]!r} but runs inside the VPC, where CloudFront's "
            "API cannot be reached: queue the paths for cdn_invalidate (Grant('queue:cdn_invalidations', 'write'))"
        )


def _role(function: lambda_.Function) -> iam.IRole:
    """The function's role: a Function makes its own when none is given, as none is here."""
    if function.role is None:
        raise ValueError(f"function {function.node.path} has no role to grant to")
    return function.role


def failure_queue(scope: Construct) -> sqs.Queue:
    """The end of the line for asynchronous events that exhausted their retries (S3 notifications, schedules):
    kept two weeks for inspection and redrive."""
    queue = sqs.Queue(
        scope,
        "Failures",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    acknowledge(
        queue,
        "AwsSolutions-SQS3",
        "This queue is itself the dead-letter destination of a function's trigger (an asynchronous invoke's "
        "on-failure destination or a schedule's DLQ); a DLQ of the DLQ would only move the same messages one hop "
        "further.",
    )
    return queue


class ServiceFunction(Construct):
    """A declared function with its log group, role, and (if it has a trigger) where what keeps failing goes."""

    def __init__(self, scope: Construct, construct_id: str, *, declaration: Function, wiring: Wiring) -> None:
        super().__init__(scope, construct_id)
        self.declaration = declaration
        placement = wiring.placement
        check_placement(declaration)
        in_vpc = declaration.redis
        self.function = lambda_.Function(
            self,
            "Function",
            description=declaration.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler="handler.lambda_handler",
            code=lambda_.Code.from_asset(str(wiring.functions_root / declaration.name), exclude=_IGNORED),
            layers=[wiring.layer],
            memory_size=declaration.memory_mb,
            timeout=Duration.seconds(declaration.timeout_seconds),
            ephemeral_storage_size=Size.mebibytes(declaration.ephemeral_storage_mb),
            environment=variables_for(declaration, wiring),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=logs.LogGroup(self, "Logs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY),
            vpc=placement.vpc if in_vpc else None,
            vpc_subnets=placement.subnets if in_vpc else None,
            security_groups=[placement.security_group] if in_vpc else None,
            reserved_concurrent_executions=declaration.reserved_concurrency if wiring.reserve_concurrency else None,
        )
        # An operator's tool (the redrive) tells which declared function a deployed ARN is by this tag.
        Tags.of(self.function).add(FUNCTION_TAG, declaration.name)
        for grant in declaration.grants:
            for statement in statements_for(grant, wiring.targets):
                self.function.add_to_role_policy(statement)
        if in_vpc:
            # What places a function in the VPC is that it uses Redis: it authenticates to the cache with its role.
            self.function.add_to_role_policy(cache_connect_statement(wiring.cache.cache_arn, wiring.cache.user_arn))

        role = _role(self.function)
        for pattern in object_patterns(declaration.grants, wiring.targets.media_bucket_name):
            acknowledge(
                role,
                wildcard_resource_finding(role, pattern),
                "Object-level grant on one key prefix of the media bucket, as declared in aperture.resources; "
                "object keys are per user and per upload, so the prefix is the narrowest stable resource.",
            )
        for pattern in wildcard_push_patterns(declaration.grants):
            acknowledge(
                role,
                wildcard_resource_finding(role, pattern),
                "SNS mobile push, as declared in aperture.resources: platform applications are created outside CDK "
                "(they hold APNs/FCM credentials) and device endpoints at run time, so neither ARN exists at synth; "
                "the pattern is one resource type in this account and region, and only the push calls are granted.",
            )
        for pattern in search_patterns(declaration.grants, wiring.targets.search_domain_arn):
            acknowledge(
                role,
                wildcard_resource_finding(role, pattern),
                "The explore refresh job's k-NN indices are named <alias>-<generation>, a new one every run, so "
                "the alias's prefix is the narrowest stable resource; readers get the alias's _search path only.",
            )
        if in_vpc:
            acknowledge(
                role,
                managed_policy_finding(VPC_EXECUTION),
                "AWS-maintained policy with exactly the ENI actions Lambda needs to attach the function to the "
                "VPC, plus CloudWatch Logs writes.",
            )

        # A ScheduleTrigger's rule lives in stacks.constructs.schedules (with its own dead-letter queue); an
        # SqsTrigger's failed messages go to the dead-letter queue of the queue itself (stacks.constructs.queues);
        # a stream's failed batches go whole to the failure archive bucket.
        self.failures: sqs.Queue | None = None
        self.failure_archive: ArchiveOnFailure | None = None
        if isinstance(declaration.trigger, KinesisTrigger):
            self._consume_stream(declaration.trigger, wiring)
        elif isinstance(declaration.trigger, TableStreamTrigger):
            self._consume_table(declaration.trigger, wiring)
        elif isinstance(declaration.trigger, S3Trigger):
            self._handle_uploads(declaration.trigger, wiring)
        elif isinstance(declaration.trigger, SqsTrigger):
            self._consume_queue(declaration.trigger, wiring)

    def _archive_failures(self, wiring: Wiring) -> ArchiveOnFailure:
        """The stream mapping's S3 on-failure destination: the whole batch is kept (an SQS one gets only its shard
        and sequence numbers, and the stream forgets the records after 24 hours)."""
        self.failure_archive = ArchiveOnFailure(wiring.failure_archive)
        role = _role(self.function)
        acknowledge(
            role,
            wildcard_resource_finding(role, self.failure_archive.objects),
            "Lambda's S3 on-failure destination names each object aws/lambda/<mapping id>/<shard id>/<time>-<uuid> "
            "at run time, so the prefix is the narrowest resource; only PutObject is granted there.",
        )
        return self.failure_archive

    def _consume_stream(self, trigger: KinesisTrigger, wiring: Wiring) -> None:
        self.function.add_event_source_mapping(
            "Events",
            event_source_arn=wiring.targets.streams[trigger.stream].stream_arn,
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=trigger.batch_size,
            # Partial batch failures and bisection retry only the records that failed; after max_retries the
            # batch goes whole to the failure archive instead of blocking its shard.
            report_batch_item_failures=True,
            bisect_batch_on_error=True,
            retry_attempts=trigger.max_retries,
            on_failure=self._archive_failures(wiring),
        )

    def _consume_table(self, trigger: TableStreamTrigger, wiring: Wiring) -> None:
        table = wiring.targets.tables.get(trigger.table)
        if table is None or not wiring.targets.table_declarations[trigger.table].stream:
            raise ValueError(f"function {self.declaration.name!r} reads {trigger.table!r}, a table without a stream")
        # As for Kinesis: partial batch failures, bisection, then the whole batch to the failure archive. The
        # event source grants the function the stream's read actions (and nothing on the table itself).
        self.function.add_event_source(
            event_sources.DynamoEventSource(
                table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=trigger.batch_size,
                report_batch_item_failures=True,
                bisect_batch_on_error=True,
                retry_attempts=trigger.max_retries,
                on_failure=self._archive_failures(wiring),
            )
        )

    def _consume_queue(self, trigger: SqsTrigger, wiring: Wiring) -> None:
        targets = wiring.targets
        if trigger.queue not in targets.queues:
            raise ValueError(f"function {self.declaration.name!r} is triggered by undeclared queue {trigger.queue!r}")
        check_consumer(targets.queue_declarations[trigger.queue], self.declaration)
        window = trigger.max_batching_window_seconds
        # Partial batch failures: only the messages the handler reports failed become visible again, and each one
        # received max_receives times moves to the queue's dead-letter queue (its redrive policy).
        self.function.add_event_source(
            event_sources.SqsEventSource(
                targets.queues[trigger.queue],
                batch_size=trigger.batch_size,
                max_batching_window=Duration.seconds(window) if window else None,
                max_concurrency=trigger.max_concurrency,
                report_batch_item_failures=True,
            )
        )

    def _handle_uploads(self, trigger: S3Trigger, wiring: Wiring) -> None:
        self.failures = failure_queue(self)
        # S3 invokes asynchronously: after the retries the event lands in the failure queue, not on the floor.
        self.function.configure_async_invoke(
            on_failure=destinations.SqsDestination(self.failures),
            retry_attempts=ASYNC_RETRIES,
            max_event_age=Duration.hours(6),
        )
        # The bucket lives in the stateful stack; attaching the notification to it there would make that stack
        # reference this function while this stack references the bucket (a cycle). Through the bucket's name,
        # CDK's notifications custom resource lives here and merges with any other notification on the bucket.
        bucket = s3.Bucket.from_bucket_name(self, "MediaBucket", wiring.targets.media_bucket_name)
        bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3_notifications.LambdaDestination(self.function),
            s3.NotificationKeyFilter(prefix=trigger.prefix),
        )
        _acknowledge_notifications_handler(Stack.of(self))


def _acknowledge_notifications_handler(stack: Stack) -> None:
    # CDK makes one handler per stack, as a direct child of the stack, under a fixed id prefix.
    for child in stack.node.children:
        if child.node.id.startswith("BucketNotificationsHandler"):
            acknowledge(
                child,
                managed_policy_finding(BASIC_EXECUTION),
                "CDK's bucket-notifications custom resource handler; the AWS-maintained policy only lets it write "
                "its own logs.",
            )


class ServiceFunctions(Construct):
    """Every function in aperture.resources.FUNCTIONS, by name."""

    def __init__(
        self, scope: Construct, construct_id: str, *, declarations: Iterable[Function], wiring: Wiring
    ) -> None:
        super().__init__(scope, construct_id)
        self.by_name: dict[str, ServiceFunction] = {
            declaration.name: ServiceFunction(
                self, _construct_id(declaration.name), declaration=declaration, wiring=wiring
            )
            for declaration in declarations
        }
        acknowledge(
            self,
            managed_policy_finding(BASIC_EXECUTION),
            "AWS-maintained policy that lets a function write its own CloudWatch logs and nothing else.",
        )
        acknowledge(
            self,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray's PutTraceSegments/PutTelemetryRecords and Rekognition's DetectModerationLabels (granted only "
            "with a rekognition:moderation grant) have no resource-level permissions, so IAM can only say '*'; "
            "no other action is granted on '*' (tests assert it).",
        )
        acknowledge(
            self,
            "AwsSolutions-L1",
            "Python 3.12 is the platform's chosen runtime: the core layer's wheels are built for cp312 and the "
            "local runtime and tests match it; moving runtimes is a deliberate, tested change.",
        )

    @property
    def functions(self) -> dict[str, lambda_.Function]:
        return {name: f.function for name, f in self.by_name.items()}


def _construct_id(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
