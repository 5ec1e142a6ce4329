"""Fixtures every test tier shares: one emulated AWS and one real Redis per test process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from aperture import wiring
from aperture.adapters.redis_store import redis_client
from local.provision import Provisioned
from tests.support import Api, RedisServer, start_aws


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
    return Api()
