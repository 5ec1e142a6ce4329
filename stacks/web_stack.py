"""The web stack: the browser app (web/dist) in a private bucket behind its own CloudFront distribution."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

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
