"""The web stack: the browser app (web/dist) in a private bucket behind its own CloudFront distribution and web ACL.

CloudFront takes web ACLs created in us-east-1 only, so this stack must deploy there, as the edge stack does
(stacks.constructs.distribution.require_edge_region).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from .constructs.distribution import require_edge_region
from .constructs.web import WebApp


class WebStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dist: Path,
        api_url: str,
        user_pool_client_id: str,
        cdn_base: str,
        media_bucket_name: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        require_edge_region(self, "the web app's web ACL")
        self.web = WebApp(
            self,
            "App",
            dist=dist,
            api_url=api_url,
            user_pool_client_id=user_pool_client_id,
            cdn_base=cdn_base,
            media_bucket_name=media_bucket_name,
        )
        CfnOutput(self, "WebUrl", value=self.web.url)
