"""Images to clients: a CloudFront distribution reading the media bucket through origin access control."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from constructs import Construct

from aperture.resources import IMAGE_PREFIX

from .nag import acknowledge

IMAGES_PATH = f"/{IMAGE_PREFIX}*"
# Rendered images never change under a key (a new render is a new key), so caches may keep them for a year.
IMAGE_MAX_AGE = Duration.days(365)


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
        self.logs = s3.Bucket(
            self,
            "Logs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            # CloudFront standard logging writes with ACLs, so this bucket must accept object-writer ownership.
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            lifecycle_rules=[s3.LifecycleRule(id="expire-cdn-logs", expiration=Duration.days(90))],
            removal_policy=RemovalPolicy.RETAIN,
        )
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
            # The edge function (later) rewrites the origin key from Accept, so Accept stays out of the key.
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.none(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            enable_accept_encoding_gzip=False,
            enable_accept_encoding_brotli=False,
        )
        image_behavior = cloudfront.BehaviorOptions(
            origin=origin,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
            cache_policy=images,
            compress=False,
            # Lambda@Edge format negotiation (AVIF, then WebP, else JPEG, from Accept; Vary: Accept) attaches
            # here as an origin-request function in its own issue. Lambda@Edge must be created in us-east-1.
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Aperture images",
            default_behavior=image_behavior,
            additional_behaviors={IMAGES_PATH: image_behavior},
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=self.logs,
            log_file_prefix="cdn/",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "Images are served worldwide by design; there is no country the product must block.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR2",
            "The only origin is a private bucket read through origin access control with GET/HEAD on immutable "
            "objects; a web ACL (about $6/month plus requests) would filter nothing the cache does not absorb.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR4",
            "The distribution uses the default *.cloudfront.net certificate, whose minimum protocol CloudFront "
            "fixes; TLS 1.2_2021 applies once a custom domain and ACM certificate are configured.",
        )

    @property
    def base_url(self) -> str:
        return f"https://{self.distribution.distribution_domain_name}"
