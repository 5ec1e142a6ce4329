"""Lambda@Edge on /images/*: a missing AVIF falls back to WebP, and every image answers `Vary: Accept`.

One function, associated twice with the behavior (CloudFront passes the trigger in cf.config.eventType):
- origin-request: the viewer-request CloudFront Function (edge/negotiate.js) has already rewritten the URI to the
  best format the client names. AVIF is encoded a little after a post is published, so for an .avif URI the object
  is looked up first; if it is not there yet the request goes to the .webp and is marked with FALLBACK_HEADER.
- origin-response: adds `Vary: Accept`; a marked fallback gets FALLBACK_CACHE_CONTROL so caches soon ask again and
  pick up the AVIF once it exists. Other objects keep the immutable Cache-Control they were stored with.

Lambda@Edge has no environment variables: the bucket and its region come from the event's S3 origin. Standard
library and boto3 only (the runtime's), so the deployment package is this file.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

FALLBACK_HEADER = "x-aperture-fallback"
# Equal to aperture.cdn.FALLBACK_CACHE_CONTROL (a unit test keeps them so); this package cannot import the layer.
FALLBACK_CACHE_CONTROL = "public, max-age=60"
# A post's first photo, or (one level down) photo 1..9 of a carousel
AVIF_URI = re.compile(r"^/images/[0-9]+/[0-9]+/(?:[1-9]/)?(?:150|640|1080)\.avif$")
# bucket.s3.region.amazonaws.com (what CDK's S3 origins use), bucket.s3-region... and the global bucket.s3...
S3_DOMAIN = re.compile(r"^(?P<bucket>.+)\.s3(?:[.-](?P<region>[a-z0-9-]+))?\.amazonaws\.com(?:\.cn)?$")
# An origin request waits for this call: fail fast and let the origin answer rather than hold the viewer.
_CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 2, "mode": "standard"})


@functools.cache
def s3_client(region: str) -> Any:
    """One client per bucket region, reused across invocations of a warm container."""
    return boto3.client("s3", region_name=region, config=_CLIENT_CONFIG)


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    kind = event["Records"][0]["cf"]["config"]["eventType"]
    if kind == "origin-request":
        return origin_request(event)
    if kind == "origin-response":
        return origin_response(event)
    raise ValueError(f"associate this function with origin-request and origin-response only, not {kind}")


def origin_request(event: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = event["Records"][0]["cf"]["request"]
    origin = request.get("origin", {}).get("s3")
    if origin is None or not AVIF_URI.fullmatch(request["uri"]):
        return request
    bucket, region = _bucket(origin)
    if bucket is None or _exists(s3_client(region), bucket, request["uri"][1:]):
        return request
    request["uri"] = request["uri"].removesuffix(".avif") + ".webp"
    request["headers"][FALLBACK_HEADER] = [{"key": "X-Aperture-Fallback", "value": "webp"}]
    return request


def origin_response(event: dict[str, Any]) -> dict[str, Any]:
    cf = event["Records"][0]["cf"]
    request, response = cf["request"], cf["response"]
    headers: dict[str, list[dict[str, str]]] = response["headers"]
    vary = [part.strip() for entry in headers.get("vary", []) for part in entry["value"].split(",") if part.strip()]
    if "accept" not in {part.lower() for part in vary}:
        headers["vary"] = [{"key": "Vary", "value": ", ".join([*vary, "Accept"])}]
    if FALLBACK_HEADER in request.get("headers", {}) and str(response.get("status")) == "200":
        headers["cache-control"] = [{"key": "Cache-Control", "value": FALLBACK_CACHE_CONTROL}]
    if str(response.get("status")) == "403":
        # The bucket is private and read through origin access control, and CloudFront is (rightly) not allowed
        # to list it, so S3 says 403 for a key that does not exist: to clients an unknown or deleted image is a
        # 404, as the API contract and the local CDN say. Briefly cached, like any miss.
        response["status"], response["statusDescription"] = "404", "Not Found"
        headers["cache-control"] = [{"key": "Cache-Control", "value": FALLBACK_CACHE_CONTROL}]
    return response


def _bucket(origin: dict[str, Any]) -> tuple[str | None, str]:
    match = S3_DOMAIN.fullmatch(origin.get("domainName", ""))
    if match is None:
        return None, ""
    return match["bucket"], origin.get("region") or match["region"] or "us-east-1"


def _exists(client: Any, bucket: str, key: str) -> bool:
    """False only when S3 says the object is not there; on any other failure the request goes on unchanged."""
    try:
        client.head_object(Bucket=bucket, Key=key)
    except BotoCoreError as error:  # timeouts, connection errors: the origin can still answer for itself
        print(f"HEAD {key} failed ({error!r}); asking the origin for the AVIF as requested.")
        return True
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in {"404", "NoSuchKey", "NotFound"}:
            return False
        if code in {"403", "AccessDenied", "Forbidden"}:
            # The role may list images/ only (so a missing key is a 404); if S3 still says 403, serving the WebP
            # is the better failure than an image error, and the log line says what to fix.
            print(f"HEAD {key} was refused ({code}); serving WebP. Check the edge role's s3:ListBucket grant.")
            return False
        print(f"HEAD {key} failed ({code}); asking the origin for the AVIF as requested.")
    return True
