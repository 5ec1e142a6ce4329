"""boto3 clients and resources, built once per process on first use."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from aperture.settings import get_settings


@cache
def client(service: str) -> Any:
    settings = get_settings()
    config = Config(
        signature_version="s3v4" if service == "s3" else None,
        retries={"max_attempts": 5, "mode": "standard"},
        # Emulators answer on one host and port, so buckets go in the path there.
        s3={"addressing_style": "path"} if service == "s3" and settings.aws_endpoint_url else None,
    )
    return boto3.session.Session().client(
        service, region_name=settings.region, endpoint_url=settings.aws_endpoint_url, config=config
    )


@cache
def _dynamodb() -> Any:
    settings = get_settings()
    return boto3.session.Session().resource(
        "dynamodb", region_name=settings.region, endpoint_url=settings.aws_endpoint_url
    )


def dynamo_table(name: str) -> Any:
    return _dynamodb().Table(name)


def reset_clients() -> None:
    """Forget every client (tests and the local runtime call this after changing the environment)."""
    client.cache_clear()
    _dynamodb.cache_clear()
