"""The timeline cache: ElastiCache Serverless for Valkey inside the VPC."""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from constructs import Construct

from aperture.resources import CACHE_ACCESS

# Cost ceiling, not sizing: serverless scales inside these bounds and never bills past them.
MAX_DATA_GB = 5
MAX_ECPU_PER_SECOND = 5000
# The user group's engine, and its users'. A Valkey cache takes user groups of either engine ("Role-Based Access
# Control", ElastiCache guide). A "redis" group must hold a user named "default", which a connection is before it
# authenticates; AWS's own (id "default": no password, every command) is replaced here by one that is off. A
# "valkey" group admits only users with a password or IAM, so a disabled default user there would still need a
# password to generate and keep; a "redis" one needs none, and IAM authentication is the same for both engines.
USER_ENGINE = "redis"
# Nothing at all for a connection that has not authenticated (AWS's own "default" user may run every command).
DISABLED_DEFAULT_ACCESS = "off -@all"
# An existing deployment's functions learn to authenticate only when the service stack deploys, after this stack
# (and the edge stack): deployed once with this context value true, the group's default user stays open, so
# nothing is refused meanwhile; the next deploy without it closes it (docs/operations.md, "Turning on Redis
# authentication"). A new deployment needs neither step.
OPEN_DEFAULT_CONTEXT = "aperture:cacheDefaultUserOpen"
OPEN_DEFAULT_ACCESS = "on ~* +@all -@dangerous"


class TimelineCache(Construct):
    """Timelines, counters and hot caches.

    Serverless rather than a replication group: its idle floor is 100 MB of Valkey data (about $6/month), while the
    smallest Multi-AZ replication group (two cache.t4g.micro) is about $23/month; it is Multi-AZ, always encrypted
    at rest, and TLS-only in transit without further settings. It speaks the cluster protocol only, which our
    keys are built for (a hash tag per user), so functions get REDIS_URL=rediss://... and a cluster client.
    Access is by network and by identity: only the functions' security group reaches port 6379 (6380 serves replica
    reads), and a connection may do nothing until it authenticates as the functions' user (RBAC), whose password is
    an IAM token signed with the function's role (elasticache:Connect on the cache and the user, stacks/constructs/
    functions.py). The user may run every command but the dangerous ones (aperture.resources.CACHE_ACCESS).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        clients: ec2.ISecurityGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Timeline cache, reachable from the Aperture functions only",
            allow_all_outbound=False,
        )
        self.security_group.add_ingress_rule(clients, ec2.Port.tcp_range(6379, 6380), "Valkey over TLS")
        prefix = Stack.of(self).stack_name.lower()
        self.cache_name = f"{prefix}-timelines"
        # IAM authentication: user id and user name the same (ElastiCache requires it), lowercase (the id's pattern).
        # The functions send it as the user of AUTH/HELLO and sign their token for it (APERTURE_REDIS_USER).
        self.user_id = f"{prefix}-functions"
        self.user = elasticache.CfnUser(
            self,
            "FunctionsUser",
            engine=USER_ENGINE,
            user_id=self.user_id,
            user_name=self.user_id,
            authentication_mode={"Type": "iam"},
            access_string=CACHE_ACCESS,
        )
        # Takes the name "default" in the group in place of AWS's own user of that name (id "default").
        still_open = str(self.node.try_get_context(OPEN_DEFAULT_CONTEXT)).lower() == "true"
        self.default_user = elasticache.CfnUser(
            self,
            "DisabledDefaultUser",
            engine=USER_ENGINE,
            user_id=f"{prefix}-default-off",
            user_name="default",
            authentication_mode={"Type": "no-password-required"},
            access_string=OPEN_DEFAULT_ACCESS if still_open else DISABLED_DEFAULT_ACCESS,
        )
        self.user_group = elasticache.CfnUserGroup(
            self,
            "Users",
            engine=USER_ENGINE,
            user_group_id=f"{prefix}-timelines",
            user_ids=[self.default_user.user_id, self.user.user_id],
        )
        # The ids are names, not references: the group is created after its users, and deleted before them.
        self.user_group.add_dependency(self.user)
        self.user_group.add_dependency(self.default_user)
        self.cache = elasticache.CfnServerlessCache(
            self,
            "Cache",
            engine="valkey",
            major_engine_version="8",
            serverless_cache_name=self.cache_name,
            description="Aperture timelines, counters and caches",
            subnet_ids=vpc.select_subnets(subnet_type=subnets.subnet_type).subnet_ids,
            security_group_ids=[self.security_group.security_group_id],
            # RBAC: a connection is the group's "default" user (off) until it authenticates as one of its users.
            user_group_id=self.user_group.ref,
            cache_usage_limits=elasticache.CfnServerlessCache.CacheUsageLimitsProperty(
                data_storage=elasticache.CfnServerlessCache.DataStorageProperty(unit="GB", maximum=MAX_DATA_GB),
                ecpu_per_second=elasticache.CfnServerlessCache.ECPUPerSecondProperty(maximum=MAX_ECPU_PER_SECOND),
            ),
            # Timelines can be rebuilt from DynamoDB; one daily snapshot bounds the loss of unflushed counters.
            snapshot_retention_limit=1,
            daily_snapshot_time="04:00",
        )

    @property
    def url(self) -> str:
        return f"rediss://{self.cache.attr_endpoint_address}:{self.cache.attr_endpoint_port}"

    @property
    def arn(self) -> str:
        # By name, in this account and region: the service stack's grants need no cross-stack reference.
        return f"arn:{Aws.PARTITION}:elasticache:{Aws.REGION}:{Aws.ACCOUNT_ID}:serverlesscache:{self.cache_name}"

    @property
    def user_arn(self) -> str:
        return f"arn:{Aws.PARTITION}:elasticache:{Aws.REGION}:{Aws.ACCOUNT_ID}:user:{self.user_id}"
