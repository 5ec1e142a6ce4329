"""The SNS platform applications mobile push goes through, given to the app as optional CDK context.

A platform application holds the APNs signing key or the FCM service-account key, which CDK cannot invent and
which do not belong in a template: create each one once per account and region (console or CLI), then pass its ARN
when deploying, e.g. `cdk deploy -c apnsApplicationArn=arn:aws:sns:eu-west-1:123456789012:app/APNS/aperture`.

  apnsApplicationArn  Apple devices: an APNS (or, for development builds, APNS_SANDBOX) platform application.
  fcmApplicationArn   Android devices: an FCM platform application (SNS calls the platform GCM).

Each one given reaches the functions with an sns:push grant as the variable of its settings field; a platform
without one gets no pushes (its notifications stay in-app). The sns:push grant covers this account and region
only, so an application elsewhere is refused at synth when the stack's environment is known.
"""

from __future__ import annotations

import re

from aws_cdk import Stack, Token
from constructs import Construct

# context key -> (aperture.settings.Settings field, platforms SNS accepts for it)
PUSH_APPLICATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "apnsApplicationArn": ("sns_apns_application_arn", ("APNS", "APNS_SANDBOX")),
    "fcmApplicationArn": ("sns_fcm_application_arn", ("GCM",)),
}
_APPLICATION_ARN = re.compile(
    r"arn:aws(?:-[a-z]+)*:sns:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):app/(?P<platform>[A-Z_]+)/[\w.-]{1,256}"
)


def push_applications(scope: Construct) -> dict[str, str]:
    """Settings field -> platform application ARN, for each application given as context."""
    stack = Stack.of(scope)
    found: dict[str, str] = {}
    for key, (field, platforms) in PUSH_APPLICATIONS.items():
        arn = scope.node.try_get_context(key)
        if arn is None or arn == "":
            continue
        match = _APPLICATION_ARN.fullmatch(arn) if isinstance(arn, str) else None
        if match is None or match["platform"] not in platforms:
            raise ValueError(
                f"context {key} must be the ARN of an SNS platform application for {' or '.join(platforms)} "
                f"(arn:aws:sns:<region>:<account>:app/{platforms[0]}/<name>), not {arn!r}"
            )
        for part, value in (("region", stack.region), ("account", stack.account)):
            if not Token.is_unresolved(value) and match[part] != value:
                raise ValueError(f"context {key} names an application outside this stack's {part} ({value}): {arn}")
        found[field] = arn
    return found
