"""boto3 clients and resources: one Session per process, each client built once, on first use.

Every client retries with backoff in botocore's standard mode (throttling included); what is still refused after
the last attempt reaches the caller, and the API answers it with 503 and Retry-After (aperture.api).
"""

from __future__ import annotations

import threading
from functools import cache
from typing import TYPE_CHECKING, Any

from aperture.settings import get_settings

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config

RETRIES = 5  # after the first attempt (botocore's max_attempts), with exponential backoff and jitter
# A Session is not safe to build clients from in several threads at once (the local runtime runs functions in threads)
_building = threading.Lock()


@cache
def _data_loader() -> Any:
    """botocore's reader of its service models and endpoint rules, kept across sessions: parsing those JSON files
    is most of what a new Session and its first clients cost, and they never change in a process."""
    from botocore.loaders import create_loader

    return create_loader()


@cache
def session() -> boto3.session.Session:
    # boto3 loads on the first client a process builds, not when a handler is imported: a function whose
    # invocation needs no AWS client never pays for it, and the rest pay once, here (docs/benchmarks.md).
    import boto3
    import botocore.session

    core = botocore.session.Session()
    loader = _data_loader()
    core.register_component("data_loader", loader)
    built = boto3.session.Session(botocore_session=core)
    # (each boto3 Session adds its own data path to the loader it is given: once is enough)
    loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))
    return built


def _config(service: str) -> Config:
    from botocore.config import Config

    settings = get_settings()
    return Config(
        signature_version="s3v4" if service == "s3" else None,
        retries={"max_attempts": RETRIES, "mode": "standard"},
        # Emulators answer on one host and port, so buckets go in the path there.
        s3={"addressing_style": "path"} if service == "s3" and settings.aws_endpoint_url else None,
    )


@cache
def client(service: str) -> Any:
    settings = get_settings()
    with _building:
        return session().client(
            service, region_name=settings.region, endpoint_url=settings.aws_endpoint_url, config=_config(service)
        )


@cache
def _dynamodb() -> Any:
    settings = get_settings()
    with _building:
        return session().resource(
            "dynamodb",
            region_name=settings.region,
            endpoint_url=settings.aws_endpoint_url,
            config=_config("dynamodb"),
        )


def dynamo_table(name: str) -> Any:
    return _dynamodb().Table(name)


def dynamo_client() -> Any:
    """The client behind every table resource (what a fault test hooks into)."""
    return _dynamodb().meta.client


def reset_clients() -> None:
    """Forget every client and the Session (tests and the local runtime call this after changing the environment;
    the parsed service models are kept)."""
    client.cache_clear()
    _dynamodb.cache_clear()
    session.cache_clear()
