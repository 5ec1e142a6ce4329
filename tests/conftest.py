"""Fixtures every test tier shares: one emulated AWS and one real Redis per test process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

from aperture import wiring
from aperture.adapters.aws import dynamo_table
from aperture.adapters.dynamo.common import delete_keys
from aperture.adapters.redis_store.client import redis_client
from aperture.settings import get_settings
from local.provision import Provisioned
from local.redis_server import RedisServer
from tests import grants
from tests.support import Api, start_aws

# No X-Ray daemon listens here: every tier runs the functions' Tracer switched off, as the local runtime does.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

# Property tests run beside the whole suite on two cores: a per-example deadline would fail them for the machine's
# load, not for a property (hypothesis still reports an example that is slow every time it runs).
settings.register_profile("aperture", deadline=None)
settings.load_profile("aperture")


@pytest.fixture(scope="session", autouse=True)
def _watch_grants() -> None:
    grants.install()


@pytest.fixture(autouse=True)
def _within_grants() -> Iterator[None]:
    """Fail a test in which a function made a call its declared grants would not allow on AWS."""
    grants.violations.clear()
    yield
    found = sorted(set(grants.violations))
    grants.violations.clear()
    assert not found, "calls the deployed functions' roles would refuse:\n" + "\n".join(found)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    server = RedisServer()
    os.environ["REDIS_URL"] = server.url
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def aws(redis_url: str) -> Iterator[Provisioned]:
    server, provisioned = start_aws()
    yield provisioned
    server.stop()


@pytest.fixture
def redis(aws: Provisioned) -> Any:
    client = redis_client()
    client.flushdb()
    return client


@pytest.fixture
def api(aws: Provisioned, redis: Any) -> Api:
    wiring.reset()
    # An account an earlier test disabled would be hidden from everyone in this one (every read path hides them)
    disabled = dynamo_table(get_settings().table_disabled_accounts)
    delete_keys(disabled, ({"user_id": item["user_id"]} for item in disabled.scan()["Items"]))
    return Api()
