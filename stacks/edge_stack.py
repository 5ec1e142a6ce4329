"""The edge stack: CloudFront in front of the media bucket, with format negotiation at the edge.

The `/images/*` behavior runs a CloudFront Function (viewer request) and a Lambda@Edge function (origin request and
response); see stacks.constructs.cdn. CloudFront accepts Lambda@Edge functions created in us-east-1 only, so this
stack must deploy there; the stacks are synthesized environment-agnostic, so a CloudFormation rule refuses any
other region at deploy time (before anything is created), and a known other region is refused at synth.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnOutput, CfnRule, CfnRuleAssertion, Fn, Stack, Token
from constructs import Construct

from .constructs.cdn import EDGE_REGION, ImageCdn


class EdgeStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, media_bucket_name: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        if not Token.is_unresolved(self.region) and self.region != EDGE_REGION:
            raise ValueError(
                f"{construct_id} holds Lambda@Edge functions, which CloudFront takes from {EDGE_REGION} only; "
                f"deploy with region {EDGE_REGION}, not {self.region}"
            )
        CfnRule(
            self,
            "DeployedInUsEast1",
            assertions=[
                CfnRuleAssertion(
                    assert_=Fn.condition_equals(Aws.REGION, EDGE_REGION),
                    assert_description=f"Lambda@Edge functions must be created in {EDGE_REGION}: deploy there.",
                )
            ],
        )
        self.cdn = ImageCdn(self, "Images", media_bucket_name=media_bucket_name)
        CfnOutput(self, "CdnBase", value=self.cdn.base_url)
