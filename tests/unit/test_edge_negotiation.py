"""Format negotiation on AWS agrees with aperture.cdn: the CloudFront Function and the Lambda@Edge handlers."""

from __future__ import annotations

import copy
import importlib.util
import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from aperture.cdn import FALLBACK_CACHE_CONTROL, candidate_keys

ROOT = Path(__file__).resolve().parents[2]
NEGOTIATE_JS = ROOT / "edge" / "negotiate.js"

# Runs the CloudFront Function's own source under node: each case is a viewer-request event, the answer its uri.
RUNNER = """
const fs = require('fs');
const source = fs.readFileSync(process.argv[1], 'utf8');
const handler = new Function(source + '\\nreturn handler;')();
const cases = JSON.parse(fs.readFileSync(0, 'utf8'));
const uris = cases.map(([uri, accept]) => {
    const headers = accept === null ? {} : { accept: { value: accept } };
    return handler({ version: '1.0', context: { eventType: 'viewer-request' }, request: { method: 'GET', uri,
        querystring: {}, headers, cookies: {} } }).uri;
});
process.stdout.write(JSON.stringify(uris));
"""

ACCEPTS: list[str | None] = [
    None,
    "",
    "*/*",
    "image/*",
    "image/*, */*;q=0.5",
    "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",  # Chrome
    "image/avif,image/webp,*/*",  # Firefox
    "image/webp,*/*",  # older Safari
    "image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,"
    "image/*;q=0.8,*/*;q=0.5",  # Safari 17
    "image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5",  # Safari 13
    "image/jpeg",
    "image/png",
    "text/html",
    "IMAGE/AVIF",
    " image/webp ; q=0.9 ",
    "image/avif;q=0",
    "image/avif; q = 0, image/webp",
    "image/avif;q=0.0,image/webp;q=0.000",
    "image/avif;q=0.001",
    "image/avif;q=0.0000",
    "image/avif;level=1;q=0",
    "image/webp;q=0,*/*",
    "image/avif\t,\timage/jpeg",
    "image/avif\x85",
    "\ufeffimage/avif",
    "image/avif\x1c",
    "*/*;q=0",
    ",,,",
    "image/*;q=0, image/jpeg;q=0",
    "application/json, image/webp",
]
URIS = [
    "/images/1/2/640.jpg",
    "/images/1/2/640.webp",
    "/images/1/2/640.avif",
    "/images/42/9000000000/150.jpg",
    "/images/7/8/1080.webp",
    "/images/1/2/3/640.jpg",  # a carousel's fourth photo
    "/images/1/2/9/150.avif",
    "/images/1/2/0/640.jpg",  # photo 0 lives at the post's own level: not an image path
    "/images/1/2/10/640.jpg",
    "/images/1/2/641.jpg",
    "/images/1/2/640.png",
    "/images/1/2/640.jpg/",
    "/images/a/2/640.jpg",
    "/images/../2/640.jpg",
    "/uploads/1/2",
    "/index.html",
    "/",
]
# Random headers built from the tokens the rules look at, for combinations the table misses.
TOKENS = ["image/avif", "image/webp", "image/jpeg", "image/*", "*/*", "text/html", "IMAGE/WEBP", "", " "]
PARAMS = ["", ";q=0", ";q=0.0", "; q=0", ";q = 0.00", ";q=0.5", ";q=1", ";level=2", ";q=0.0001", ";Q=0"]


def _random_accepts(count: int) -> list[str]:
    rng = random.Random(20260101)
    return [",".join(rng.choice(TOKENS) + rng.choice(PARAMS) for _ in range(rng.randint(1, 4))) for _ in range(count)]


def _expected(uri: str, accept: str | None) -> str:
    keys = candidate_keys(uri.removeprefix("/"), accept)
    return f"/{keys[0]}" if keys else uri


@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.skip("node is not installed; the CloudFront Function cannot be run here")
    return path


def _run_function(node: str, cases: list[tuple[str, str | None]]) -> list[str]:
    result = subprocess.run(
        [node, "-e", RUNNER, str(NEGOTIATE_JS)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    uris: list[str] = json.loads(result.stdout)
    return uris


def test_the_cloudfront_function_picks_what_candidate_keys_picks(node: str) -> None:
    # Given every URL of the table with every Accept header, plus random headers on an image URL
    cases = [(uri, accept) for uri in URIS for accept in ACCEPTS]
    cases += [(URIS[index % 5], accept) for index, accept in enumerate(_random_accepts(2000))]
    # When the CloudFront Function handles each as a viewer request
    chosen = _run_function(node, cases)
    # Then it rewrites to the key candidate_keys puts first, and leaves non-image paths alone
    mismatches = [
        (uri, accept, got) for (uri, accept), got in zip(cases, chosen, strict=True) if got != _expected(uri, accept)
    ]
    assert mismatches == []


def test_the_table_covers_every_outcome(node: str) -> None:
    chosen = set(_run_function(node, [("/images/1/2/640.jpg", accept) for accept in ACCEPTS]))
    assert chosen == {"/images/1/2/640.avif", "/images/1/2/640.webp", "/images/1/2/640.jpg"}
    assert _run_function(node, [("/images/1/2/640.webp", "*/*")]) == ["/images/1/2/640.webp"]


# --- Lambda@Edge (edge/origin/images.py) ---

BUCKET = "aperture-media-123456789012-us-east-1"


@pytest.fixture(scope="module")
def images() -> Any:
    spec = importlib.util.spec_from_file_location("edge_origin_images", ROOT / "edge" / "origin" / "images.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def s3(images: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    images.s3_client.cache_clear()
    client = images.s3_client("us-east-1")
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()
    images.s3_client.cache_clear()


def _origin_request(uri: str) -> dict[str, Any]:
    """An origin-request event as CloudFront sends it for the S3 origin (after the viewer-request rewrite)."""
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": "d111111abcdef8.cloudfront.net",
                        "distributionId": "EDFDVBD6EXAMPLE",
                        "eventType": "origin-request",
                        "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
                    },
                    "request": {
                        "clientIp": "203.0.113.178",
                        "headers": {
                            "host": [{"key": "Host", "value": f"{BUCKET}.s3.us-east-1.amazonaws.com"}],
                            "via": [{"key": "Via", "value": "2.0 2afae0d44e2540f472c0635ab62c232b.cloudfront.net"}],
                        },
                        "method": "GET",
                        "origin": {
                            "s3": {
                                "authMethod": "none",
                                "customHeaders": {},
                                "domainName": f"{BUCKET}.s3.us-east-1.amazonaws.com",
                                "path": "",
                                "region": "us-east-1",
                            }
                        },
                        "querystring": "",
                        "uri": uri,
                    },
                }
            }
        ]
    }


def _origin_response(request: dict[str, Any], status: str = "200", **headers: str) -> dict[str, Any]:
    sent = {key: value for key, value in request.items() if key != "origin"}
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": "d111111abcdef8.cloudfront.net",
                        "distributionId": "EDFDVBD6EXAMPLE",
                        "eventType": "origin-response",
                        "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
                    },
                    "request": sent,
                    "response": {
                        "headers": {
                            name.replace("_", "-").lower(): [{"key": name.replace("_", "-"), "value": value}]
                            for name, value in headers.items()
                        },
                        "status": status,
                        "statusDescription": "OK" if status == "200" else "Not Found",
                    },
                }
            }
        ]
    }


def test_an_encoded_avif_is_fetched_as_asked(images: Any, s3: Stubber) -> None:
    s3.add_response("head_object", {"ContentType": "image/avif"}, {"Bucket": BUCKET, "Key": "images/1/2/640.avif"})
    event = _origin_request("/images/1/2/640.avif")
    request = images.handler(copy.deepcopy(event))
    assert request == event["Records"][0]["cf"]["request"]


def test_an_avif_not_encoded_yet_falls_back_to_webp_marked(images: Any, s3: Stubber) -> None:
    s3.add_client_error("head_object", "404", "Not Found", 404, {"Bucket": BUCKET, "Key": "images/1/2/640.avif"})
    request = images.handler(_origin_request("/images/1/2/640.avif"))
    assert request["uri"] == "/images/1/2/640.webp"
    assert request["headers"][images.FALLBACK_HEADER] == [{"key": "X-Aperture-Fallback", "value": "webp"}]


def test_a_carousel_photos_avif_not_encoded_yet_falls_back_to_its_own_webp(images: Any, s3: Stubber) -> None:
    s3.add_client_error("head_object", "404", "Not Found", 404, {"Bucket": BUCKET, "Key": "images/1/2/4/640.avif"})
    request = images.handler(_origin_request("/images/1/2/4/640.avif"))
    assert request["uri"] == "/images/1/2/4/640.webp"


def test_a_refused_lookup_also_falls_back_to_webp(images: Any, s3: Stubber) -> None:
    s3.add_client_error("head_object", "403", "Forbidden", 403, {"Bucket": BUCKET, "Key": "images/1/2/150.avif"})
    assert images.handler(_origin_request("/images/1/2/150.avif"))["uri"] == "/images/1/2/150.webp"


def test_a_failed_lookup_asks_the_origin_as_requested(images: Any, s3: Stubber) -> None:
    s3.add_client_error("head_object", "SlowDown", "Slow Down", 503)
    request = images.handler(_origin_request("/images/1/2/1080.avif"))
    assert request["uri"] == "/images/1/2/1080.avif"
    assert images.FALLBACK_HEADER not in request["headers"]


@pytest.mark.parametrize("uri", ["/images/1/2/640.webp", "/images/1/2/640.jpg", "/images/1/2/641.avif", "/x.avif"])
def test_other_objects_are_not_looked_up(images: Any, s3: Stubber, uri: str) -> None:
    event = _origin_request(uri)
    assert images.handler(copy.deepcopy(event)) == event["Records"][0]["cf"]["request"]


def test_every_image_response_varies_on_accept_and_keeps_its_cache_control(images: Any) -> None:
    immutable = "public, max-age=31536000, immutable"
    response = images.handler(
        _origin_response(
            _origin_request("/images/1/2/640.avif")["Records"][0]["cf"]["request"],
            Cache_Control=immutable,
            Content_Type="image/avif",
        )
    )
    assert response["headers"]["vary"] == [{"key": "Vary", "value": "Accept"}]
    assert response["headers"]["cache-control"] == [{"key": "Cache-Control", "value": immutable}]
    assert response["status"] == "200"


def test_an_existing_vary_gains_accept_once(images: Any) -> None:
    request = _origin_request("/images/1/2/640.jpg")["Records"][0]["cf"]["request"]
    response = images.handler(_origin_response(request, Vary="Origin"))
    assert response["headers"]["vary"] == [{"key": "Vary", "value": "Origin, Accept"}]
    again = images.handler(_origin_response(request, Vary="Origin, accept"))
    assert again["headers"]["vary"] == [{"key": "Vary", "value": "Origin, accept"}]


def test_a_fallback_is_cached_briefly(images: Any, s3: Stubber) -> None:
    # Given the origin request that fell back from the AVIF to the WebP
    s3.add_client_error("head_object", "404", "Not Found", 404)
    request = images.handler(_origin_request("/images/1/2/640.avif"))
    # When the WebP comes back with its stored immutable Cache-Control
    response = images.handler(
        _origin_response(request, Cache_Control="public, max-age=31536000, immutable", Content_Type="image/webp")
    )
    # Then caches keep it only briefly, so the AVIF is served once encoded
    assert response["headers"]["cache-control"] == [{"key": "Cache-Control", "value": FALLBACK_CACHE_CONTROL}]
    assert response["headers"]["vary"] == [{"key": "Vary", "value": "Accept"}]


def test_a_missing_fallback_is_left_as_the_origin_answered(images: Any) -> None:
    request = _origin_request("/images/1/2/640.webp")["Records"][0]["cf"]["request"]
    request["headers"]["x-aperture-fallback"] = [{"key": "X-Aperture-Fallback", "value": "webp"}]
    response = images.handler(_origin_response(request, status="404"))
    assert "cache-control" not in response["headers"]
    assert response["status"] == "404"


def test_an_image_the_bucket_refuses_is_a_brief_404_to_clients(images: Any) -> None:
    # Given S3's answer for a key that does not exist, which CloudFront (not allowed to list the bucket) gets as 403
    request = _origin_request("/images/1/2/640.jpg")["Records"][0]["cf"]["request"]
    response = images.handler(_origin_response(request, status="403"))
    # Then the client sees what the contract says for unknown or deleted images
    assert response["status"] == "404"
    assert response["headers"]["cache-control"] == [{"key": "Cache-Control", "value": FALLBACK_CACHE_CONTROL}]


def test_the_edge_and_the_layer_agree_on_the_fallback_cache_control(images: Any) -> None:
    assert images.FALLBACK_CACHE_CONTROL == FALLBACK_CACHE_CONTROL


def test_the_bucket_and_region_come_from_the_origin_domain(images: Any) -> None:
    assert images._bucket({"domainName": f"{BUCKET}.s3.us-east-1.amazonaws.com"}) == (BUCKET, "us-east-1")
    assert images._bucket({"domainName": "a.b.s3.eu-west-1.amazonaws.com", "region": ""}) == ("a.b", "eu-west-1")
    assert images._bucket({"domainName": "legacy.s3.amazonaws.com"}) == ("legacy", "us-east-1")
    assert images._bucket({"domainName": "example.com"}) == (None, "")


def test_only_origin_triggers_are_handled(images: Any) -> None:
    event = _origin_request("/images/1/2/640.jpg")
    event["Records"][0]["cf"]["config"]["eventType"] = "viewer-request"
    with pytest.raises(ValueError, match="origin-request and origin-response only"):
        images.handler(event)
