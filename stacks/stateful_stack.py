"""The stateful stack: data that outlives deployments (tables, streams, queues, media, users) and its network."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from aperture.resources import FUNCTIONS, QUEUES, STREAMS, TABLES

from .constructs.cache import TimelineCache
from .constructs.data import Tables
from .constructs.events import EventStreams
from .constructs.failures import FailureArchive
from .constructs.functions import Placement
from .constructs.identity import Identity
from .constructs.media import MediaStore
from .constructs.monitoring import Alerts
from .constructs.network import Network, interface_endpoints_for
from .constructs.queues import WorkQueues
from .constructs.search import ExploreSearch


class StatefulStack(Stack):
    """Everything here is retained or rebuildable; the service stack can be destroyed and redeployed freely."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.network = Network(self, "Network", interface_endpoints=interface_endpoints_for(FUNCTIONS))
        vpc = self.network.vpc
        self.placement = Placement(
            vpc=vpc, subnets=self.network.subnets, security_group=self.network.function_security_group
        )
        self.data = Tables(self, "Tables", declarations=TABLES)
        self.events = EventStreams(self, "Streams", declarations=STREAMS)
        # The consumers' triggers set each queue's redrive policy (max_receives).
        self.queues = WorkQueues(self, "Queues", declarations=QUEUES, consumers=FUNCTIONS)
        self.media = MediaStore(self, "Media")
        # Stream batches the consumers gave up on, whole (their event source mappings' on-failure destination).
        self.failures = FailureArchive(self, "Failures", access_logs=self.media.access_logs)
        self.identity = Identity(self, "Identity")
        self.cache = TimelineCache(
            self, "Cache", vpc=vpc, subnets=self.network.subnets, clients=self.network.function_security_group
        )
        # Every alarm notifies this topic; `-c alarmEmail=ops@example.com` subscribes an address.
        self.alerts = Alerts(self, "Alerts", email=self.node.try_get_context("alarmEmail"))
        self.search = ExploreSearch(
            self, "Search", vpc=vpc, subnets=self.network.subnets, clients=self.network.function_security_group
        )

        CfnOutput(self, "MediaBucketName", value=self.media.bucket.bucket_name)
        # What `python -m local.redrive --bucket` takes.
        CfnOutput(self, "FailureArchiveBucketName", value=self.failures.bucket.bucket_name)
        CfnOutput(self, "UserPoolId", value=self.identity.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=self.identity.client.user_pool_client_id)
        CfnOutput(self, "SearchEndpoint", value=self.search.domain.domain_endpoint)
        CfnOutput(self, "AlarmTopicArn", value=self.alerts.topic.topic_arn)
