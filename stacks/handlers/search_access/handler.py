"""The explore search domain's fine-grained access control, written at deploy: roles, their mappings, the audit log.

CloudFormation cannot write inside an OpenSearch domain, so this custom resource handler does it through the security
plugin's REST API, run in the VPC (where the domain answers) by CDK's provider framework, as the domain's master
user, every request SigV4-signed as the domain requires. stacks.constructs.search_access builds its properties.

- Create and Update: PUT each role, then each role's mapping to IAM role ARNs (backend roles), then the audit log
  configuration; an update deletes the mappings and roles it no longer names.
- Delete: the mappings, then the roles (one already gone is what deleting wants). The audit configuration stays
  with the domain, whose posture it is; a domain that is gone or unreachable took its roles with it.

Only the standard library and botocore (both in the Lambda runtime): it runs without the core layer.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.session import get_session

SECURITY_API = "/_plugins/_security/api"
SIGNING_SERVICE = "es"  # OpenSearch Service domains
REQUEST_TIMEOUT_SECONDS = 20
NOT_FOUND = 404

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)


class SecurityApiError(RuntimeError):
    """The domain refused a request; the message carries its answer, which CloudFormation shows."""


@dataclass(frozen=True)
class AccessControl:
    """What the resource declares, from its `Security` property (JSON, so CloudFormation keeps booleans booleans)."""

    roles: Mapping[str, Mapping[str, Any]]  # role name -> its permissions, as PUT roles/<name> takes them
    mappings: Mapping[str, list[str]]  # role name -> the IAM role ARNs (backend roles) mapped to it
    audit: Mapping[str, Any]  # the audit log configuration, as PUT audit/config takes it

    @classmethod
    def of(cls, properties: Mapping[str, Any]) -> AccessControl:
        declared = json.loads(properties["Security"])
        return cls(roles=declared["roles"], mappings=declared["mappings"], audit=declared["audit"])


class SecurityApi:
    """The security plugin's REST API of the domain at `endpoint` (https://...), each request signed with SigV4."""

    def __init__(self, endpoint: str, region: str, credentials: Credentials) -> None:
        scheme = urllib.parse.urlsplit(endpoint).scheme
        if scheme not in ("https", "http"):  # http only for a test's local server
            raise ValueError(f"the search endpoint must be an https URL, not {endpoint!r}")
        self.endpoint = endpoint.rstrip("/")
        self.signer = SigV4Auth(credentials, SIGNING_SERVICE, region)

    def put(self, path: str, body: Mapping[str, Any]) -> None:
        status, answer = self._send("PUT", path, json.dumps(body).encode())
        if not 200 <= status < 300:
            raise SecurityApiError(f"PUT {SECURITY_API}/{path} answered {status}: {answer[:1000]}")

    def delete(self, path: str) -> bool:
        """Whether there was something to delete."""
        status, answer = self._send("DELETE", path, None)
        if status == NOT_FOUND:
            return False
        if not 200 <= status < 300:
            raise SecurityApiError(f"DELETE {SECURITY_API}/{path} answered {status}: {answer[:1000]}")
        return True

    def _send(self, method: str, path: str, body: bytes | None) -> tuple[int, str]:
        url = f"{self.endpoint}{SECURITY_API}/{urllib.parse.quote(path)}"
        signed = AWSRequest(
            method=method, url=url, data=body, headers={"Content-Type": "application/json"} if body else {}
        )
        self.signer.add_auth(signed)  # Authorization and X-Amz-Date (and the session token), over the body's hash
        # The scheme was checked in __init__: https (http for a test's local server), never file: or ftp:.
        request = urllib.request.Request(url, data=body, headers=dict(signed.headers.items()), method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:  # noqa: S310
                status, answer = response.status, response.read().decode()
        except urllib.error.HTTPError as refused:
            status, answer = refused.code, refused.read().decode()
        logger.info("%s %s: %s", method, path, status)
        return int(status), str(answer)


def apply(api: SecurityApi, wanted: AccessControl, previous: AccessControl | None = None) -> None:
    """Roles before the mappings that name them; then the audit configuration; then what `previous` had only."""
    for name, role in wanted.roles.items():
        api.put(f"roles/{name}", role)
    for name, arns in wanted.mappings.items():
        api.put(f"rolesmapping/{name}", {"backend_roles": sorted(arns)})
    api.put("audit/config", wanted.audit)
    if previous is not None:
        remove(api, set(previous.roles) - set(wanted.roles), set(previous.mappings) - set(wanted.mappings))


def remove(api: SecurityApi, roles: Iterable[str], mappings: Iterable[str]) -> None:
    """Mappings first, so no IAM role is left mapped to a role being deleted."""
    for name in sorted(mappings):
        api.delete(f"rolesmapping/{name}")
    for name in sorted(roles):
        api.delete(f"roles/{name}")


def _credentials() -> Credentials:
    credentials = get_session().get_credentials()
    if credentials is None:
        raise RuntimeError("no AWS credentials to sign the requests to the search domain with")
    return credentials


def on_event(event: Mapping[str, Any], _context: object) -> dict[str, str]:
    """The provider framework's onEvent: Create, Update or Delete; the physical id is the domain's endpoint."""
    properties = event["ResourceProperties"]
    endpoint = str(properties["Endpoint"])
    api = SecurityApi(endpoint, os.environ["AWS_REGION"], _credentials())
    wanted = AccessControl.of(properties)
    if event["RequestType"] == "Delete":
        try:
            remove(api, wanted.roles, wanted.mappings)
        except (urllib.error.URLError, TimeoutError) as unreachable:  # the domain went, or was replaced: nothing left
            logger.warning("the search domain at %s is unreachable (%s): nothing to delete", endpoint, unreachable)
    else:
        previous = AccessControl.of(event["OldResourceProperties"]) if event["RequestType"] == "Update" else None
        apply(api, wanted, previous)
    return {"PhysicalResourceId": endpoint}
