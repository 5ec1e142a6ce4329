"""cdk-nag (AwsSolutions) and CDK's own annotations: nothing unacknowledged, and no acknowledgment without a finding."""

from __future__ import annotations

from typing import Any

import aws_cdk
import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Annotations, Match
from cdk_nag import AwsSolutionsChecks

import app as cdk_app
from tests.infrastructure.conftest import NO_BUNDLING, Synthesized

# One synthesis per session: under xdist, every infrastructure test runs on the same worker.
pytestmark = pytest.mark.xdist_group("cdk")


ACKNOWLEDGED = "aws:cdk:acknowledged-rules"
OURS = ("AwsSolutions-", "@aws-cdk/")


def _findings(app: App) -> list[tuple[str, str, str]]:
    report = AwsSolutionsChecks().validate_scope(app)
    return [
        (violation.rule_name, resource.construct_path, violation.severity)
        for violation in report.violations
        for resource in violation.violating_resources
    ]


def _acknowledgments(app: App) -> list[tuple[str, str, str]]:
    """(rule, construct path, reason) for every acknowledgment our code made."""
    found = []
    for construct in app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == ACKNOWLEDGED:
                for key, reason in entry.data.items():
                    rule = key.split("::", 1)[1] if key.lower().startswith("annotation::") else key
                    if rule.startswith(OURS):
                        found.append((rule, construct.node.path, reason))
    return found


def _stacks(app: App) -> list[Stack]:
    return [child for child in app.node.children if isinstance(child, Stack)]


def test_cdk_nag_reports_no_unacknowledged_finding(synthesized: Synthesized) -> None:
    assert _findings(synthesized.app) == []


def test_no_stack_has_error_or_warning_annotations(synthesized: Synthesized) -> None:
    for stack in _stacks(synthesized.app):
        annotations = Annotations.from_stack(stack)
        assert [m.entry.data for m in annotations.find_error("*", Match.any_value())] == []
        assert [m.entry.data for m in annotations.find_warning("*", Match.any_value())] == []


def test_every_acknowledgment_gives_a_reason(synthesized: Synthesized) -> None:
    acknowledgments = _acknowledgments(synthesized.app)
    assert acknowledgments
    for rule, path, reason in acknowledgments:
        assert len(reason) >= 60, f"{rule} at {path} needs a real reason, not {reason!r}"


@pytest.fixture(scope="module")
def unacknowledged(monkeypatch_module: pytest.MonkeyPatch) -> App:
    """The same app with every acknowledgment dropped, to see what each one hides."""
    monkeypatch_module.setattr(aws_cdk.Validations, "acknowledge", lambda self, *rules: None)
    app = cdk_app.build_app(context=NO_BUNDLING)
    app.synth()
    return app


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


def test_every_acknowledgment_hides_a_real_finding(synthesized: Synthesized, unacknowledged: App) -> None:
    # Given what cdk-nag and CDK's annotations report once nothing is acknowledged
    findings = [(rule, path) for rule, path, _ in _findings(unacknowledged)]
    for stack in _stacks(unacknowledged):
        for message in Annotations.from_stack(stack).find_warning("*", Match.any_value()):
            text = str(message.entry.data)
            findings += [(text[text.rindex("[ack: ") + 6 : -1], message.id.lstrip("/"))] if "[ack: " in text else []
    # Then every acknowledgment in the real app covers at least one of them: none is stale or misplaced
    for rule, path, _ in _acknowledgments(synthesized.app):
        assert any(r == rule and (p == path or p.startswith(f"{path}/")) for r, p in findings), (
            f"{rule} acknowledged at {path} hides nothing"
        )
