"""The search domain's access custom resource (stacks/handlers/search_access): the signed requests it sends to the
security plugin's REST API, recorded by a local HTTP server standing in for the domain."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from stacks.handlers.search_access.handler import SecurityApiError, on_event

KEY, SECRET, TOKEN, REGION = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token", "us-east-1"
API = "/_plugins/_security/api"
READER = "arn:aws:iam::123456789012:role/Aperture-Service-ExploreRole-AbC"
RANKER = "arn:aws:iam::123456789012:role/Aperture-Service-ExploreRankRole-DeF"
WRITER = "arn:aws:iam::123456789012:role/Aperture-Service-ExploreRefreshRole-GhI"
ROLES = {
    "aperture-explore-read": {
        "cluster_permissions": [],
        "index_permissions": [
            {"index_patterns": ["aperture-explore"], "allowed_actions": ["indices:data/read/search*"]}
        ],
    },
    "aperture-explore-write": {
        "cluster_permissions": ["indices:data/write/bulk"],
        "index_permissions": [{"index_patterns": ["aperture-explore-*"], "allowed_actions": ["indices:admin/create"]}],
    },
}
AUDIT = {"enabled": True, "audit": {"enable_rest": True, "log_request_body": False}, "compliance": {"enabled": True}}
AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[^,]+), Signature=(?P<signature>[0-9a-f]{64})"
)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Domain:
    """What the stand-in received, and what it answers (200 unless told otherwise for a method and path)."""

    endpoint: str
    received: list[Received] = field(default_factory=list)
    answers: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)

    def requests(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.received]

    def body_of(self, method: str, path: str) -> Any:
        (body,) = [json.loads(r.body) for r in self.received if (r.method, r.path) == (method, path)]
        return body


def _recorder(domain: Domain) -> type[BaseHTTPRequestHandler]:
    class Recorder(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            domain.received.append(Received(self.command, self.path, dict(self.headers.items()), body))
            status, answer = domain.answers.get((self.command, self.path), (200, '{"status":"OK"}'))
            encoded = answer.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)

        do_PUT = _answer  # noqa: N815 (http.server's naming)
        do_DELETE = _answer  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Recorder


@pytest.fixture
def domain(monkeypatch: pytest.MonkeyPatch) -> Iterator[Domain]:
    # The role's credentials, as Lambda hands them to the function in its environment
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    monkeypatch.setenv("AWS_REGION", REGION)
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    stand_in = Domain(endpoint=f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _recorder(stand_in)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield stand_in
    server.shutdown()
    server.server_close()


def _event(request_type: str, endpoint: str, roles: dict[str, Any], mappings: dict[str, list[str]]) -> dict[str, Any]:
    security = json.dumps({"roles": roles, "mappings": mappings, "audit": AUDIT})
    return {
        "RequestType": request_type,
        "ResourceType": "Custom::SearchAccess",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:...", "Endpoint": endpoint, "Security": security},
    }


def _mappings() -> dict[str, list[str]]:
    return {"aperture-explore-read": [RANKER, READER], "aperture-explore-write": [WRITER]}


def _verify_signature(received: Received, host: str) -> None:
    """The Authorization header is a SigV4 signature, by the role's key, for es in the region, over exactly what was
    sent: recomputed here from the received method, path, signed headers and body."""
    match = AUTHORIZATION.fullmatch(received.headers["Authorization"])
    assert match, received.headers["Authorization"]
    assert (match["key"], match["region"], match["service"]) == (KEY, REGION, "es")
    signed = match["signed"].split(";")
    assert {"host", "x-amz-date", "x-amz-security-token"} <= set(signed)
    assert received.headers["X-Amz-Security-Token"] == TOKEN
    headers = {name: value for name, value in received.headers.items() if name.lower() in signed}
    request = AWSRequest(
        method=received.method, url=f"http://{host}{received.path}", data=received.body, headers=headers
    )
    request.context["timestamp"] = received.headers["X-Amz-Date"]
    signer = SigV4Auth(Credentials(KEY, SECRET, TOKEN), "es", REGION)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    assert match["signature"] == expected


def test_create_writes_each_role_then_its_mapping_then_the_audit_configuration_every_request_signed(
    domain: Domain,
) -> None:
    # When CloudFormation creates the resource
    outcome = on_event(_event("Create", domain.endpoint, ROLES, _mappings()), None)
    # Then the roles are written before the mappings that name them, and the audit log is turned on
    assert domain.requests() == [
        ("PUT", f"{API}/roles/aperture-explore-read"),
        ("PUT", f"{API}/roles/aperture-explore-write"),
        ("PUT", f"{API}/rolesmapping/aperture-explore-read"),
        ("PUT", f"{API}/rolesmapping/aperture-explore-write"),
        ("PUT", f"{API}/audit/config"),
    ]
    assert domain.body_of("PUT", f"{API}/roles/aperture-explore-write") == ROLES["aperture-explore-write"]
    # And each role's mapping names the functions' IAM roles as backend roles, nothing else
    assert domain.body_of("PUT", f"{API}/rolesmapping/aperture-explore-read") == {"backend_roles": [RANKER, READER]}
    assert domain.body_of("PUT", f"{API}/rolesmapping/aperture-explore-write") == {"backend_roles": [WRITER]}
    assert domain.body_of("PUT", f"{API}/audit/config") == AUDIT
    # And every request is JSON, SigV4-signed for OpenSearch Service with the role's credentials over its body
    host = domain.endpoint.removeprefix("http://")
    for received in domain.received:
        assert received.headers["Content-Type"] == "application/json"
        _verify_signature(received, host)
    assert outcome == {"PhysicalResourceId": domain.endpoint}


def test_an_update_deletes_the_mappings_and_roles_it_no_longer_names(domain: Domain) -> None:
    # Given a resource that also had a role for a function since removed
    old = {**ROLES, "aperture-legacy-read": ROLES["aperture-explore-read"]}
    event = _event("Update", domain.endpoint, ROLES, _mappings())
    event["OldResourceProperties"] = _event(
        "Create", domain.endpoint, old, {**_mappings(), "aperture-legacy-read": [READER]}
    )["ResourceProperties"]
    # When it is updated
    on_event(event, None)
    # Then what is still named is written again, and the legacy mapping goes before its role
    assert domain.requests()[-2:] == [
        ("DELETE", f"{API}/rolesmapping/aperture-legacy-read"),
        ("DELETE", f"{API}/roles/aperture-legacy-read"),
    ]
    assert ("PUT", f"{API}/roles/aperture-explore-read") in domain.requests()
    host = domain.endpoint.removeprefix("http://")
    for received in domain.received:
        _verify_signature(received, host)


def test_delete_removes_the_mappings_then_the_roles_and_one_already_gone_is_fine(domain: Domain) -> None:
    # Given a mapping someone already deleted by hand
    domain.answers[("DELETE", f"{API}/rolesmapping/aperture-explore-write")] = (404, '{"status":"NOT_FOUND"}')
    # When CloudFormation deletes the resource
    outcome = on_event(_event("Delete", domain.endpoint, ROLES, _mappings()), None)
    # Then every mapping and role is deleted, and the audit configuration is left on
    assert domain.requests() == [
        ("DELETE", f"{API}/rolesmapping/aperture-explore-read"),
        ("DELETE", f"{API}/rolesmapping/aperture-explore-write"),
        ("DELETE", f"{API}/roles/aperture-explore-read"),
        ("DELETE", f"{API}/roles/aperture-explore-write"),
    ]
    assert outcome == {"PhysicalResourceId": domain.endpoint}


def test_a_refusal_fails_the_deploy_with_the_domains_answer(domain: Domain) -> None:
    # Given a domain that refuses the mapping (say, the handler's role is not its master user)
    refusal = '{"status":"FORBIDDEN","message":"No permission to access REST API: User [name=someone] ..."}'
    domain.answers[("PUT", f"{API}/rolesmapping/aperture-explore-read")] = (403, refusal)
    # When the resource is created, then it fails with what the domain said, which CloudFormation shows
    with pytest.raises(SecurityApiError, match=r"rolesmapping/aperture-explore-read answered 403: .*No permission"):
        on_event(_event("Create", domain.endpoint, ROLES, _mappings()), None)
    # And nothing after the refusal was sent (the audit configuration in particular)
    assert domain.requests()[-1] == ("PUT", f"{API}/rolesmapping/aperture-explore-read")


def test_deleting_the_resource_of_a_domain_that_is_gone_succeeds(domain: Domain) -> None:
    # Given an endpoint nothing answers on any more (the domain was deleted or replaced)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        gone = f"http://127.0.0.1:{probe.getsockname()[1]}"
    # When CloudFormation deletes the resource, then it succeeds: the roles went with the domain
    assert on_event(_event("Delete", gone, ROLES, _mappings()), None) == {"PhysicalResourceId": gone}
    # But creating one there fails, rather than leaving the functions without their roles
    with pytest.raises(OSError, match="Connection refused"):
        on_event(_event("Create", gone, ROLES, _mappings()), None)


def test_an_endpoint_that_is_not_http_is_refused_before_anything_is_sent(domain: Domain) -> None:
    with pytest.raises(ValueError, match="https URL"):
        on_event(_event("Create", "file:///etc/passwd", ROLES, _mappings()), None)
    assert domain.received == []
