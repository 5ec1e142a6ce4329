"""The service stack: the functions, their triggers and the HTTP API; stateless, safe to redeploy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Aws, CfnOutput, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from aperture.resources import FUNCTIONS
from aperture.routes import ROUTES

from .constructs.api import HttpEndpoints
from .constructs.cache import MAX_DATA_GB
from .constructs.functions import CacheLogin, ServiceFunctions, Wiring
from .constructs.layer import CoreLayer
from .constructs.monitoring import MonitoringStack, Watched
from .constructs.naming import failure_archive_bucket_name, media_bucket_name
from .constructs.permissions import GrantTargets
from .constructs.push import push_applications
from .constructs.schedules import Schedules
from .constructs.search import DOMAIN_NAME
from .constructs.search_access import SearchAccess
from .stateful_stack import StatefulStack


class ServiceStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stateful: StatefulStack,
        cdn_base: str,
        cdn_distribution_id: str,
        source_root: Path,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        layer = CoreLayer(self, "CoreLayer", layer_root=source_root / "layers" / "core")
        targets = GrantTargets(
            tables=stateful.data.tables,
            table_declarations=stateful.data.declarations,
            streams=stateful.events.streams,
            queues=stateful.queues.queues,
            queue_declarations=stateful.queues.declarations,
            media_bucket_name=media_bucket_name(),
            user_pool=stateful.identity.user_pool,
            search_domain_arn=stateful.search.domain_arn,
            cdn_distribution_arn=f"arn:{Aws.PARTITION}:cloudfront::{Aws.ACCOUNT_ID}:distribution/{cdn_distribution_id}",
        )
        self.functions = ServiceFunctions(
            self,
            "Functions",
            declarations=FUNCTIONS,
            wiring=Wiring(
                targets=targets,
                user_pool_client_id=stateful.identity.client.user_pool_client_id,
                cache=CacheLogin(
                    url=stateful.cache.url,
                    cache_name=stateful.cache.cache_name,
                    user_id=stateful.cache.user_id,
                    cache_arn=stateful.cache.arn,
                    user_arn=stateful.cache.user_arn,
                ),
                search_url=f"https://{stateful.search.domain.domain_endpoint}",
                cdn_base=cdn_base,
                cdn_distribution_id=cdn_distribution_id,
                placement=stateful.placement,
                # By name, as the media bucket: a cross-stack reference would tie each consumer's policy to an export.
                failure_archive=s3.Bucket.from_bucket_name(self, "FailureArchive", failure_archive_bucket_name()),
                layer=layer.layer,
                functions_root=source_root / "functions",
                # Optional context apnsApplicationArn / fcmApplicationArn: see stacks/constructs/push.py.
                push_applications=push_applications(self),
                # `-c reservedConcurrency=false` for an account whose concurrency limit is under 1,000 (new
                # accounts may have 10): Lambda keeps 100 unreserved, so there every reservation fails the deploy.
                reserve_concurrency=str(self.node.try_get_context("reservedConcurrency")).lower() != "false",
            ),
        )
        # The domain's own roles for the functions granted it, and its audit log (fine-grained access control).
        self.search_access = SearchAccess(
            self, "SearchAccess", search=stateful.search, placement=stateful.placement, functions=self.functions.by_name
        )
        self.api = HttpEndpoints(
            self,
            "Http",
            routes=ROUTES,
            functions=self.functions.functions,
            user_pool_id=stateful.identity.user_pool.user_pool_id,
            user_pool_client_id=stateful.identity.client.user_pool_client_id,
        )
        # EventBridge rules for the functions declared with a ScheduleTrigger, next to the functions they invoke.
        self.schedules = Schedules(self, "Schedules", functions=self.functions.by_name)
        # Parked work: each job queue's dead-letter queue, media_process's failed invokes, failed scheduled runs.
        parked: dict[str, sqs.IQueue] = {f"{key}-dead-letters": q for key, q in stateful.queues.dead_letters.items()}
        parked |= {f"{n}-failures": f.failures for n, f in self.functions.by_name.items() if f.failures is not None}
        parked |= {f"{n}-schedule-failures": run.failures for n, run in self.schedules.by_name.items()}
        watched = Watched(
            functions=self.functions.functions,
            declarations=FUNCTIONS,
            dead_letters=parked,
            api_id=self.api.api.api_id,
            stage=self.api.stage.stage_name,
            routes=ROUTES,
            failure_archive_bucket=failure_archive_bucket_name(),
            cache_name=stateful.cache.cache_name,
            cache_data_limit_gb=MAX_DATA_GB,
            search_domain=DOMAIN_NAME,
            account=Aws.ACCOUNT_ID,
        )
        self.monitoring = MonitoringStack(self, "Monitoring", topic=stateful.alerts.topic, watched=watched)
        CfnOutput(self, "ApiUrl", value=self.api.url)
