"""CDN invalidation: each queued prefix is its own CloudFront request under its message's id, so a redelivered
message is the same request whatever it is grouped with, and only what CloudFront refused comes back."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from aperture import wiring
from aperture.adapters.cloudfront import CdnCache
from aperture.invalidations import CdnInvalidator
from aperture.models.events import CdnInvalidation
from aperture.resources import CDN_INVALIDATIONS, CDN_WILDCARD_PATHS_IN_PROGRESS, SqsTrigger, function
from local.invoke import invoke

DISTRIBUTION = "E2QWRUHEXAMPLE"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:aperture-cdn_invalidations"


def _cloudfront() -> Any:
    return boto3.session.Session().client(
        "cloudfront", region_name="us-east-1", aws_access_key_id="unit", aws_secret_access_key="unit"
    )


def _request(prefix: str, reference: str) -> dict[str, Any]:
    """The CreateInvalidation request one prefix must make: one wildcard path, under the reference."""
    return {
        "DistributionId": DISTRIBUTION,
        "InvalidationBatch": {"Paths": {"Quantity": 1, "Items": [f"/{prefix}*"]}, "CallerReference": reference},
    }


def _created(invalidation_id: str, request: dict[str, Any]) -> dict[str, Any]:
    return {
        "Location": f"https://cloudfront.amazonaws.com/2020-05-31/distribution/{DISTRIBUTION}/invalidation/x",
        "Invalidation": {
            "Id": invalidation_id,
            "Status": "InProgress",
            "CreateTime": "2026-01-01T00:00:00Z",
            "InvalidationBatch": request["InvalidationBatch"],
        },
    }


def _record(message_id: str, body: str, receives: int = 1) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}-{receives}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receives), "SentTimestamp": "1767225600000"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "us-east-1",
    }


def _queued(message_id: str, prefix: str, receives: int = 1) -> dict[str, Any]:
    return _record(message_id, CdnInvalidation(prefix=prefix).model_dump_json(), receives)


@pytest.fixture
def cloudfront(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The real CloudFront client behind the deployed function's invalidator (stub it to expect its requests)."""
    cloudfront = _cloudfront()
    invalidator = CdnInvalidator(CdnCache(lambda: cloudfront, DISTRIBUTION))
    monkeypatch.setattr(wiring, "cdn_invalidator", lambda: invalidator)
    return cloudfront


def test_a_prefix_is_one_wildcard_path_under_the_reference_given() -> None:
    # Given the real CloudFront client, stubbed to expect exactly this request
    cloudfront = _cloudfront()
    request = _request("images/1/10/", "ref-1")
    with Stubber(cloudfront) as stub:
        stub.add_response("create_invalidation", _created("I1", request), request)
        # When a prefix is invalidated
        invalidation = CdnCache(lambda: cloudfront, DISTRIBUTION).invalidate("images/1/10/", "ref-1")
        # Then CloudFront got one request with its one wildcard path and the reference, and its id comes back
        stub.assert_no_pending_responses()
    assert invalidation == "I1"


def test_without_a_distribution_nothing_is_sent() -> None:
    cloudfront = _cloudfront()
    with Stubber(cloudfront):  # no response queued: any request would fail the test
        assert CdnCache(lambda: cloudfront, None).invalidate("images/1/10/", "ref") is None


def test_each_message_of_a_batch_is_its_own_invalidation_under_its_message_id(cloudfront: Any) -> None:
    # Given a batch of two queued deletions, and CloudFront stubbed to expect one request per message, in order
    with Stubber(cloudfront) as stub:
        for message_id, prefix in (("m-1", "images/7/70/"), ("m-2", "images/8/80/")):
            request = _request(prefix, message_id)
            stub.add_response("create_invalidation", _created(f"I-{message_id}", request), request)
        # When cdn_invalidate is given the batch
        response = invoke(
            "cdn_invalidate", {"Records": [_queued("m-1", "images/7/70/"), _queued("m-2", "images/8/80/")]}
        )
        # Then each prefix was one request whose caller reference is its message's id, and nothing is retried
        stub.assert_no_pending_responses()
    assert response == {"batchItemFailures": []}


def test_a_redelivered_message_sends_the_same_caller_reference_whatever_it_is_grouped_with(cloudfront: Any) -> None:
    # Given m-1's invalidation made but its answer lost (CloudFront's 503 after it acted), in a batch with m-2
    first = {"Records": [_queued("m-1", "images/1/10/"), _queued("m-2", "images/2/20/")]}
    # ...and SQS redelivering m-1 (same id, one more receive) grouped with a different message, m-3
    regrouped = {"Records": [_queued("m-3", "images/3/30/"), _queued("m-1", "images/1/10/", receives=2)]}
    with Stubber(cloudfront) as stub:
        stub.add_client_error(
            "create_invalidation",
            "ServiceUnavailable",
            http_status_code=503,
            expected_params=_request("images/1/10/", "m-1"),
        )
        stub.add_response(
            "create_invalidation", _created("I-2", _request("images/2/20/", "m-2")), _request("images/2/20/", "m-2")
        )
        stub.add_response(
            "create_invalidation", _created("I-3", _request("images/3/30/", "m-3")), _request("images/3/30/", "m-3")
        )
        # Then the redelivered m-1 is byte for byte the request CloudFront already has (same path, same caller
        # reference), which CloudFront answers with the invalidation it made instead of a second, billed one
        stub.add_response(
            "create_invalidation", _created("I-1", _request("images/1/10/", "m-1")), _request("images/1/10/", "m-1")
        )
        # When both batches are delivered
        assert invoke("cdn_invalidate", first) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
        assert invoke("cdn_invalidate", regrouped) == {"batchItemFailures": []}
        stub.assert_no_pending_responses()


@pytest.mark.parametrize("refusal", ["TooManyInvalidationsInProgress", "Throttling"])
def test_a_refused_message_is_reported_failed_and_the_others_succeed(cloudfront: Any, refusal: str) -> None:
    # Given three queued deletions, the second of which CloudFront refuses (its wildcard limit, or throttling)
    batch = [_queued("m-1", "images/1/10/"), _queued("m-2", "images/2/20/"), _queued("m-3", "images/3/30/")]
    with Stubber(cloudfront) as stub:
        stub.add_response(
            "create_invalidation", _created("I-1", _request("images/1/10/", "m-1")), _request("images/1/10/", "m-1")
        )
        stub.add_client_error(
            "create_invalidation", refusal, http_status_code=400, expected_params=_request("images/2/20/", "m-2")
        )
        stub.add_response(
            "create_invalidation", _created("I-3", _request("images/3/30/", "m-3")), _request("images/3/30/", "m-3")
        )
        # When cdn_invalidate is given the batch
        response = invoke("cdn_invalidate", {"Records": batch})
        # Then every message was tried, and only the refused one comes back after its visibility timeout
        stub.assert_no_pending_responses()
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}


def test_a_batch_refused_whole_is_reported_message_by_message(cloudfront: Any) -> None:
    # Given CloudFront refusing every request (earlier invalidations still in progress)
    with Stubber(cloudfront) as stub:
        for _ in range(2):
            stub.add_client_error("create_invalidation", "TooManyInvalidationsInProgress", http_status_code=400)
        # When cdn_invalidate is given two messages
        response = invoke("cdn_invalidate", {"Records": [_queued("m-1", "images/1/"), _queued("m-2", "images/2/")]})
    # Then both are reported failed (the invocation itself succeeds: nothing else is retried or counted twice)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]}


@pytest.mark.parametrize("body", ['{"prefix": "*"}', '{"prefix": "uploads/1/2/"}', "not json", "{}"])
def test_a_malformed_message_is_dropped_not_retried(cloudfront: Any, body: str) -> None:
    # Given a message that is not an invalidation of an image prefix, between two that are
    batch = [_queued("m-1", "images/1/10/"), _record("bad", body), _queued("m-3", "images/3/30/")]
    with Stubber(cloudfront) as stub:
        for message_id, prefix in (("m-1", "images/1/10/"), ("m-3", "images/3/30/")):
            request = _request(prefix, message_id)
            stub.add_response("create_invalidation", _created(f"I-{message_id}", request), request)
        # When cdn_invalidate is given the batch
        response = invoke("cdn_invalidate", {"Records": batch})
        # Then nothing was sent for it, and it is not reported failed (it could never succeed): SQS deletes it
        stub.assert_no_pending_responses()
    assert response == {"batchItemFailures": []}


@pytest.mark.parametrize("prefix", ["uploads/1/2/", "images/1/*", "*", ""])
def test_only_image_prefixes_without_wildcards_are_queued(prefix: str) -> None:
    with pytest.raises(ValueError):
        CdnInvalidation(prefix=prefix)


def test_one_round_of_invalidations_stays_within_cloudfronts_wildcard_limit_and_refusals_retry_for_an_hour() -> None:
    # Given cdn_invalidate's trigger and its queue
    trigger = function("cdn_invalidate").trigger
    assert isinstance(trigger, SqsTrigger) and trigger.queue == CDN_INVALIDATIONS.key
    # Then the batches that can run at once (SQS allows no fewer than two) hold no more wildcard paths, one per
    # message, than a distribution may have in progress
    assert trigger.max_concurrency is not None and trigger.max_concurrency >= 2
    assert trigger.batch_size * trigger.max_concurrency <= CDN_WILDCARD_PATHS_IN_PROGRESS
    # And a refused message comes back only after earlier invalidations (a few minutes each) have had time to
    # finish, and keeps coming back for about an hour before it is dead-lettered
    assert CDN_INVALIDATIONS.visibility_timeout_seconds >= 300
    assert trigger.max_receives * CDN_INVALIDATIONS.visibility_timeout_seconds >= 3600
