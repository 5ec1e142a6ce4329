"""CDN invalidation: a batch of queued prefixes is one CloudFront request, and a retried batch is the same request."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from aperture.adapters.cloudfront import CdnCache
from aperture.invalidations import CdnInvalidator, QueuedMessage, batch_reference
from aperture.models.events import CdnInvalidation

DISTRIBUTION = "E2QWRUHEXAMPLE"


def _cloudfront() -> Any:
    return boto3.session.Session().client(
        "cloudfront", region_name="us-east-1", aws_access_key_id="unit", aws_secret_access_key="unit"
    )


def _created(invalidation_id: str, paths: list[str], reference: str) -> dict[str, Any]:
    return {
        "Location": f"https://cloudfront.amazonaws.com/2020-05-31/distribution/{DISTRIBUTION}/invalidation/x",
        "Invalidation": {
            "Id": invalidation_id,
            "Status": "InProgress",
            "CreateTime": "2026-01-01T00:00:00Z",
            "InvalidationBatch": {"Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": reference},
        },
    }


def _message(message_id: str, prefix: str) -> QueuedMessage:
    return QueuedMessage(message_id, CdnInvalidation(prefix=prefix).model_dump_json())


def test_one_request_invalidates_every_prefix_as_one_wildcard_path_each() -> None:
    # Given the real CloudFront client, stubbed to expect exactly this request
    cloudfront = _cloudfront()
    paths = ["/images/1/10/*", "/images/2/20/*"]
    with Stubber(cloudfront) as stub:
        stub.add_response(
            "create_invalidation",
            _created("I1", paths, "ref-1"),
            {
                "DistributionId": DISTRIBUTION,
                "InvalidationBatch": {"Paths": {"Quantity": 2, "Items": paths}, "CallerReference": "ref-1"},
            },
        )
        # When two prefixes (one named twice) are invalidated
        invalidation = CdnCache(lambda: cloudfront, DISTRIBUTION).invalidate(
            ["images/2/20/", "images/1/10/", "images/2/20/"], "ref-1"
        )
        # Then CloudFront got one request with two paths and the reference, and its id comes back
        stub.assert_no_pending_responses()
    assert invalidation == "I1"


def test_without_a_distribution_nothing_is_sent() -> None:
    cloudfront = _cloudfront()
    with Stubber(cloudfront):  # no response queued: any request would fail the test
        assert CdnCache(lambda: cloudfront, None).invalidate(["images/1/10/"], "ref") is None
        assert CdnCache(lambda: cloudfront, DISTRIBUTION).invalidate([], "ref") is None


def test_a_batch_of_messages_is_one_invalidation_under_a_reference_made_from_their_ids() -> None:
    # Given three queued deletions (two of the same post, as a retried delete sends) and a stubbed CloudFront
    cloudfront = _cloudfront()
    messages = [_message("m-2", "images/7/70/"), _message("m-1", "images/8/80/"), _message("m-3", "images/7/70/")]
    reference = batch_reference(["m-1", "m-2", "m-3"])
    paths = ["/images/7/70/*", "/images/8/80/*"]
    with Stubber(cloudfront) as stub:
        request = {
            "DistributionId": DISTRIBUTION,
            "InvalidationBatch": {"Paths": {"Quantity": 2, "Items": paths}, "CallerReference": reference},
        }
        stub.add_response("create_invalidation", _created("I1", paths, reference), request)
        # When the batch is run
        retry = CdnInvalidator(CdnCache(lambda: cloudfront, DISTRIBUTION)).run(messages)
        # Then one request carried both paths, and nothing is retried
        stub.assert_no_pending_responses()
    assert retry == []
    assert reference.startswith("aperture-")


def test_a_retried_batch_sends_the_same_caller_reference_whatever_the_order() -> None:
    # SQS redelivers a message under its id, so the retry is the invalidation CloudFront already has
    assert batch_reference(["m-1", "m-2"]) == batch_reference(["m-2", "m-1", "m-1"])
    assert batch_reference(["m-1", "m-2"]) != batch_reference(["m-1", "m-3"])


def test_a_refused_batch_is_retried_whole_and_a_malformed_message_is_dropped() -> None:
    # Given CloudFront refusing (too many wildcard paths in progress) and one message that is not an invalidation
    cloudfront = _cloudfront()
    messages = [_message("m-1", "images/1/10/"), QueuedMessage("m-2", '{"prefix": "*"}'), _message("m-3", "images/3/")]
    with Stubber(cloudfront) as stub:
        stub.add_client_error("create_invalidation", "TooManyInvalidationsInProgress", http_status_code=400)
        # When the batch is run
        retry = CdnInvalidator(CdnCache(lambda: cloudfront, DISTRIBUTION)).run(messages)
    # Then every well-formed message comes back for a retry, and the malformed one (which never could) does not
    assert retry == ["m-1", "m-3"]


@pytest.mark.parametrize("prefix", ["uploads/1/2/", "images/1/*", "*", ""])
def test_only_image_prefixes_without_wildcards_are_queued(prefix: str) -> None:
    with pytest.raises(ValueError):
        CdnInvalidation(prefix=prefix)
