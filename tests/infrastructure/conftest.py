"""Synthesizes the CDK app once per session; every infrastructure test reads the same templates."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

# jsii prints a banner on every start under an end-of-life Node; it says nothing about our templates.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import pytest
from aws_cdk import App, CfnElement, Stack
from aws_cdk.assertions import Template
from constructs import IConstruct

import app as cdk_app
from stacks.edge_stack import EdgeStack
from stacks.service_stack import ServiceStack
from stacks.stateful_stack import StatefulStack
from stacks.web_stack import WebStack

# Bundling would pip-download the layer; the templates are the same without it, and tests stay offline.
NO_BUNDLING = {"aws:cdk:bundling-stacks": []}

StackT = TypeVar("StackT", bound=Stack)


@dataclass(frozen=True)
class Synthesized:
    app: App
    outdir: Path
    stateful: StatefulStack
    service: ServiceStack
    edge: EdgeStack
    web: WebStack

    def template(self, stack: Stack) -> dict[str, Any]:
        return json.loads((self.outdir / f"{stack.artifact_id}.template.json").read_text())

    def template_paths(self) -> list[Path]:
        return sorted(self.outdir.glob("*.template.json"))


def logical_id(construct: IConstruct) -> str:
    """The template key of a construct's CloudFormation resource (its default child for L2 constructs)."""
    element = construct if isinstance(construct, CfnElement) else construct.node.default_child
    assert isinstance(element, CfnElement), f"{construct.node.path} has no CloudFormation resource"
    return str(element.stack.resolve(element.logical_id))


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in template["Resources"].items() if value["Type"] == resource_type}


def _only(app: App, kind: type[StackT]) -> StackT:
    (stack,) = (child for child in app.node.children if isinstance(child, kind))
    return stack


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk_app.build_app(context=NO_BUNDLING, outdir=str(outdir))
    app.synth()
    yield Synthesized(
        app=app,
        outdir=outdir,
        stateful=_only(app, StatefulStack),
        service=_only(app, ServiceStack),
        edge=_only(app, EdgeStack),
        web=_only(app, WebStack),
    )


@pytest.fixture(scope="session")
def stateful_template(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.template(synthesized.stateful)


@pytest.fixture(scope="session")
def service_template(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.template(synthesized.service)


@pytest.fixture(scope="session")
def edge_template(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.template(synthesized.edge)


@pytest.fixture(scope="session")
def web_template(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.template(synthesized.web)


@pytest.fixture(scope="session")
def stateful(stateful_template: dict[str, Any]) -> Template:
    return Template.from_json(stateful_template)


@pytest.fixture(scope="session")
def service(service_template: dict[str, Any]) -> Template:
    return Template.from_json(service_template)


@pytest.fixture(scope="session")
def edge(edge_template: dict[str, Any]) -> Template:
    return Template.from_json(edge_template)
