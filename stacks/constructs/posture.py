"""checkov's findings that are waived, each with its reason, written where checkov reads them.

`make test` runs checkov over the synthesized templates (tests/infrastructure/test_posture.py) and fails on any
finding that is not waived here. A waiver is a resource's `Metadata.checkov.skip` entry with a comment, the form
checkov itself reads, so a finding and its reason sit together in the template as cdk-nag's acknowledgments do.

Each waiver names the check, the resources it covers (a type, narrowed by a matcher) and why the finding does not
apply to them. The posture test also fails on a waiver that covers nothing, so none outlives its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsii
from aws_cdk import CfnResource, IAspect
from constructs import IConstruct

from aperture.resources import (
    FUNCTIONS,
    Function,
    KinesisTrigger,
    ScheduleTrigger,
    SqsTrigger,
    TableStreamTrigger,
)

Matcher = Callable[[CfnResource], bool]


@dataclass(frozen=True)
class Waiver:
    check: str  # e.g. "CKV_AWS_116"
    resource_type: str  # e.g. "AWS::Lambda::Function"
    reason: str
    applies: Matcher = lambda resource: True


def _path(resource: CfnResource) -> str:
    return resource.node.path


def _declared(resource: CfnResource) -> Function | None:
    """The declaration (aperture.resources) a function resource was built from, if it is one of ours."""
    parts = resource.node.path.split("/")
    if len(parts) < 3 or parts[1] != "Functions":
        return None
    by_construct_id = {"".join(p.capitalize() for p in fn.name.split("_")): fn for fn in FUNCTIONS}
    return by_construct_id.get(parts[2])


def _cdk_provided(resource: CfnResource) -> bool:
    """A function CDK adds to run a custom resource (bucket deployment, bucket notifications, the provider framework
    around our own handler), not ours."""
    names = ("Custom::CDKBucketDeployment", "BucketNotificationsHandler", "/framework-onEvent/")
    return any(name in _path(resource) for name in names)


def _search_access(resource: CfnResource) -> bool:
    """The handler of the search domain's access custom resource (stacks.constructs.search_access)."""
    return _path(resource).startswith("Aperture-Service/SearchAccess/Handler/")


def _at_the_edge(resource: CfnResource) -> bool:
    """The Lambda@Edge function of the image CDN (stacks.constructs.cdn)."""
    return _path(resource).startswith("Aperture-Edge/")


def _outside_vpc(resource: CfnResource) -> bool:
    fn = _declared(resource)
    return (fn is not None and not fn.redis) or _cdk_provided(resource)  # `redis` places a function in the VPC


def _ours(resource: CfnResource) -> bool:
    return _declared(resource) is not None


def _unreserved(resource: CfnResource) -> bool:
    """One of ours declared without reserved concurrency (aperture.resources)."""
    fn = _declared(resource)
    return fn is not None and fn.reserved_concurrency is None


def _consumer(resource: CfnResource) -> bool:
    fn = _declared(resource)
    return fn is not None and isinstance(fn.trigger, KinesisTrigger | TableStreamTrigger | SqsTrigger)


def _scheduled(resource: CfnResource) -> bool:
    fn = _declared(resource)
    return fn is not None and isinstance(fn.trigger, ScheduleTrigger)


def _path_has(*names: str) -> Matcher:
    return lambda resource: any(f"/{name}/" in f"{_path(resource)}/" for name in names)


WAIVERS: tuple[Waiver, ...] = (
    Waiver(
        "CKV_AWS_158",
        "AWS::Logs::LogGroup",
        "CloudWatch Logs encrypts every log group at rest with its own keys; a customer managed key per group adds "
        "cost and a key policy to keep right, not a reader less: who may read logs is decided by IAM.",
    ),
    Waiver(
        "CKV_AWS_119",
        "AWS::DynamoDB::Table",
        "Tables are encrypted at rest with the AWS owned key (DynamoDB's default). A customer managed key would add "
        "a KMS request per uncached read and a key policy every function's role must pass, for no other reader "
        "kept out: access to the tables is decided by IAM, per function and table.",
    ),
    Waiver(
        "CKV_AWS_27",
        "AWS::SQS::Queue",
        "Every queue is encrypted at rest with SQS-managed keys (SqsManagedSseEnabled); this check looks only for a "
        "KMS key id.",
    ),
    Waiver(
        "CKV_AWS_173",
        "AWS::Lambda::Function",
        "Lambda encrypts environment variables at rest with its AWS managed key. Ours hold resource names, URLs "
        "and tunables, never a secret, so a customer managed key would protect nothing more.",
    ),
    Waiver(
        "CKV_AWS_117",
        "AWS::Lambda::Function",
        "Only functions that reach Redis or OpenSearch run in the VPC (its isolated subnets, with endpoints for "
        "what they call). The others call only AWS APIs, and outside the VPC they need no NAT gateway or endpoint "
        "(CloudFront has no endpoint at all); CDK's own custom-resource functions likewise.",
        _outside_vpc,
    ),
    Waiver(
        "CKV_AWS_116",
        "AWS::Lambda::Function",
        "A dead-letter queue applies to asynchronous invokes only. These functions are invoked synchronously by "
        "API Gateway, or by event source mappings (Kinesis: S3 failure archive; SQS: the queue's own dead-letter "
        "queue) or schedules (their rule's failure queue); media_process, the one asynchronous consumer, has its "
        "failure queue as an on-failure destination.",
        _ours,
    ),
    Waiver(
        "CKV_AWS_116",
        "AWS::Lambda::Function",
        "CDK's custom-resource handler, invoked synchronously by CloudFormation during a deploy.",
        _cdk_provided,
    ),
    Waiver(
        "CKV_AWS_115",
        "AWS::Lambda::Function",
        "CDK's custom-resource handler runs only during deploys, one invocation at a time.",
        _cdk_provided,
    ),
    Waiver(
        "CKV_AWS_116",
        "AWS::Lambda::Function",
        "The search domain's access custom resource: CDK's provider framework invokes it synchronously during a "
        "deploy and reports its failure to CloudFormation, which fails (and rolls back) the deploy; a dead-letter "
        "queue would keep an event nobody replays.",
        _search_access,
    ),
    Waiver(
        "CKV_AWS_115",
        "AWS::Lambda::Function",
        "The search domain's access custom resource runs only during deploys, once per change of the resource.",
        _search_access,
    ),
    Waiver(
        "CKV_AWS_115",
        "AWS::Lambda::Function",
        "A stream or queue consumer: its concurrency is bounded by its source (one batch per shard of a Kinesis "
        "stream or table stream, or the SQS mapping's maximum concurrency), not by callers, so a flood only "
        "lengthens its backlog; a reservation would take executions from the rest of the account for nothing.",
        lambda resource: _unreserved(resource) and _consumer(resource),
    ),
    Waiver(
        "CKV_AWS_115",
        "AWS::Lambda::Function",
        "A scheduled job: one invocation per rule firing (every few minutes at most), whatever the traffic.",
        lambda resource: _unreserved(resource) and _scheduled(resource),
    ),
    Waiver(
        "CKV_AWS_115",
        "AWS::Lambda::Function",
        "A function serving reads (and owners' own deletions) to signed-in users: a reservation would cap every "
        "legitimate reader at once. One client's flood of them is bounded by API Gateway's throttles (stage-wide "
        "and per route); the functions a flood aims at (sign-up and sign-in, uploads, likes, comments, follows, "
        "rendering) reserve their concurrency, which also caps them (aperture.resources).",
        lambda resource: _unreserved(resource) and not _consumer(resource) and not _scheduled(resource),
    ),
    Waiver(
        "CKV_AWS_117",
        "AWS::Lambda::Function",
        "Lambda@Edge functions cannot be placed in a VPC.",
        _at_the_edge,
    ),
    Waiver(
        "CKV_AWS_116",
        "AWS::Lambda::Function",
        "Lambda@Edge runs synchronously inside CloudFront's request, which has no dead-letter queue; a failure "
        "is the viewer's error response (the CloudFront Function's fallback format still serves).",
        _at_the_edge,
    ),
    Waiver(
        "CKV_AWS_115",
        "AWS::Lambda::Function",
        "Lambda@Edge does not support reserved concurrency; CloudFront scales it per edge location.",
        _at_the_edge,
    ),
    Waiver(
        "CKV_AWS_111",
        "AWS::IAM::Policy",
        "CDK's bucket-deployment handler writes the web app's files into its own bucket; the policy is CDK's.",
        _path_has("Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C"),
    ),
    Waiver(
        "CKV_AWS_18",
        "AWS::S3::Bucket",
        "This bucket receives the other buckets' access logs; logging it would log into itself.",
        _path_has("AccessLogs", "Logs"),
    ),
    Waiver(
        "CKV_AWS_21",
        "AWS::S3::Bucket",
        "Access logs are written once under new keys and expire on a schedule; versions would only keep what the "
        "lifecycle rule means to delete.",
        _path_has("AccessLogs", "Logs"),
    ),
    Waiver(
        "CKV_AWS_21",
        "AWS::S3::Bucket",
        "The failure archive holds each failed stream batch once under a new key, for two weeks; nothing "
        "overwrites it and versions would outlive the retention the archive promises.",
        _path_has("Failures"),
    ),
    Waiver(
        "CKV_AWS_21",
        "AWS::S3::Bucket",
        "The web app's files are built from the repository and replaced whole by each deploy; git is their history.",
        _path_has("App/Bucket"),
    ),
    Waiver(
        "CKV_AWS_174",
        "AWS::CloudFront::Distribution",
        "The distributions use CloudFront's own *.cloudfront.net certificate, for which CloudFront fixes the "
        "security policy (TLSv1); a minimum of TLS 1.2 needs a custom domain and ACM certificate.",
    ),
)


@jsii.implements(IAspect)
class CheckovWaivers:
    """Writes each waiver that applies into its resource's metadata, where checkov reads suppressions."""

    def __init__(self, waivers: tuple[Waiver, ...] = WAIVERS) -> None:
        self._waivers = waivers

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, CfnResource):
            return
        applying = [w for w in self._waivers if node.cfn_resource_type == w.resource_type and w.applies(node)]
        if not applying:
            return
        existing: Any = node.get_metadata("checkov") or {}
        skips = [{"id": w.check, "comment": w.reason} for w in applying]
        node.add_metadata("checkov", {"skip": [*existing.get("skip", []), *skips]})
