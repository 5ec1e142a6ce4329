"""The timeline cache: ElastiCache Serverless for Valkey inside the VPC."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from constructs import Construct

# Cost ceiling, not sizing: serverless scales inside these bounds and never bills past them.
MAX_DATA_GB = 5
MAX_ECPU_PER_SECOND = 5000


class TimelineCache(Construct):
    """Timelines, counters and hot caches.

    Serverless rather than a replication group: its idle floor is 100 MB of Valkey data (about $6/month), while the
    smallest Multi-AZ replication group (two cache.t4g.micro) is about $23/month; it is Multi-AZ, always encrypted
    at rest, and TLS-only in transit without further settings. It speaks the cluster protocol only, which our
    keys are built for (a hash tag per user), so functions get REDIS_URL=rediss://... and a cluster client.
    Access is by network: only the functions' security group reaches port 6379 (6380 serves replica reads).
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
        self.cache = elasticache.CfnServerlessCache(
            self,
            "Cache",
            engine="valkey",
            major_engine_version="8",
            serverless_cache_name=f"{Stack.of(self).stack_name.lower()}-timelines",
            description="Aperture timelines, counters and caches",
            subnet_ids=vpc.select_subnets(subnet_type=subnets.subnet_type).subnet_ids,
            security_group_ids=[self.security_group.security_group_id],
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
