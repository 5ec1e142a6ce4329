"""The web app on AWS: web/dist in a private bucket behind CloudFront (origin access control) and a WAF web ACL, its
config.json written at deploy with the API URL and the Cognito client, and the same security headers the local
gateway sends.

A CloudFront Function (edge/web_routes.js) serves index.html for every screen under /app/, as the local gateway
does, so deep links and reloads work. Hashed assets are cached for a year; index.html and config.json revalidate.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as deployment
from constructs import Construct

from aperture.resources import WEB_APP_PATH, web_app_config, web_app_csp

from .distribution import acknowledge_public_distribution, log_bucket
from .firewall import CdnFirewall
from .nag import BASIC_EXECUTION, acknowledge, managed_policy_finding, wildcard_resource_finding

EDGE_CODE = Path(__file__).resolve().parents[2] / "edge"
ASSETS_CACHE = "public, max-age=31536000, immutable"  # names carry a content hash
PAGES_CACHE = "no-cache"  # index.html and config.json: revalidated on every load, so a deploy shows at once
PAGE_FILES = ("index.html", "config.json", "favicon.svg")


class WebApp(Construct):
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
    ) -> None:
        super().__init__(scope, construct_id)
        if not (dist / "index.html").is_file():
            raise ValueError(f"{dist} holds no built web app: run `make web` before synthesizing")
        self.logs = log_bucket(self, "Logs")
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.logs,
            server_access_logs_prefix="bucket/",
            removal_policy=RemovalPolicy.RETAIN,
        )
        routes = cloudfront.Function(
            self,
            "Routes",
            code=cloudfront.FunctionCode.from_file(file_path=str(EDGE_CODE / "web_routes.js")),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment="Serves /app/index.html for every screen of the web app; / and /app go to /app/",
        )
        uploads = [
            f"https://{media_bucket_name}.s3.amazonaws.com/",
            f"https://{media_bucket_name}.s3.{Aws.REGION}.amazonaws.com/",
        ]
        self.headers = cloudfront.ResponseHeadersPolicy(
            self,
            "Headers",
            comment="Aperture web app: CSP (its own files, the API, the image CDN, uploads), HSTS, no framing",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=web_app_csp(api_url, cdn_base, uploads), override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(730), include_subdomains=True, override=True
                ),
            ),
        )
        # Its own web ACL, at a rate that suits an app shell (stacks.constructs.firewall): a flood of requests is
        # billed per request whether the cache answers or not, and bad inputs and known-bad addresses stop here.
        self.firewall = CdnFirewall(self, "Firewall", name="aperture-web-app", protects="Aperture web app")
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Aperture web app",
            web_acl_id=self.firewall.arn,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(
                    self.bucket, origin_access_levels=[cloudfront.AccessLevel.READ]
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=self.headers,
                function_associations=[
                    cloudfront.FunctionAssociation(
                        function=routes, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                    )
                ],
                compress=True,
            ),
            # CloudFront may only read objects (no listing), so S3 answers a missing file 403; viewers get a 404
            # with the app, which says the page is not there.
            error_responses=[
                cloudfront.ErrorResponse(
                    http_status=403,
                    response_http_status=404,
                    response_page_path=f"{WEB_APP_PATH}index.html",
                    ttl=Duration.minutes(1),
                )
            ],
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=self.logs,
            log_file_prefix="cdn/",
        )
        acknowledge_public_distribution(self.distribution, "the web app's static files")
        prefix = WEB_APP_PATH.strip("/") + "/"
        # Assets first, never pruned: a page loaded before a deploy still finds the assets it names.
        self.assets = deployment.BucketDeployment(
            self,
            "Assets",
            sources=[deployment.Source.asset(str(dist / "assets"))],
            destination_bucket=self.bucket,
            destination_key_prefix=f"{prefix}assets/",
            cache_control=[deployment.CacheControl.from_string(ASSETS_CACHE)],
            prune=False,
        )
        self.pages = deployment.BucketDeployment(
            self,
            "Pages",
            sources=[
                deployment.Source.asset(str(dist), exclude=["assets", "assets/*", "assets/**"]),
                deployment.Source.json_data(
                    "config.json", web_app_config(api_url, user_pool_client_id, Aws.REGION, cdn_base)
                ),
            ],
            destination_bucket=self.bucket,
            destination_key_prefix=prefix,
            cache_control=[deployment.CacheControl.from_string(PAGES_CACHE)],
            prune=False,
            distribution=self.distribution,
            distribution_paths=[f"/{prefix}{name}" for name in PAGE_FILES],
        )
        self.pages.node.add_dependency(self.assets)
        self._acknowledge_deployment_function()

    def _acknowledge_deployment_function(self) -> None:
        """CDK's BucketDeployment runs one shared function (at the stack's root) that we do not write."""
        stack = Stack.of(self)
        (function,) = (c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment"))
        reasons = {
            managed_policy_finding(BASIC_EXECUTION): "CDK's deployment function writes its own CloudWatch logs "
            "through the AWS-maintained basic execution policy.",
            "AwsSolutions-L1": "The runtime of CDK's own BucketDeployment function is chosen by aws-cdk-lib and moves "
            "with it; it runs only during deploys.",
            "AwsSolutions-IAM5[Action::s3:GetBucket*]": "CDK's read grant on the bootstrap assets bucket, from which "
            "the deployment copies the staged web build.",
            "AwsSolutions-IAM5[Action::s3:GetObject*]": "CDK's read grant on the bootstrap assets bucket, from which "
            "the deployment copies the staged web build.",
            "AwsSolutions-IAM5[Action::s3:List*]": "CDK's grants to list the staged web build and the web bucket "
            "that the deployment function synchronises.",
            "AwsSolutions-IAM5[Action::s3:Abort*]": "CDK's write grant on the web bucket, into which the deployment "
            "function copies the built web app.",
            "AwsSolutions-IAM5[Action::s3:DeleteObject*]": "CDK's write grant on the web bucket; pruning is off, so "
            "the deployment function never deletes a file there.",
            wildcard_resource_finding(
                self, "arn:${AWS::Partition}:s3:::cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}/*"
            ): "The CDK bootstrap assets bucket, where the web build is staged for deployment.",
            wildcard_resource_finding(self, self.bucket.arn_for_objects("*")): "Every object of the web bucket: the "
            "deployment writes the whole build.",
            "AwsSolutions-IAM5[Resource::*]": "cloudfront:CreateInvalidation and GetInvalidation, which CDK grants on "
            "all distributions; the function invalidates only this one's index.html, config.json and favicon.",
        }
        for rule, reason in reasons.items():
            acknowledge(function, rule, reason)

    @property
    def url(self) -> str:
        return f"https://{self.distribution.distribution_domain_name}{WEB_APP_PATH}"
