"""Images to clients: a CloudFront distribution reading the media bucket through origin access control.

`/images/*` negotiates the format at the edge (API.md, CDN): a CloudFront Function (edge/negotiate.js) rewrites the
URI to the AVIF, WebP or JPEG object the Accept header asks for, and a Lambda@Edge function (edge/origin/images.py)
falls back from a not-yet-encoded AVIF to the WebP and adds `Vary: Accept`. Lambda@Edge functions (and the web ACL)
must be created in us-east-1, so the edge stack deploys there (stacks.edge_stack enforces it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from aperture.resources import IMAGE_PREFIX

from .distribution import acknowledge_public_distribution, log_bucket
from .firewall import CdnFirewall
from .nag import BASIC_EXECUTION, acknowledge, managed_policy_finding, wildcard_resource_finding
from .naming import bucket_arn, bucket_objects_arn

IMAGES_PATH = f"/{IMAGE_PREFIX}*"
# Rendered images never change under a key (a new render is a new key), so caches may keep them for a year.
IMAGE_MAX_AGE = Duration.days(365)
EDGE_CODE = Path(__file__).resolve().parents[2] / "edge"


class FormatNegotiation(Construct):
    """The viewer-request CloudFront Function and the origin-request/-response Lambda@Edge function of `/images/*`."""

    def __init__(self, scope: Construct, construct_id: str, *, media_bucket_name: str) -> None:
        super().__init__(scope, construct_id)
        self.viewer_request = cloudfront.Function(
            self,
            "Negotiate",
            code=cloudfront.FunctionCode.from_file(file_path=str(EDGE_CODE / "negotiate.js")),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment="Rewrites /images/ URIs to the AVIF, WebP or JPEG object that Accept asks for",
        )
        # Lambda@Edge runs in whichever region serves the viewer and logs there; CloudFront's replicas assume the
        # role through edgelambda.amazonaws.com (the distribution adds that principal to the trust policy).
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Aperture Lambda@Edge: looks up rendered images to fall back from AVIF to WebP",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole")
            ],
        )
        rendered = bucket_objects_arn(media_bucket_name, f"{IMAGE_PREFIX}*")
        # HeadObject is authorized as s3:GetObject; only rendered images, never uploads.
        self.role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[rendered]))
        # With s3:ListBucket S3 answers a missing key with 404 rather than 403, which is how the function tells
        # "AVIF not encoded yet" from a refusal. Limited to the images/ prefix: it cannot list uploads.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket_arn(media_bucket_name)],
                conditions={"StringLike": {"s3:prefix": [f"{IMAGE_PREFIX}*"]}},
            )
        )
        acknowledge(
            self.role,
            wildcard_resource_finding(self.role, rendered),
            "Object-level read of the images/ prefix of the media bucket only: the function looks up whichever "
            "rendition a request names, and rendition keys are per user and per post.",
        )
        acknowledge(
            self.role,
            managed_policy_finding(BASIC_EXECUTION),
            "AWS-maintained policy that lets the function write its own CloudWatch logs, in every region where "
            "CloudFront runs a replica (their log groups cannot be named ahead of time).",
        )
        self.function = lambda_.Function(
            self,
            "FormatFallback",
            description="Aperture /images/*: AVIF not encoded yet -> WebP (origin request); Vary: Accept (response)",
            # Lambda@Edge: x86_64 only, no environment variables, no layers, origin triggers up to 30 s.
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.X86_64,
            handler="images.handler",
            code=lambda_.Code.from_asset(str(EDGE_CODE / "origin"), exclude=["**/__pycache__", "**/*.pyc"]),
            memory_size=128,
            timeout=Duration.seconds(5),
            role=self.role,
        )
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "Python 3.12 is the platform's chosen runtime (the service functions and their tests use it too); "
            "moving runtimes is a deliberate, tested change for every function at once.",
        )

    def edge_lambdas(self) -> list[cloudfront.EdgeLambda]:
        version = self.function.current_version
        return [
            cloudfront.EdgeLambda(function_version=version, event_type=cloudfront.LambdaEdgeEventType.ORIGIN_REQUEST),
            cloudfront.EdgeLambda(function_version=version, event_type=cloudfront.LambdaEdgeEventType.ORIGIN_RESPONSE),
        ]

    def function_associations(self) -> list[cloudfront.FunctionAssociation]:
        return [
            cloudfront.FunctionAssociation(
                function=self.viewer_request, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
            )
        ]


class ImageCdn(Construct):
    """HTTPS-only distribution; `/images/*` is the only path the bucket policy lets CloudFront read."""

    def __init__(self, scope: Construct, construct_id: str, *, media_bucket_name: str) -> None:
        super().__init__(scope, construct_id)
        # By name, not by reference: the bucket policy in the stateful stack already admits this account's
        # distributions, and importing the bucket object would make the two stacks reference each other.
        bucket = s3.Bucket.from_bucket_attributes(self, "MediaBucket", bucket_name=media_bucket_name, region=Aws.REGION)
        origin = origins.S3BucketOrigin.with_origin_access_control(
            bucket, origin_access_levels=[cloudfront.AccessLevel.READ]
        )
        acknowledge(
            self,
            "@aws-cdk/aws-cloudfront-origins:updateImportedBucketPolicyOac",
            "The media bucket's policy (stateful stack) grants s3:GetObject on images/* to CloudFront "
            "distributions of this account; the imported bucket needs no policy change here.",
        )
        self.logs = log_bucket(self, "Logs")
        acknowledge(
            self.logs,
            "AwsSolutions-S1",
            "This bucket is the CloudFront log destination; logging its own access would log the log writes.",
        )
        images = cloudfront.CachePolicy(
            self,
            "ImageCache",
            comment="Immutable rendered images; the URL alone is the cache key",
            default_ttl=IMAGE_MAX_AGE,
            max_ttl=IMAGE_MAX_AGE,
            min_ttl=Duration.seconds(0),
            # The viewer-request function rewrites the URI from Accept before the cache lookup, so the key is the
            # URL of the object served and Accept itself stays out of it.
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.none(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            enable_accept_encoding_gzip=False,
            enable_accept_encoding_brotli=False,
        )
        self.negotiation = FormatNegotiation(self, "Negotiation", media_bucket_name=media_bucket_name)

        def behavior(**edge: Any) -> cloudfront.BehaviorOptions:
            return cloudfront.BehaviorOptions(
                origin=origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=images,
                compress=False,
                **edge,
            )

        default_behavior = behavior()
        # Format negotiation (AVIF, else WebP, else JPEG, from Accept; a missing AVIF falls back to WebP briefly
        # cached; Vary: Accept) runs on the image paths only: the bucket serves nothing else.
        image_behavior = behavior(
            function_associations=self.negotiation.function_associations(),
            edge_lambdas=self.negotiation.edge_lambdas(),
        )
        # Scrapers and cache-busting floods (each miss is an S3 read and a Lambda@Edge run) stop at the edge.
        self.firewall = CdnFirewall(self, "Firewall", name="aperture-images", protects="Aperture image CDN")
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Aperture images",
            web_acl_id=self.firewall.arn,
            default_behavior=default_behavior,
            additional_behaviors={IMAGES_PATH: image_behavior},
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=self.logs,
            log_file_prefix="cdn/",
        )
        acknowledge_public_distribution(self.distribution, "immutable rendered images")

    @property
    def base_url(self) -> str:
        return f"https://{self.distribution.distribution_domain_name}"
