"""The service stack: one least-privilege function per declaration, its triggers, and the routed HTTP API."""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk.assertions import Template

import app as cdk_app
from aperture.resources import (
    CDN_WILDCARD_PATHS_IN_PROGRESS,
    FUNCTION_TAG,
    FUNCTIONS,
    QUEUES,
    STANDING,
    TABLES,
    UPLOAD_PREFIX,
    Function,
    KinesisTrigger,
    S3Trigger,
    ScheduleTrigger,
    SqsTrigger,
    TableStreamTrigger,
    function,
)
from aperture.routes import ROUTES, UNMATCHED_FUNCTION, Route
from aperture.settings import MissingSettingError, Settings, required_on_lambda, setting_variable
from stacks import service_stack
from stacks.constructs import permissions, search
from stacks.constructs.push import push_applications
from stacks.service_stack import ServiceStack
from tests.infrastructure.conftest import NO_BUNDLING, Synthesized, logical_id, resources

# One synthesis per session: under xdist, every infrastructure test runs on the same worker.
pytestmark = pytest.mark.xdist_group("cdk")

STREAM_READS = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
TABLE_WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
COMMON_VARIABLES = {
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
    "APERTURE_FUNCTION",
    "APERTURE_CDN_BASE",
}
PUSH_ENDPOINT_ACTIONS = {"sns:DeleteEndpoint", "sns:GetEndpointAttributes", "sns:Publish", "sns:SetEndpointAttributes"}
# What the SQS event source mapping needs of the consumer's role, and all CDK's SqsEventSource may add to it.
QUEUE_CONSUME = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
CDK_QUEUE_CONSUME = QUEUE_CONSUME | {"sqs:ChangeMessageVisibility", "sqs:GetQueueUrl"}
APNS_APPLICATION = "arn:aws:sns:eu-west-1:123456789012:app/APNS/aperture"
FCM_APPLICATION = "arn:aws:sns:eu-west-1:123456789012:app/GCM/aperture"


def _function(synthesized: Synthesized, template: dict[str, Any], name: str) -> dict[str, Any]:
    function = synthesized.service.functions.by_name[name].function
    properties: dict[str, Any] = template["Resources"][logical_id(function)]["Properties"]
    return properties


def _statements(synthesized: Synthesized, template: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Every policy statement attached to the function's role: its inline policy and, for a role whose grants pass
    an inline policy's size limit, the managed policies CDK moves the rest into (OverflowPolicy<n>)."""
    function = synthesized.service.functions.by_name[name].function
    assert function.role is not None
    role = logical_id(function.role)
    statements: list[dict[str, Any]] = []
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for policy in resources(template, kind).values():
            if {"Ref": role} in policy["Properties"].get("Roles", []):
                statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _actions(statements: list[dict[str, Any]], prefix: str) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        found |= {a for a in actions if a.startswith(prefix)}
    return found


def _granted(function: Function, kind: str) -> dict[str, str]:
    """Resource name -> access, for one kind of grant ("table", "stream", "queue", "bucket", "user_pool", "sns")."""
    found: dict[str, str] = {}
    for grant in function.grants:
        grant_kind, _, name = grant.resource.partition(":")
        if grant_kind == kind:
            found[name] = grant.access
    return found


def _table_export(synthesized: Synthesized, key: str) -> str:
    # The stateful stack's logical id appears in the name of every export that refers to the table.
    return logical_id(synthesized.stateful.data.tables[key])


def _queue(synthesized: Synthesized, key: str) -> str:
    return logical_id(synthesized.stateful.queues.queues[key])


def _queue_actions(synthesized: Synthesized, template: dict[str, Any], name: str, queue: str) -> set[str]:
    """The SQS actions the function's role has on one queue (the logical id names each export of the queue)."""
    statements = _statements(synthesized, template, name)
    return _actions([s for s in statements if queue in str(s["Resource"])], "sqs:")


@pytest.mark.parametrize("declaration", FUNCTIONS, ids=lambda f: f.name)
def test_every_function_runs_python_312_on_arm64_traced_with_the_core_layer(
    synthesized: Synthesized, service_template: dict[str, Any], declaration: Function
) -> None:
    properties = _function(synthesized, service_template, declaration.name)
    assert properties["Architectures"] == ["arm64"]
    assert properties["Runtime"] == "python3.12"
    assert properties["Handler"] == "handler.lambda_handler"
    assert properties["MemorySize"] == declaration.memory_mb
    assert properties["Timeout"] == declaration.timeout_seconds
    assert properties["TracingConfig"] == {"Mode": "Active"}
    (layer,) = resources(service_template, "AWS::Lambda::LayerVersion")
    assert properties["Layers"] == [{"Ref": layer}]


@pytest.mark.parametrize("declaration", FUNCTIONS, ids=lambda f: f.name)
def test_only_redis_functions_run_inside_the_vpc(
    synthesized: Synthesized, service_template: dict[str, Any], declaration: Function
) -> None:
    properties = _function(synthesized, service_template, declaration.name)
    assert ("VpcConfig" in properties) is declaration.redis


@pytest.mark.parametrize("declaration", FUNCTIONS, ids=lambda f: f.name)
def test_every_function_is_told_only_about_what_it_is_granted(
    synthesized: Synthesized, service_template: dict[str, Any], declaration: Function
) -> None:
    # Given the declared grants
    expected = set(COMMON_VARIABLES) | set(declaration.extra)
    expected |= {f"APERTURE_TABLE_{key.upper()}" for key in _granted(declaration, "table")}
    expected |= {f"APERTURE_STREAM_{key.upper()}" for key in _granted(declaration, "stream")}
    expected |= {f"APERTURE_QUEUE_{key.upper()}" for key in _granted(declaration, "queue")}
    if _granted(declaration, "bucket"):
        expected.add("APERTURE_MEDIA_BUCKET")
    if _granted(declaration, "user_pool"):
        expected |= {"APERTURE_USER_POOL_ID", "APERTURE_USER_POOL_CLIENT_ID"}
    if declaration.redis:
        expected |= {"REDIS_URL", "APERTURE_REDIS_CLUSTER", "APERTURE_REDIS_USER", "APERTURE_REDIS_IAM_CACHE"}
    if _granted(declaration, "search"):
        expected |= {"OPENSEARCH_URL", "APERTURE_OPENSEARCH_SIGV4"}
    if _granted(declaration, "cdn"):
        expected.add("APERTURE_CDN_DISTRIBUTION_ID")
    # When the function is synthesized (with no push application given as context, so none is passed on)
    # Then its environment names exactly those
    variables = _function(synthesized, service_template, declaration.name)["Environment"]["Variables"]
    assert set(variables) == expected
    if declaration.redis:
        assert variables["APERTURE_REDIS_CLUSTER"] == "true"
        assert variables["REDIS_URL"]["Fn::Join"][1][0] == "rediss://"
    # And a queue is handed over by its URL (its Ref), which is what SQS calls address it by
    for key in _granted(declaration, "queue"):
        exported = variables[f"APERTURE_QUEUE_{key.upper()}"]["Fn::ImportValue"]
        assert f"ExportsOutputRef{_queue(synthesized, key)}" in exported


@pytest.mark.parametrize("declaration", FUNCTIONS, ids=lambda f: f.name)
def test_every_function_is_given_every_value_its_settings_require_on_lambda(
    synthesized: Synthesized, service_template: dict[str, Any], declaration: Function, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the environment the function is synthesized with (tokens stand for values resolved at deploy)
    variables = _function(synthesized, service_template, declaration.name)["Environment"]["Variables"]
    assert variables[setting_variable("function")] == declaration.name
    for name in list(os.environ):
        if name.startswith("APERTURE_") or name in {"REDIS_URL", "OPENSEARCH_URL"}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", f"ServiceStack-{declaration.name}")
    for name, value in variables.items():
        monkeypatch.setenv(name, value if isinstance(value, str) else f"deployed-{name.lower()}")
    # When its settings are read on Lambda, Then nothing it needs is missing
    settings = Settings()
    assert settings.on_lambda
    for field in required_on_lambda(declaration):
        assert getattr(settings, field) == os.environ[setting_variable(field)]
    # And without any one of them it would not start
    for field in required_on_lambda(declaration):
        variable = setting_variable(field)
        given = os.environ.pop(variable)
        with pytest.raises(MissingSettingError, match=variable):
            Settings()
        os.environ[variable] = given


@pytest.mark.parametrize("declaration", FUNCTIONS, ids=lambda f: f.name)
def test_roles_reach_only_the_declared_tables_with_the_declared_access(
    synthesized: Synthesized, service_template: dict[str, Any], declaration: Function
) -> None:
    statements = _statements(synthesized, service_template, declaration.name)
    granted = _granted(declaration, "table")
    # A table whose stream triggers the function: its stream may be read (the event source's grant), nothing else
    streamed = declaration.trigger.table if isinstance(declaration.trigger, TableStreamTrigger) else None
    for table in TABLES:
        touching = [s for s in statements if _table_export(synthesized, table.key) in str(s["Resource"])]
        actions = _actions(touching, "dynamodb:")
        if table.key == streamed and table.key not in granted:
            assert actions == STREAM_READS, f"{declaration.name} may do more than read {table.key}'s stream"
            assert all("StreamArn" in str(s["Resource"]) for s in touching)
        elif table.key not in granted:
            assert actions == set(), f"{declaration.name} may touch {table.key}"
        elif granted[table.key] == "read":
            assert actions, f"{declaration.name} cannot read {table.key}"
            assert not actions & TABLE_WRITES, f"{declaration.name} may write {table.key}"
        else:
            assert actions >= TABLE_WRITES


def test_only_a_grant_that_says_so_may_scan_a_table(synthesized: Synthesized, service_template: dict[str, Any]) -> None:
    for declaration in FUNCTIONS:
        statements = _statements(synthesized, service_template, declaration.name)
        scanned = {g.resource.removeprefix("table:") for g in declaration.grants if g.scan}
        for table in TABLES:
            touching = [s for s in statements if _table_export(synthesized, table.key) in str(s["Resource"])]
            may_scan = "dynamodb:Scan" in _actions(touching, "dynamodb:")
            assert may_scan == (table.key in scanned), f"{declaration.name} on {table.key}"
        assert "dynamodb:*" not in _actions(statements, "dynamodb:"), declaration.name
    # Today: the hash blocklist (media_process keeps it in memory), the search index's rebuild, and the small set of
    # disabled accounts (aperture.standing), read whole by every function that serves or hides users' content
    scans = [(f.name, g.resource) for f in FUNCTIONS for g in f.grants if g.scan]
    standing = [(f.name, g.resource) for f in FUNCTIONS for g in f.grants if g == STANDING]
    assert STANDING.resource == "table:disabled_accounts" and STANDING.access == "read"
    assert [s for s in scans if s not in standing] == [
        ("media_process", "table:blocklist"),
        ("search_rebuild", "table:users"),
        ("search_rebuild", "table:hashtags"),
    ]


def test_health_has_no_data_permissions(synthesized: Synthesized, service_template: dict[str, Any]) -> None:
    statements = _statements(synthesized, service_template, "health")
    for service in ("dynamodb:", "s3:", "kinesis:", "cognito-idp:", "sqs:", "sns:"):
        assert _actions(statements, service) == set()


def test_feed_cannot_write_any_table(synthesized: Synthesized, service_template: dict[str, Any]) -> None:
    actions = _actions(_statements(synthesized, service_template, "feed"), "dynamodb:")
    assert "dynamodb:Query" in actions
    assert not actions & TABLE_WRITES


@pytest.mark.parametrize("declaration", FUNCTIONS, ids=lambda f: f.name)
def test_only_actions_without_resource_types_are_granted_on_every_resource(
    synthesized: Synthesized, service_template: dict[str, Any], declaration: Function
) -> None:
    allowed = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    if "moderation" in _granted(declaration, "rekognition"):
        allowed.add("rekognition:DetectModerationLabels")
    if isinstance(declaration.trigger, TableStreamTrigger):
        allowed.add("dynamodb:ListStreams")  # the event source's; the action has no resource type
    for statement in _statements(synthesized, service_template, declaration.name):
        if statement["Resource"] == "*":
            assert _actions([statement], "") <= allowed


@pytest.mark.parametrize("declaration", FUNCTIONS, ids=lambda f: f.name)
def test_bucket_grants_stay_inside_their_prefix(
    synthesized: Synthesized, service_template: dict[str, Any], declaration: Function
) -> None:
    prefixes = _granted(declaration, "bucket")
    object_keys: dict[str, set[str]] = {}
    for statement in _statements(synthesized, service_template, declaration.name):
        if "aperture-media-" not in json.dumps(statement["Resource"]):
            continue  # the failure archive, whose grant is the stream mapping's (tested on its own)
        actions = _actions([statement], "s3:") - {"s3:ListBucket"}
        for resource in statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]:
            if actions:
                # arn:<partition>:s3:::aperture-media-<account>-<region>/<prefix>*
                key = resource["Fn::Join"][1][-1]
                object_keys.setdefault(key, set()).update(actions)
    assert set(object_keys) == {f"/{prefix}*" for prefix in prefixes}
    for prefix, access in prefixes.items():
        writes = {"s3:PutObject", "s3:PutObjectTagging"} & object_keys[f"/{prefix}*"]
        assert bool(writes) is (access in ("write", "read_write"))
        assert ("s3:GetObject" in object_keys[f"/{prefix}*"]) is (access in ("read", "read_write"))


@pytest.mark.parametrize("declaration", FUNCTIONS, ids=lambda f: f.name)
def test_cognito_admin_actions_only_with_a_user_pool_grant(
    synthesized: Synthesized, service_template: dict[str, Any], declaration: Function
) -> None:
    actions = _actions(_statements(synthesized, service_template, declaration.name), "cognito-idp:")
    expected: set[str] = set()
    for name, access in _granted(declaration, "user_pool").items():
        read, write = permissions.USER_POOL_ACTIONS[name]
        expected |= set({"read": read, "write": write, "read_write": (*read, *write)}[access])
    assert actions == expected


def test_the_erasure_worker_holds_what_it_deletes_and_nothing_more(
    synthesized: Synthesized, service_template: dict[str, Any]
) -> None:
    statements = _statements(synthesized, service_template, "erasure")
    # Of the user pool, deleting the erased user alone: no creating, no signing in, no passwords
    assert _actions(statements, "cognito-idp:") == {"cognito-idp:AdminDeleteUser"}
    # No Scan but the shared small set of disabled accounts: every record of the erased user is found by key,
    # through the indexes declared for it (test_only_a_grant_that_says_so_may_scan_a_table checks the role)
    declaration = function("erasure")
    assert {g.resource for g in declaration.grants if g.scan} == {STANDING.resource}
    tables = _granted(declaration, "table")
    assert {"comments", "mutes", "notifications", "story_views", "follow_requests", "uploads"} <= set(tables)
    assert not {"blocklist", "workers", "idempotency", "hashtags"} & set(tables)
    # Its rounds come from the relay through their own queue (the outbox's stream has its two readers)
    assert isinstance(declaration.trigger, SqsTrigger) and declaration.trigger.queue == "erasure"
    assert _granted(function("relay"), "queue").get("erasure") == "write"
    # No other function may delete Cognito users (sign-up resumes a half-made account, never deletes it)
    deleters = {
        f.name
        for f in FUNCTIONS
        if "cognito-idp:AdminDeleteUser" in _actions(_statements(synthesized, service_template, f.name), "cognito-idp:")
    }
    assert deleters == {"erasure"}


def test_the_auth_function_holds_exactly_the_cognito_actions_it_calls(
    synthesized: Synthesized, service_template: dict[str, Any]
) -> None:
    # The public, unauthenticated function: it cannot set anyone's password, delete, read or disable any user (a
    # moderator included); erasing accounts is the erasure worker's.
    actions = _actions(_statements(synthesized, service_template, "auth"), "cognito-idp:")
    assert actions == {
        "cognito-idp:AdminCreateUser",
        "cognito-idp:AdminInitiateAuth",
        "cognito-idp:AdminRespondToAuthChallenge",
        "cognito-idp:AdminUserGlobalSignOut",
        "cognito-idp:DescribeUserPoolClient",
    }


@pytest.mark.parametrize("declaration", FUNCTIONS, ids=lambda f: f.name)
def test_no_function_is_handed_a_secret_in_its_environment(
    synthesized: Synthesized, service_template: dict[str, Any], declaration: Function
) -> None:
    # The app client's secret in particular: the auth function reads it from Cognito at run time
    variables = _function(synthesized, service_template, declaration.name)["Environment"]["Variables"]
    assert not [name for name in variables if "SECRET" in name or "PASSWORD" in name]
    assert "ClientSecret" not in json.dumps(variables)


def _arn(parts: Any) -> str:
    """An ARN the template joins from pseudo parameters, written out (${AWS::Region}, say) to compare whole."""
    joined = parts["Fn::Join"][1] if isinstance(parts, dict) else [parts]
    return "".join(p if isinstance(p, str) else f"${{{p['Ref']}}}" for p in joined)


@pytest.mark.parametrize("declaration", FUNCTIONS, ids=lambda f: f.name)
def test_functions_that_use_redis_may_connect_to_the_cache_as_its_user_and_no_other_function_may(
    synthesized: Synthesized, service_template: dict[str, Any], stateful_template: dict[str, Any], declaration: Function
) -> None:
    # Given the ElastiCache actions the function's role has, and what it is told about the cache
    statements = [
        s for s in _statements(synthesized, service_template, declaration.name) if _actions([s], "elasticache:")
    ]
    variables = _function(synthesized, service_template, declaration.name)["Environment"]["Variables"]
    if not declaration.redis:
        # Then a function that does not use Redis may not authenticate to the cache, and is not told how to
        assert statements == []
        assert not {"APERTURE_REDIS_USER", "APERTURE_REDIS_IAM_CACHE"} & set(variables)
        return
    cache = synthesized.stateful.cache
    deployed = stateful_template["Resources"]
    cache_name = deployed[logical_id(cache.cache)]["Properties"]["ServerlessCacheName"]
    user_id = deployed[logical_id(cache.user)]["Properties"]["UserId"]
    # Then it may connect, and nothing else, to exactly the cache and the functions' user
    (statement,) = statements
    assert _actions([statement], "elasticache:") == {"elasticache:Connect"}
    assert statement["Effect"] == "Allow" and "Condition" not in statement
    arn = "arn:${AWS::Partition}:elasticache:${AWS::Region}:${AWS::AccountId}"
    assert {_arn(r) for r in statement["Resource"]} == {f"{arn}:serverlesscache:{cache_name}", f"{arn}:user:{user_id}"}
    # And it is told to authenticate as that user with tokens for that cache (the same names its token signs)
    assert variables["APERTURE_REDIS_USER"] == user_id
    assert variables["APERTURE_REDIS_IAM_CACHE"] == cache_name


SEARCH_WRITES = {"es:ESHttpPut", "es:ESHttpDelete"}


# arn:<partition>:es:<region>:<account>:domain/<the explore domain's name>, as the template spells it.
EXPLORE_DOMAIN = [
    "arn:",
    {"Ref": "AWS::Partition"},
    ":es:",
    {"Ref": "AWS::Region"},
    ":",
    {"Ref": "AWS::AccountId"},
    f":domain/{search.DOMAIN_NAME}",
]


def _domain_paths(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(ES action, request path) for every ES action granted; each must be on the explore domain's ARN + a path."""
    granted: set[tuple[str, str]] = set()
    for statement in statements:
        actions = _actions([statement], "es:")
        if not actions:
            continue
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for resource in resources:
            parts = resource["Fn::Join"][1]
            assert parts[:-1] == EXPLORE_DOMAIN[:-1]
            assert parts[-1].startswith(f"{EXPLORE_DOMAIN[-1]}/")
            granted |= {(action, parts[-1].removeprefix(str(EXPLORE_DOMAIN[-1]))) for action in actions}
    return granted


@pytest.mark.parametrize("declaration", FUNCTIONS, ids=lambda f: f.name)
def test_search_grants_reach_only_the_explore_index_with_the_declared_access(
    synthesized: Synthesized, service_template: dict[str, Any], declaration: Function
) -> None:
    # Given the ES actions the function's role has on the search domain, by request path
    granted = _domain_paths(_statements(synthesized, service_template, declaration.name))
    access = _granted(declaration, "search").get("explore")
    alias = Settings().opensearch_alias
    reads = {("es:ESHttpGet", f"/{alias}/_search"), ("es:ESHttpPost", f"/{alias}/_search")}
    generations = {"es:ESHttpGet", "es:ESHttpPost", *SEARCH_WRITES}
    writes = {(action, f"/{alias}-*") for action in generations} | {("es:ESHttpPost", "/_aliases")}
    # Then a function without a search grant has none; a reader may only search through the alias (a POST
    # anywhere else would index documents); the writer manages the generations' indices and moves the alias
    expected = {None: set(), "read": reads, "write": writes, "read_write": reads | writes}[access]
    assert granted == expected
    if access == "read":
        assert not {action for action, _ in granted} & SEARCH_WRITES


def test_explore_pages_are_read_from_the_index_and_only_the_refresh_job_writes_it(
    synthesized: Synthesized, service_template: dict[str, Any]
) -> None:
    actions = {f.name: _actions(_statements(synthesized, service_template, f.name), "es:") for f in FUNCTIONS}
    assert {name for name, granted in actions.items() if granted} == {"explore", "explore_rank", "explore_refresh"}
    assert {name for name, granted in actions.items() if granted & SEARCH_WRITES} == {"explore_refresh"}


@pytest.mark.parametrize("declaration", FUNCTIONS, ids=lambda f: f.name)
def test_only_functions_granted_the_search_domain_are_told_where_it_is_and_reach_it_signed(
    synthesized: Synthesized, service_template: dict[str, Any], declaration: Function, monkeypatch: pytest.MonkeyPatch
) -> None:
    properties = _function(synthesized, service_template, declaration.name)
    variables = properties["Environment"]["Variables"]
    searching = {name: value for name, value in variables.items() if "OPENSEARCH" in name}
    if not _granted(declaration, "search"):
        assert searching == {}
        return
    # Then it is told the domain's HTTPS endpoint and to sign every request (the domain trusts IAM only)
    scheme, endpoint = searching["OPENSEARCH_URL"]["Fn::Join"][1]
    assert scheme == "https://"
    domain = logical_id(synthesized.stateful.search.domain)
    assert f"ExportsOutputFnGetAtt{domain}DomainEndpoint" in endpoint["Fn::ImportValue"]
    assert searching["APERTURE_OPENSEARCH_SIGV4"] == "true"
    # And those are the variables its settings read
    monkeypatch.setenv("OPENSEARCH_URL", "https://vpc-aperture-explore-abc.eu-west-1.es.amazonaws.com")
    monkeypatch.setenv("APERTURE_OPENSEARCH_SIGV4", searching["APERTURE_OPENSEARCH_SIGV4"])
    settings = Settings()
    assert settings.opensearch_url and settings.opensearch_sigv4 is True
    # And it runs inside the VPC, in the security group the domain admits
    group = logical_id(synthesized.stateful.network.function_security_group)
    (security_group,) = properties["VpcConfig"]["SecurityGroupIds"]
    assert f"ExportsOutputFnGetAtt{group}GroupId" in security_group["Fn::ImportValue"]


def test_a_search_grant_outside_the_vpc_fails_the_synth(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a function granted the search domain but declared without redis (so outside the VPC)
    changed = tuple(replace(f, redis=False) if f.name == "explore_refresh" else f for f in FUNCTIONS)
    monkeypatch.setattr(service_stack, "FUNCTIONS", changed)
    # Then the synth stops instead of deploying a function that could never reach the domain
    with pytest.raises(ValueError, match=r"'explore_refresh' is granted 'search:explore' but runs outside the VPC"):
        cdk_app.build_app(context=NO_BUNDLING)


def _this_accounts_sns(resource_type: str) -> dict[str, Any]:
    """arn:<partition>:sns:<region>:<account>:<resource_type>/*, as the template spells it."""
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":sns:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":{resource_type}/*",
            ],
        ]
    }


@pytest.mark.parametrize("declaration", FUNCTIONS, ids=lambda f: f.name)
def test_push_reaches_only_this_accounts_platform_applications_and_device_endpoints(
    synthesized: Synthesized, service_template: dict[str, Any], declaration: Function
) -> None:
    # Given every statement of the role that grants an SNS action
    statements = [s for s in _statements(synthesized, service_template, declaration.name) if _actions([s], "sns:")]
    if "push" not in _granted(declaration, "sns"):
        assert statements == []
        return
    # Then endpoints are made under a platform application, and everything else acts on endpoints only: no topic
    # (whose names cannot hold a slash), no other account or region, no other SNS action
    granted = sorted((repr(s["Resource"]), sorted(_actions([s], ""))) for s in statements)
    assert granted == sorted(
        [
            (repr(_this_accounts_sns("app")), ["sns:CreatePlatformEndpoint"]),
            (repr(_this_accounts_sns("endpoint")), sorted(PUSH_ENDPOINT_ACTIONS)),
        ]
    )


@pytest.fixture(scope="module")
def pushing_service() -> tuple[ServiceStack, dict[str, Any]]:
    """The service stack as deployed with both platform applications given as context."""
    context = {**NO_BUNDLING, "apnsApplicationArn": APNS_APPLICATION, "fcmApplicationArn": FCM_APPLICATION}
    app = cdk_app.build_app(context=context)
    (service,) = (child for child in app.node.children if isinstance(child, ServiceStack))
    return service, dict(Template.from_stack(service).to_json())


@pytest.mark.parametrize("declaration", FUNCTIONS, ids=lambda f: f.name)
def test_push_applications_given_as_context_reach_only_the_functions_that_may_push(
    pushing_service: tuple[ServiceStack, dict[str, Any]], declaration: Function, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, template = pushing_service
    function = service.functions.by_name[declaration.name].function
    variables = template["Resources"][logical_id(function)]["Properties"]["Environment"]["Variables"]
    pushes = {name: value for name, value in variables.items() if name.startswith("APERTURE_SNS_")}
    if "push" not in _granted(declaration, "sns"):
        assert pushes == {}
        return
    assert pushes == {
        "APERTURE_SNS_APNS_APPLICATION_ARN": APNS_APPLICATION,
        "APERTURE_SNS_FCM_APPLICATION_ARN": FCM_APPLICATION,
    }
    # And they are the variables the function's settings read
    for name, value in pushes.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert (settings.sns_apns_application_arn, settings.sns_fcm_application_arn) == (APNS_APPLICATION, FCM_APPLICATION)


def _stack(context: dict[str, Any], env: Environment | None = None) -> Stack:
    return Stack(App(context=context), "Probe", env=env)


def test_only_the_push_applications_given_are_passed_on() -> None:
    assert push_applications(_stack({})) == {}
    assert push_applications(_stack({"apnsApplicationArn": APNS_APPLICATION})) == {
        "sns_apns_application_arn": APNS_APPLICATION
    }
    sandbox = "arn:aws:sns:eu-west-1:123456789012:app/APNS_SANDBOX/aperture-dev"
    assert push_applications(_stack({"apnsApplicationArn": sandbox, "fcmApplicationArn": FCM_APPLICATION})) == {
        "sns_apns_application_arn": sandbox,
        "sns_fcm_application_arn": FCM_APPLICATION,
    }


@pytest.mark.parametrize(
    ("context", "env"),
    [
        ({"apnsApplicationArn": FCM_APPLICATION}, None),  # the other platform's application
        ({"fcmApplicationArn": "arn:aws:sns:eu-west-1:123456789012:aperture-events"}, None),  # a topic
        ({"fcmApplicationArn": "aperture"}, None),
        ({"apnsApplicationArn": APNS_APPLICATION}, Environment(account="123456789012", region="us-east-1")),
        ({"apnsApplicationArn": APNS_APPLICATION}, Environment(account="210987654321", region="eu-west-1")),
    ],
    ids=["wrong-platform", "topic", "not-an-arn", "other-region", "other-account"],
)
def test_a_push_application_the_functions_could_not_use_fails_the_synth(
    context: dict[str, Any], env: Environment | None
) -> None:
    with pytest.raises(ValueError, match=r"^context (apns|fcm)ApplicationArn "):
        push_applications(_stack(context, env))


@pytest.mark.parametrize(
    "declaration", [f for f in FUNCTIONS if isinstance(f.trigger, KinesisTrigger)], ids=lambda f: f.name
)
def test_stream_consumers_report_partial_failures_and_park_what_keeps_failing(
    synthesized: Synthesized, service_template: dict[str, Any], declaration: Function
) -> None:
    trigger = declaration.trigger
    assert isinstance(trigger, KinesisTrigger)
    function = logical_id(synthesized.service.functions.by_name[declaration.name].function)
    (mapping,) = (
        m["Properties"]
        for m in resources(service_template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function}
    )
    assert (
        mapping["EventSourceArn"]["Fn::ImportValue"].find(
            logical_id(synthesized.stateful.events.streams[trigger.stream])
        )
        > 0
    )
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == trigger.max_retries
    assert mapping["BatchSize"] == trigger.batch_size
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": ARCHIVE_BUCKET_ARN}}


def test_every_event_source_mapping_parks_what_keeps_failing(
    synthesized: Synthesized, stateful_template: dict[str, Any], service_template: dict[str, Any]
) -> None:
    queues = {_queue(synthesized, q.key) for q in QUEUES}
    mappings = resources(service_template, "AWS::Lambda::EventSourceMapping").values()
    assert mappings
    for mapping in mappings:
        properties = mapping["Properties"]
        assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        source = str(properties["EventSourceArn"])
        from_queue = [q for q in queues if q in source]
        if from_queue:
            # SQS mappings take no on-failure destination: the queue's redrive policy moves the message instead.
            (queue,) = from_queue
            assert "DestinationConfig" not in properties
            assert "deadLetterTargetArn" in stateful_template["Resources"][queue]["Properties"]["RedrivePolicy"]
        else:
            assert "OnFailure" in properties["DestinationConfig"]


# arn:<partition>:s3:::aperture-failures-<account>-<region>, as the template spells it.
ARCHIVE_BUCKET_ARN = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":s3:::aperture-failures-",
            {"Ref": "AWS::AccountId"},
            "-",
            {"Ref": "AWS::Region"},
        ],
    ]
}
ARCHIVE_OBJECTS = {"Fn::Join": ["", [*ARCHIVE_BUCKET_ARN["Fn::Join"][1], "/aws/lambda/*"]]}


def _stream_consumers() -> list[Function]:
    return [f for f in FUNCTIONS if isinstance(f.trigger, KinesisTrigger | TableStreamTrigger)]


@pytest.mark.parametrize("declaration", _stream_consumers(), ids=lambda f: f.name)
def test_every_stream_mapping_keeps_failed_batches_whole_in_the_failure_archive(
    synthesized: Synthesized, stateful_template: dict[str, Any], service_template: dict[str, Any], declaration: Function
) -> None:
    # Given the stream consumer's event source mapping (Kinesis or DynamoDB Streams)
    function = logical_id(synthesized.service.functions.by_name[declaration.name].function)
    (mapping,) = (
        m["Properties"]
        for m in resources(service_template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function}
    )
    # Then what it gives up on goes to the failure archive bucket (an S3 destination gets the whole batch), and the
    # bucket it names is the one the stateful stack creates
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": ARCHIVE_BUCKET_ARN}}
    bucket = stateful_template["Resources"][logical_id(synthesized.stateful.failures.bucket)]["Properties"]
    assert bucket["BucketName"] == {
        "Fn::Join": ["", ["aperture-failures-", {"Ref": "AWS::AccountId"}, "-", {"Ref": "AWS::Region"}]]
    }
    # And the function's role may write there what Lambda writes (objects under aws/lambda/), list the bucket (as
    # Lambda's S3 destination requires), and nothing else of it: no read, no delete
    on_archive = [
        (sorted(_actions([s], "")), s["Resource"])
        for s in _statements(synthesized, service_template, declaration.name)
        if "aperture-failures-" in json.dumps(s["Resource"])
    ]
    assert sorted(on_archive, key=repr) == sorted(
        [(["s3:PutObject"], ARCHIVE_OBJECTS), (["s3:ListBucket"], ARCHIVE_BUCKET_ARN)], key=repr
    )


def test_no_stream_mapping_keeps_an_sqs_destination_and_only_stream_consumers_reach_the_archive(
    synthesized: Synthesized, service_template: dict[str, Any]
) -> None:
    # Given every mapping that reads a stream (not a queue)
    queues = {_queue(synthesized, q.key) for q in QUEUES}
    streams = [
        m["Properties"]
        for m in resources(service_template, "AWS::Lambda::EventSourceMapping").values()
        if not any(q in str(m["Properties"]["EventSourceArn"]) for q in queues)
    ]
    assert len(streams) == len(_stream_consumers())
    # Then none sends to SQS (or SNS): those get only the batch's sequence numbers, never its records
    for mapping in streams:
        destination = json.dumps(mapping["DestinationConfig"]["OnFailure"]["Destination"])
        assert ":sqs:" not in destination and ":sns:" not in destination and "Queue" not in destination
    # And no function but a stream consumer may touch the archive (redriving is the operator's)
    touching = {
        f.name
        for f in FUNCTIONS
        if any(
            "aperture-failures-" in json.dumps(s["Resource"])
            for s in _statements(synthesized, service_template, f.name)
        )
    }
    assert touching == {f.name for f in _stream_consumers()}


@pytest.mark.parametrize("declaration", FUNCTIONS, ids=lambda f: f.name)
def test_every_function_is_tagged_with_its_declared_name(
    synthesized: Synthesized, service_template: dict[str, Any], declaration: Function
) -> None:
    # The redrive tells which declared function a deployed ARN is by this tag
    tags = _function(synthesized, service_template, declaration.name)["Tags"]
    assert {"Key": FUNCTION_TAG, "Value": declaration.name} in tags


def _consumers() -> list[Function]:
    return [f for f in FUNCTIONS if isinstance(f.trigger, SqsTrigger)]


@pytest.mark.parametrize("declaration", _consumers(), ids=lambda f: f.name)
def test_queue_consumers_take_declared_batches_and_report_partial_failures(
    synthesized: Synthesized, stateful_template: dict[str, Any], service_template: dict[str, Any], declaration: Function
) -> None:
    # Given a function declared with an SqsTrigger
    trigger = declaration.trigger
    assert isinstance(trigger, SqsTrigger)
    function = logical_id(synthesized.service.functions.by_name[declaration.name].function)
    queue = _queue(synthesized, trigger.queue)
    # Then exactly one mapping feeds it, from the declared queue, in batches of the declared size, and only the
    # messages the handler reports as failed come back (the others are deleted)
    (mapping,) = (
        m["Properties"]
        for m in resources(service_template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function}
    )
    assert f"ExportsOutputFnGetAtt{queue}Arn" in mapping["EventSourceArn"]["Fn::ImportValue"]
    assert mapping["BatchSize"] == trigger.batch_size
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # And a message the function keeps failing is dead-lettered after the declared number of receives
    deployed_queue = stateful_template["Resources"][queue]["Properties"]
    assert deployed_queue["RedrivePolicy"]["maxReceiveCount"] == trigger.max_receives
    # And no message becomes visible again while the function may still be working on it (Lambda requires it)
    assert deployed_queue["VisibilityTimeout"] >= _function(synthesized, service_template, declaration.name)["Timeout"]


def _with_consumer(change: dict[str, Any]) -> tuple[Function, ...]:
    (consumer, *_) = _consumers()
    return tuple(replace(f, **change) if f is consumer else f for f in FUNCTIONS)


def test_a_consumer_that_could_outlive_its_messages_visibility_fails_the_synth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the consumer's timeout declared one second longer than its queue's visibility timeout
    (consumer, *_) = _consumers()
    assert isinstance(consumer.trigger, SqsTrigger)
    (queue,) = (q for q in QUEUES if q.key == consumer.trigger.queue)
    monkeypatch.setattr(
        service_stack, "FUNCTIONS", _with_consumer({"timeout_seconds": queue.visibility_timeout_seconds + 1})
    )
    # Then the synth stops, naming the queue, the consumer and the declaration to change (nothing is lengthened)
    with pytest.raises(ValueError, match=rf"queue '{queue.key}' has a visibility timeout of .* '{consumer.name}'"):
        cdk_app.build_app(context=NO_BUNDLING)


def test_a_consumer_without_a_read_grant_on_its_queue_fails_the_synth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_stack, "FUNCTIONS", _with_consumer({"grants": ()}))
    with pytest.raises(ValueError, match=r"is triggered by queue '\w+' but has no Grant"):
        cdk_app.build_app(context=NO_BUNDLING)


@pytest.mark.parametrize("declaration", FUNCTIONS, ids=lambda f: f.name)
def test_roles_reach_only_the_declared_queues_with_the_declared_access(
    synthesized: Synthesized, service_template: dict[str, Any], declaration: Function
) -> None:
    granted = _granted(declaration, "queue")
    for queue in QUEUES:
        actions = _queue_actions(synthesized, service_template, declaration.name, _queue(synthesized, queue.key))
        access = granted.get(queue.key)
        if access is None:
            assert actions == set(), f"{declaration.name} may touch queue {queue.key}"
        elif access == "write":
            assert actions == {"sqs:SendMessage"}
        elif access == "read":
            assert QUEUE_CONSUME <= actions <= CDK_QUEUE_CONSUME
        else:
            assert QUEUE_CONSUME | {"sqs:SendMessage"} <= actions <= CDK_QUEUE_CONSUME | {"sqs:SendMessage"}
        # And no function reads or writes a dead-letter queue (redriving it is an operator's job)
        dead_letters = logical_id(synthesized.stateful.queues.dead_letters[queue.key])
        assert _queue_actions(synthesized, service_template, declaration.name, dead_letters) == set()


def test_fanout_jobs_are_sent_by_post_ingest_users_and_the_relay_and_consumed_by_fanout_alone(
    synthesized: Synthesized, service_template: dict[str, Any]
) -> None:
    queue = _queue(synthesized, "fanout")
    actions = {f.name: _queue_actions(synthesized, service_template, f.name, queue) for f in FUNCTIONS}
    senders = {name for name, granted in actions.items() if "sqs:SendMessage" in granted}
    consumers = {name for name, granted in actions.items() if granted & QUEUE_CONSUME}
    # (users and the relay: a follow crossing the celebrity threshold queues the announcement)
    assert senders == {"post_ingest", "users", "relay"}
    assert consumers == {"fanout"}
    assert actions["post_ingest"] == actions["users"] == actions["relay"] == {"sqs:SendMessage"}


def test_explore_ranking_jobs_are_sent_by_the_refresh_and_consumed_one_by_one_by_explore_rank(
    synthesized: Synthesized, stateful_template: dict[str, Any], service_template: dict[str, Any]
) -> None:
    # Given who may send to and consume the explore queue
    queue = _queue(synthesized, "explore")
    actions = {f.name: _queue_actions(synthesized, service_template, f.name, queue) for f in FUNCTIONS}
    assert {name for name, granted in actions.items() if "sqs:SendMessage" in granted} == {"explore_refresh"}
    assert {name for name, granted in actions.items() if granted & QUEUE_CONSUME} == {"explore_rank"}
    # Then explore_rank is fed by it, a job (a hundred viewers) at a time, reporting failed jobs
    function = logical_id(synthesized.service.functions.by_name["explore_rank"].function)
    (mapping,) = (
        m["Properties"]
        for m in resources(service_template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function}
    )
    assert f"ExportsOutputFnGetAtt{queue}Arn" in mapping["EventSourceArn"]["Fn::ImportValue"]
    assert mapping["BatchSize"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # And a job that keeps failing is parked in the explore queue's own dead-letter queue
    dead_letters = logical_id(synthesized.stateful.queues.dead_letters["explore"])
    redrive = stateful_template["Resources"][queue]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": [dead_letters, "Arn"]}


@pytest.mark.parametrize(
    "declaration", [f for f in FUNCTIONS if isinstance(f.trigger, S3Trigger)], ids=lambda f: f.name
)
def test_uploads_trigger_processing_and_failed_events_are_parked(
    synthesized: Synthesized, service_template: dict[str, Any], declaration: Function
) -> None:
    trigger = declaration.trigger
    assert isinstance(trigger, S3Trigger)
    handler = synthesized.service.functions.by_name[declaration.name]
    function = logical_id(handler.function)
    configurations = [
        c
        for n in resources(service_template, "Custom::S3BucketNotifications").values()
        for c in n["Properties"]["NotificationConfiguration"]["LambdaFunctionConfigurations"]
    ]
    assert {
        "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": trigger.prefix}]}},
        "LambdaFunctionArn": {"Fn::GetAtt": [function, "Arn"]},
    } in configurations
    assert handler.failures is not None
    (invoke_config,) = (
        c["Properties"]
        for c in resources(service_template, "AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": function}
    )
    assert invoke_config["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": [logical_id(handler.failures), "Arn"]
    }


def test_upload_notifications_cover_the_upload_prefix_only(service_template: dict[str, Any]) -> None:
    prefixes = [
        rule["Value"]
        for n in resources(service_template, "Custom::S3BucketNotifications").values()
        for c in n["Properties"]["NotificationConfiguration"]["LambdaFunctionConfigurations"]
        for rule in c["Filter"]["Key"]["FilterRules"]
    ]
    assert prefixes == [UPLOAD_PREFIX]


_RATE = re.compile(r"rate\((\d+) (minute|hour|day)s?\)")
_MINUTES = {"minute": 1, "hour": 60, "day": 24 * 60}


def _rate_minutes(expression: str) -> int:
    match = _RATE.fullmatch(expression)
    assert match, f"{expression!r} is not a rate"
    return int(match[1]) * _MINUTES[match[2]]


def _rules_invoking(template: dict[str, Any], function: str) -> dict[str, dict[str, Any]]:
    return {
        key: rule["Properties"]
        for key, rule in resources(template, "AWS::Events::Rule").items()
        if any(t["Arn"] == {"Fn::GetAtt": [function, "Arn"]} for t in rule["Properties"]["Targets"])
    }


def test_like_counters_are_flushed_every_minute(synthesized: Synthesized, service_template: dict[str, Any]) -> None:
    function = logical_id(synthesized.service.functions.by_name["counters_flush"].function)
    ((key, rule),) = _rules_invoking(service_template, function).items()
    assert rule["ScheduleExpression"] == "rate(1 minute)"
    assert rule["State"] == "ENABLED"
    (target,) = rule["Targets"]
    failures = synthesized.service.schedules.by_name["counters_flush"].failures
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [logical_id(failures), "Arn"]}}
    assert key == logical_id(synthesized.service.schedules.by_name["counters_flush"].rule)


def test_explore_is_refreshed_every_15_minutes(synthesized: Synthesized, service_template: dict[str, Any]) -> None:
    function = logical_id(synthesized.service.functions.by_name["explore_refresh"].function)
    ((key, rule),) = _rules_invoking(service_template, function).items()
    assert rule["ScheduleExpression"] == "rate(15 minutes)"
    assert rule["State"] == "ENABLED"
    assert key == logical_id(synthesized.service.schedules.by_name["explore_refresh"].rule)


def test_ranking_training_runs_daily_outside_the_vpc_reading_logs_and_writing_models_only(
    synthesized: Synthesized, service_template: dict[str, Any]
) -> None:
    # Given the training job's function, its rule and its role
    properties = _function(synthesized, service_template, "ranking_train")
    function = logical_id(synthesized.service.functions.by_name["ranking_train"].function)
    ((_, rule),) = _rules_invoking(service_template, function).items()
    # Then it runs once a day, with no network path to Redis (it reads S3 alone)
    assert rule["ScheduleExpression"] == "rate(1 day)"
    assert "VpcConfig" not in properties
    # And its role reads the activity log and writes under models/, nothing else of the bucket
    written, read = set(), set()
    for statement in _statements(synthesized, service_template, "ranking_train"):
        actions = _actions([statement], "s3:")
        for resource in statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]:
            if isinstance(resource, dict) and "Fn::Join" in resource and "aperture-media-" in json.dumps(resource):
                key = resource["Fn::Join"][1][-1]
                if "s3:PutObject" in actions:
                    written.add(key)
                if "s3:GetObject" in actions:
                    read.add(key)
    assert written == {"/models/*"} and read == {"/logs/*", "/models/*"}


@pytest.mark.parametrize("declaration", FUNCTIONS, ids=lambda f: f.name)
def test_exactly_the_scheduled_functions_run_at_their_rate_and_park_failed_runs(
    synthesized: Synthesized, service_template: dict[str, Any], declaration: Function
) -> None:
    # Given the rules that invoke the function
    function = logical_id(synthesized.service.functions.by_name[declaration.name].function)
    rules = _rules_invoking(service_template, function)
    trigger = declaration.trigger
    if not isinstance(trigger, ScheduleTrigger):
        assert rules == {}
        return
    # Then one runs it at the declared rate
    ((rule_id, rule),) = rules.items()
    assert _rate_minutes(rule["ScheduleExpression"]) == trigger.rate_minutes
    assert rule["State"] == "ENABLED"
    # And retries a run EventBridge could not deliver until the next is due, then parks it in the schedule's queue
    failures = synthesized.service.schedules.by_name[declaration.name].failures
    queue = {"Fn::GetAtt": [logical_id(failures), "Arn"]}
    period = max(60, trigger.rate_minutes * 60)
    (target,) = rule["Targets"]
    assert target["DeadLetterConfig"] == {"Arn": queue}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert 60 <= target["RetryPolicy"]["MaximumEventAgeInSeconds"] <= period
    # And only that rule may send to the queue (without this statement EventBridge cannot use it)
    assert any(
        s["Effect"] == "Allow"
        and s["Principal"] == {"Service": "events.amazonaws.com"}
        and s["Action"] == "sqs:SendMessage"
        and s["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}
        for p in resources(service_template, "AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": logical_id(failures)}]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    )
    # And a run the function itself fails (EventBridge invokes asynchronously) ends in the same queue
    (invoke_config,) = (
        c["Properties"]
        for c in resources(service_template, "AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": function}
    )
    assert invoke_config["DestinationConfig"]["OnFailure"]["Destination"] == queue
    assert 60 <= invoke_config["MaximumEventAgeInSeconds"] <= period
    # And only that rule may invoke the function
    permissions = [
        p["Properties"]
        for p in resources(service_template, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function, "Arn"]}
        and p["Properties"]["Principal"] == "events.amazonaws.com"
    ]
    assert [p["SourceArn"] for p in permissions] == [{"Fn::GetAtt": [rule_id, "Arn"]}]


def test_failure_queues_are_encrypted_and_refuse_plain_http(service_template: dict[str, Any]) -> None:
    queues = resources(service_template, "AWS::SQS::Queue")
    assert queues
    for queue in queues.values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
    policies = resources(service_template, "AWS::SQS::QueuePolicy").values()
    denied = {
        q["Ref"]
        for p in policies
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for q in p["Properties"]["Queues"]
    }
    assert denied == set(queues)


def _routes(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["RouteKey"]: r["Properties"] for r in resources(template, "AWS::ApiGatewayV2::Route").values()
    }


def test_the_api_has_exactly_the_declared_routes(service_template: dict[str, Any]) -> None:
    assert set(_routes(service_template)) == {route.route_key for route in ROUTES} | {"$default"}


def test_browsers_on_another_origin_may_send_idempotency_keys_and_read_retry_after(
    service_template: dict[str, Any],
) -> None:
    (api,) = resources(service_template, "AWS::ApiGatewayV2::Api").values()
    cors = api["Properties"]["CorsConfiguration"]
    assert {"authorization", "content-type", "idempotency-key"} <= set(cors["AllowHeaders"])
    assert cors["ExposeHeaders"] == ["retry-after"]


def test_unmatched_requests_reach_a_function_that_answers_a_json_404(
    synthesized: Synthesized, service_template: dict[str, Any]
) -> None:
    properties = _routes(service_template)["$default"]
    assert properties["AuthorizationType"] == "NONE"
    integration = properties["Target"]["Fn::Join"][1][1]["Ref"]
    uri = service_template["Resources"][integration]["Properties"]["IntegrationUri"]
    target = synthesized.service.functions.by_name[UNMATCHED_FUNCTION].function
    assert uri == {"Fn::GetAtt": [logical_id(target), "Arn"]}


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.route_key)
def test_every_route_is_authorized_as_declared_and_reaches_its_function(
    synthesized: Synthesized, service_template: dict[str, Any], route: Route
) -> None:
    properties = _routes(service_template)[route.route_key]
    if route.auth:
        assert properties["AuthorizationType"] == "JWT"
        (authorizer,) = resources(service_template, "AWS::ApiGatewayV2::Authorizer")
        assert properties["AuthorizerId"] == {"Ref": authorizer}
    else:
        assert properties["AuthorizationType"] == "NONE"
        assert "AuthorizerId" not in properties
    integration = properties["Target"]["Fn::Join"][1][1]["Ref"]
    uri = service_template["Resources"][integration]["Properties"]["IntegrationUri"]
    assert uri == {"Fn::GetAtt": [logical_id(synthesized.service.functions.by_name[route.function].function), "Arn"]}


def test_jwt_authorizer_trusts_the_user_pool_and_its_client(
    synthesized: Synthesized, service_template: dict[str, Any]
) -> None:

    (authorizer,) = resources(service_template, "AWS::ApiGatewayV2::Authorizer").values()
    properties = authorizer["Properties"]
    assert properties["AuthorizerType"] == "JWT"
    identity = synthesized.stateful.identity
    issuer = properties["JwtConfiguration"]["Issuer"]["Fn::Join"][1]
    assert issuer[:3] == ["https://cognito-idp.", {"Ref": "AWS::Region"}, ".amazonaws.com/"]
    assert logical_id(identity.user_pool) in issuer[3]["Fn::ImportValue"]
    (audience,) = properties["JwtConfiguration"]["Audience"]
    assert logical_id(identity.client) in audience["Fn::ImportValue"]


def test_the_stage_logs_access_and_throttles(service_template: dict[str, Any]) -> None:
    (stage,) = resources(service_template, "AWS::ApiGatewayV2::Stage").values()
    properties = stage["Properties"]
    assert properties["StageName"] == "$default"
    assert properties["AutoDeploy"] is True
    destination = properties["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    assert service_template["Resources"][destination]["Type"] == "AWS::Logs::LogGroup"
    assert "$context.routeKey" in properties["AccessLogSettings"]["Format"]
    assert properties["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0


def test_every_log_group_expires(service_template: dict[str, Any]) -> None:
    groups = resources(service_template, "AWS::Logs::LogGroup").values()
    # One per function, one for API access logs, and the search access custom resource's handler and framework's
    assert len(groups) == len(FUNCTIONS) + 1 + 2
    assert all(g["Properties"]["RetentionInDays"] == 30 for g in groups)


def test_only_cdn_invalidate_may_invalidate_the_cdn_and_it_runs_outside_the_vpc(
    synthesized: Synthesized, service_template: dict[str, Any]
) -> None:
    # Given every function's role policy
    invalidating = set()
    for declaration in FUNCTIONS:
        statements = _statements(synthesized, service_template, declaration.name)
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "cloudfront:CreateInvalidation" in actions:
                assert actions == ["cloudfront:CreateInvalidation"]
                # on the one distribution (named by its id), never "*"
                assert "distribution/" in json.dumps(statement["Resource"]) and statement["Resource"] != "*"
                invalidating.add(declaration.name)
        assert _actions(statements, "cloudfront:") <= {"cloudfront:CreateInvalidation"}
    # Then cdn_invalidate alone holds it, and runs where CloudFront's API can be reached: outside the VPC
    assert invalidating == {"cdn_invalidate"}
    assert "VpcConfig" not in _function(synthesized, service_template, "cdn_invalidate")


def test_functions_that_delete_images_queue_their_paths_for_cdn_invalidate(
    synthesized: Synthesized, stateful_template: dict[str, Any], service_template: dict[str, Any]
) -> None:
    # Given who may send to and consume the invalidation queue
    queue = _queue(synthesized, "cdn_invalidations")
    actions = {f.name: _queue_actions(synthesized, service_template, f.name, queue) for f in FUNCTIONS}
    senders = {name for name, granted in actions.items() if "sqs:SendMessage" in granted}
    consumers = {name for name, granted in actions.items() if granted & QUEUE_CONSUME}
    # Then the functions that delete images send (and only send), and cdn_invalidate alone consumes
    # (a deleted post's or story's images go in its cascade; what is left under an erased user's prefix, in the erasure)
    assert senders == {"cascade", "story_expiry", "erasure"}
    assert all(actions[name] == {"sqs:SendMessage"} for name in senders)
    assert consumers == {"cdn_invalidate"}
    # And it takes batches of 7 messages (one wildcard path each), at most two at once (SQS's least), so one round
    # holds 14 wildcard paths, within CloudFront's 15 in progress per distribution; as soon as they arrive (no
    # batching window); reporting the messages CloudFront refused, which alone come back
    function = logical_id(synthesized.service.functions.by_name["cdn_invalidate"].function)
    (mapping,) = (
        m["Properties"]
        for m in resources(service_template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function}
    )
    assert f"ExportsOutputFnGetAtt{queue}Arn" in mapping["EventSourceArn"]["Fn::ImportValue"]
    assert mapping["BatchSize"] == 7
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}
    assert mapping["BatchSize"] * mapping["ScalingConfig"]["MaximumConcurrency"] <= CDN_WILDCARD_PATHS_IN_PROGRESS
    assert mapping.get("MaximumBatchingWindowInSeconds", 0) == 0
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # And a refused message comes back after five minutes (earlier invalidations take a few), for about an hour
    deployed_queue = stateful_template["Resources"][queue]["Properties"]
    assert deployed_queue["VisibilityTimeout"] == 300
    assert deployed_queue["RedrivePolicy"]["maxReceiveCount"] == 12
    # And the deleting functions reach SQS from the VPC through its interface endpoint
    endpoints = [
        e["Properties"]["ServiceName"]["Fn::Join"][1][-1]
        for e in resources(stateful_template, "AWS::EC2::VPCEndpoint").values()
    ]
    assert ".sqs" in endpoints


def test_a_cdn_grant_inside_the_vpc_fails_the_synth(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a function granted CloudFront invalidations but declared with redis (so inside the VPC)
    changed = tuple(replace(f, redis=True) if f.name == "cdn_invalidate" else f for f in FUNCTIONS)
    monkeypatch.setattr(service_stack, "FUNCTIONS", changed)
    # Then the synth stops instead of deploying a function that could never reach CloudFront's API
    with pytest.raises(ValueError, match=r"'cdn_invalidate' is granted 'cdn:images' but runs inside the VPC"):
        cdk_app.build_app(context=NO_BUNDLING)


def test_export_jobs_are_sent_by_the_relay_alone_and_built_two_at_a_time_by_export_build(
    synthesized: Synthesized, stateful_template: dict[str, Any], service_template: dict[str, Any]
) -> None:
    # Given who may send to and consume the exports queue
    queue = _queue(synthesized, "exports")
    actions = {f.name: _queue_actions(synthesized, service_template, f.name, queue) for f in FUNCTIONS}
    # (the relay, from the export's committed event; never the HTTP function, which writes the event instead)
    assert {name for name, granted in actions.items() if "sqs:SendMessage" in granted} == {"relay"}
    assert {name for name, granted in actions.items() if granted & QUEUE_CONSUME} == {"export_build"}
    # Then export_build takes one job at a time, at most two builds at once, reporting failures
    function = logical_id(synthesized.service.functions.by_name["export_build"].function)
    (mapping,) = (
        m["Properties"]
        for m in resources(service_template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function}
    )
    assert f"ExportsOutputFnGetAtt{queue}Arn" in mapping["EventSourceArn"]["Fn::ImportValue"]
    assert (mapping["BatchSize"], mapping["ScalingConfig"]) == (1, {"MaximumConcurrency": 2})
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # And a message outlives a whole build (the visibility timeout is six times the 15-minute timeout), and after
    # three receives is parked in the queue's own dead-letter queue
    properties = stateful_template["Resources"][queue]["Properties"]
    assert properties["VisibilityTimeout"] == 6 * 900
    assert properties["RedrivePolicy"]["maxReceiveCount"] == 3


def test_the_export_builder_has_room_and_time_for_a_large_account(
    synthesized: Synthesized, service_template: dict[str, Any]
) -> None:
    properties = _function(synthesized, service_template, "export_build")
    # /tmp at its 10 GB maximum for the spooled ZIP, Lambda's longest timeout, and outside the VPC (no Redis)
    assert properties["EphemeralStorage"] == {"Size": 10_240}
    assert (properties["Timeout"], properties["MemorySize"]) == (900, 1024)
    assert "VpcConfig" not in properties
    # Every other function keeps Lambda's default /tmp
    others = [f.name for f in FUNCTIONS if f.name != "export_build"]
    assert {_function(synthesized, service_template, n)["EphemeralStorage"]["Size"] for n in others} == {512}


def _object_actions(synthesized: Synthesized, template: dict[str, Any], name: str) -> dict[str, set[str]]:
    """Media bucket key pattern -> the S3 object actions the function's role has there."""
    found: dict[str, set[str]] = {}
    for statement in _statements(synthesized, template, name):
        if "aperture-media-" not in json.dumps(statement["Resource"]):
            continue
        actions = _actions([statement], "s3:") - {"s3:ListBucket"}
        for resource in statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]:
            if actions:
                found.setdefault(resource["Fn::Join"][1][-1], set()).update(actions)
    return found


def test_exports_are_read_only_by_their_two_functions_and_written_only_by_the_builder(
    synthesized: Synthesized, service_template: dict[str, Any]
) -> None:
    by_function = {f.name: _object_actions(synthesized, service_template, f.name) for f in FUNCTIONS}
    readers = {name for name, keys in by_function.items() if "s3:GetObject" in keys.get("/exports/*", set())}
    writers = {name for name, keys in by_function.items() if "s3:PutObject" in keys.get("/exports/*", set())}
    # The HTTP function signs download links (its role is what the link carries) and can do nothing else there;
    # the erasure worker deletes an erased account's ZIPs
    assert readers == {"exports", "export_build", "erasure"}
    assert writers == {"export_build", "erasure"}
    assert set(by_function["exports"]) == {"/exports/*"}
    assert not {"s3:PutObject", "s3:DeleteObject"} & by_function["exports"]["/exports/*"]
    # The builder reads renditions and cannot change or delete them
    assert set(by_function["export_build"]) == {"/exports/*", "/images/*"}
    assert not {"s3:PutObject", "s3:DeleteObject"} & by_function["export_build"]["/images/*"]
    # And it writes only the exports table; every table it reads, it reads without Scan
    statements = _statements(synthesized, service_template, "export_build")
    written = {json.dumps(s["Resource"]) for s in statements if set(_actions([s], "dynamodb:")) & TABLE_WRITES}
    assert len(written) == 1 and _table_export(synthesized, "exports") in next(iter(written))
    assert "dynamodb:Scan" not in _actions(statements, "dynamodb:")


def test_the_activity_log_is_written_only_by_its_flush_job_and_read_by_the_erasure_and_training(
    synthesized: Synthesized, service_template: dict[str, Any]
) -> None:
    by_function = {f.name: _object_actions(synthesized, service_template, f.name) for f in FUNCTIONS}
    writers = {name for name, keys in by_function.items() if "s3:PutObject" in keys.get("/logs/*", set())}
    readers = {name for name, keys in by_function.items() if "s3:GetObject" in keys.get("/logs/*", set())}
    # The flush job writes log objects and touches nothing else in the bucket, nor reads what it wrote
    assert writers == {"activity_flush", "erasure"}  # (the erasure rewrites the objects naming an erased user)
    assert readers == {"erasure", "ranking_train"}  # (the training job reads the records)
    assert by_function["activity_flush"] == {"/logs/*": {"s3:PutObject", "s3:DeleteObject", "s3:PutObjectTagging"}}
    # ...every minute, in the VPC (Redis), its failed runs parked like every schedule's
    function = logical_id(synthesized.service.functions.by_name["activity_flush"].function)
    ((_, rule),) = _rules_invoking(service_template, function).items()
    assert rule["ScheduleExpression"] == "rate(1 minute)"
    assert "VpcConfig" in _function(synthesized, service_template, "activity_flush")
