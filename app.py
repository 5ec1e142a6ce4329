"""Builds the Aperture stacks and checks them with cdk-nag; makes no AWS calls."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
# `aperture` (the declarations every stack is built from) lives in the layer's source tree.
sys.path.insert(0, str(ROOT / "layers" / "core" / "python"))

from aws_cdk import App, Aspects, Environment, Tags, Validations  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from stacks.constructs.naming import media_bucket_name  # noqa: E402
from stacks.constructs.posture import CheckovWaivers  # noqa: E402
from stacks.edge_stack import EdgeStack  # noqa: E402
from stacks.service_stack import ServiceStack  # noqa: E402
from stacks.stateful_stack import StatefulStack  # noqa: E402
from stacks.web_stack import WebStack  # noqa: E402

# Kept in code rather than cdk.json so `python app.py`, `cdk synth` and the tests build the same templates.
FEATURE_FLAGS: dict[str, Any] = {
    # Server access logs are admitted by a bucket policy, not by ACLs (the logs bucket disables ACLs).
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    # Merge statements with the same actions, so roles stay readable and under IAM's size limits.
    "@aws-cdk/aws-iam:minimizePolicies": True,
    # Cross-stack references stay CloudFormation exports, which stop a producer from dropping what is in use.
    "@aws-cdk/core:defaultCrossStackReferences": "strong",
}
STACK_NAMES = {
    "stateful": "Aperture-Stateful",
    "edge": "Aperture-Edge",
    "service": "Aperture-Service",
    "web": "Aperture-Web",
}
# The web app as `make web` builds it (npm, from web/package-lock.json); the web stack deploys these files.
WEB_DIST = ROOT / "web" / "dist"


def build_app(context: dict[str, Any] | None = None, env: Environment | None = None, outdir: str | None = None) -> App:
    """The app with its four stacks; `env=None` keeps them environment-agnostic (synth needs no account)."""
    app = App(context={**FEATURE_FLAGS, **(context or {})}, outdir=outdir)
    stateful = StatefulStack(app, STACK_NAMES["stateful"], env=env, description="Aperture data, network and identity")
    edge = EdgeStack(
        app,
        STACK_NAMES["edge"],
        env=env,
        media_bucket_name=media_bucket_name(),
        description="Aperture image delivery",
    )
    # The edge stack names the bucket instead of importing it, so CloudFormation cannot see the ordering.
    edge.add_stack_dependency(stateful)
    service = ServiceStack(
        app,
        STACK_NAMES["service"],
        env=env,
        stateful=stateful,
        cdn_base=edge.cdn.base_url,
        cdn_distribution_id=edge.cdn.distribution.distribution_id,
        source_root=ROOT,
        description="Aperture functions and HTTP API",
    )
    WebStack(
        app,
        STACK_NAMES["web"],
        env=env,
        dist=WEB_DIST,
        api_url=service.api.url,
        user_pool_client_id=stateful.identity.client.user_pool_client_id,
        cdn_base=edge.cdn.base_url,
        media_bucket_name=media_bucket_name(),
        description="Aperture web app",
    )
    Tags.of(app).add("project", "aperture")
    # checkov's waived findings, each with its reason, into the templates (tests/infrastructure/test_posture.py).
    Aspects.of(app).add(CheckovWaivers())
    return app


def environment_from_cli() -> Environment | None:
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    return Environment(account=account, region=region) if account and region else None


def main() -> None:
    app = build_app(env=environment_from_cli())
    # cdk-nag 3 is a policy-validation plugin: any unacknowledged finding fails the synth with a report.
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()


if __name__ == "__main__":
    main()
