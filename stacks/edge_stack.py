"""The edge stack: CloudFront in front of the media bucket, with format negotiation at the edge.

The `/images/*` behavior runs a CloudFront Function (viewer request) and a Lambda@Edge function (origin request and
response), behind a WAF web ACL; see stacks.constructs.cdn. CloudFront accepts Lambda@Edge functions and web ACLs
created in us-east-1 only, so this stack must deploy there (stacks.constructs.distribution.require_edge_region).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from .constructs.cdn import ImageCdn
from .constructs.distribution import require_edge_region


class EdgeStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, media_bucket_name: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        require_edge_region(self, "Lambda@Edge functions and the image CDN's web ACL")
        self.cdn = ImageCdn(self, "Images", media_bucket_name=media_bucket_name)
        CfnOutput(self, "CdnBase", value=self.cdn.base_url)
