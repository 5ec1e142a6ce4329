"""Integration fixtures: the event pump over the shared emulated AWS."""

from __future__ import annotations

import pytest

from aperture.settings import get_settings
from local.invoke import invoke
from local.provision import Provisioned
from local.pump import EventPump


@pytest.fixture(scope="session")
def session_pump(aws: Provisioned) -> EventPump:
    return EventPump(invoke, get_settings(), aws.notification_queue_url, aws.failure_queue_url)


@pytest.fixture
def pump(session_pump: EventPump, api: object) -> EventPump:
    session_pump.drain()  # start each test with nothing in flight
    return session_pump
