"""DynamoDB throttling and a Redis that does not answer: retried with backoff, then 503 with Retry-After, never 500."""

from __future__ import annotations

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from aperture import wiring
from aperture.adapters.aws import RETRIES, dynamo_client
from local.seeding import publish_post
from tests.faults import Broken, Throttled
from tests.support import Api


def test_a_throttled_read_is_retried_with_backoff_and_succeeds(api: Api) -> None:
    alice = api.sign_up("alice")
    with Throttled(dynamo_client(), "GetItem", times=2) as throttled:
        response = api.call("GET", "/me", alice)
    assert response.status_code == 200
    assert response.json["username"] == alice.username
    assert throttled.refused == 2 and len(throttled.backoffs) == 2  # two refusals, each followed by a backoff


def test_throttling_that_outlasts_the_retries_is_503_with_retry_after(api: Api) -> None:
    alice = api.sign_up("alice")
    with Throttled(dynamo_client(), "GetItem") as throttled:
        response = api.call("GET", "/me", alice)
    assert response.status_code == 503
    assert response.json["error"]["code"] == "service_unavailable"
    assert int(response.headers["Retry-After"]) >= 1
    assert throttled.refused == 1 + RETRIES  # the first attempt and every retry, each retry after a backoff
    assert len(throttled.backoffs) == RETRIES


@pytest.mark.parametrize("reason", ["ThrottlingError", "TransactionConflict"])
def test_a_like_whose_transaction_is_cancelled_for_capacity_is_503_and_keeps_nothing(api: Api, reason: str) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    # As DynamoDB answers a throttled or conflicting transaction: cancelled, the reason per item
    cancelled = {"CancellationReasons": [{"Code": reason, "Message": "cancelled"}, {"Code": "None"}, {"Code": "None"}]}
    with Throttled(dynamo_client(), "TransactWriteItems", code="TransactionCanceledException", **cancelled):
        response = api.call("PUT", f"/posts/{post}/like", bob)
    assert (response.status_code, response.json["error"]["code"]) == (503, "service_unavailable")
    seen = api.call("GET", f"/posts/{post}", bob).json
    assert (seen["like_count"], seen["liked_by_me"]) == (0, False)
    # The client's retry, once DynamoDB has room again, likes it once
    assert api.call("PUT", f"/posts/{post}/like", bob).json == {"liked": True, "like_count": 1}


def test_a_cache_that_does_not_answer_is_503_with_retry_after(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    post = publish_post(alice)
    graph = wiring.graph()
    monkeypatch.setattr(graph, "_cache", Broken(graph._cache, "blocked", RedisConnectionError("redis went away")))
    response = api.call("GET", f"/posts/{post}/comments", bob)
    assert (response.status_code, response.json["error"]["code"]) == (503, "service_unavailable")
    assert response.headers["Retry-After"] == "1"
    assert api.call("GET", f"/posts/{post}/comments", bob).status_code == 200  # and answers when it is back
