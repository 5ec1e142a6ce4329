"""The edge stack: CloudFront in front of the media bucket (Lambda@Edge format negotiation joins it later)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from .constructs.cdn import ImageCdn


class EdgeStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, media_bucket_name: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.cdn = ImageCdn(self, "Images", media_bucket_name=media_bucket_name)
        CfnOutput(self, "CdnBase", value=self.cdn.base_url)
