"""The local event pump keeps Lambda's semantics: for Kinesis order, partial-batch retries, a failure destination;
for SQS partial batch responses (only the reported messages come back) and the dead-letter queue."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from aperture import wiring
from aperture.adapters.aws import client
from aperture.adapters.failure_archive import FailureArchive
from aperture.invalidations import CdnInvalidator
from aperture.models.events import CdnInvalidation, FollowChanged, parse_event
from aperture.resources import SqsTrigger, function
from aperture.settings import get_settings
from local.invoke import invoke
from local.provision import Provisioned
from local.pump import EventPump


class FlakyConsumer:
    """Stands in for post_ingest: records what it was given, fails chosen events a number of times."""

    def __init__(self, tag: str, failures: dict[str, int]) -> None:
        self.tag = tag
        self.failures = dict(failures)
        self.delivered: list[str] = []

    def __call__(self, name: str, event: dict[str, Any]) -> dict[str, Any]:
        failed = []
        for record in event.get("Records", []):
            if name != "post_ingest":
                continue
            parsed = parse_event(base64.b64decode(record["kinesis"]["data"]))
            assert parsed is not None
            if not parsed.event_id.startswith(self.tag):
                continue
            self.delivered.append(parsed.event_id.removeprefix(self.tag))
            if self.failures.get(parsed.event_id.removeprefix(self.tag), 0) > 0:
                self.failures[parsed.event_id.removeprefix(self.tag)] -= 1
                failed.append({"itemIdentifier": record["kinesis"]["sequenceNumber"]})
                break  # like BatchProcessor with ordered processing: stop at the first failure
        return {"batchItemFailures": failed}


def _publish(tag: str, names: list[str]) -> None:
    for name in names:
        wiring.events().publish(
            FollowChanged(event_id=f"{tag}{name}", occurred_at=1, follower_id=1, followee_id=2, following=True)
        )


def _pump(aws: Provisioned, consumer: FlakyConsumer) -> EventPump:
    return EventPump(consumer, get_settings(), aws.notification_queue_url, aws.failure_queue_url)


def test_a_reported_failure_is_redelivered_from_that_record_in_order(aws: Provisioned, redis: Any) -> None:
    # Given three events, the second of which fails twice before it succeeds
    tag = uuid.uuid4().hex[:8]
    consumer = FlakyConsumer(tag, {"b": 2})
    _publish(tag, ["a", "b", "c"])
    # When the pump drains the stream
    _pump(aws, consumer).drain()
    # Then delivery restarts at the failed record each time, and "a" is never delivered again
    assert consumer.delivered == ["a", "b", "b", "b", "c"]


def test_a_record_that_keeps_failing_is_archived_whole_and_the_rest_flows(aws: Provisioned, redis: Any) -> None:
    # Given a poison event between two good ones
    tag = uuid.uuid4().hex[:8]
    consumer = FlakyConsumer(tag, {"poison": 1000})
    _publish(tag, ["before", "poison", "after"])
    # When the pump drains the stream
    _pump(aws, consumer).drain()
    # Then the poison record was tried once plus its retries, then set aside; the next one was delivered
    assert consumer.delivered.count("poison") == 1 + 3
    assert consumer.delivered[-1] == "after"
    # And it is in the failure archive whole, as Lambda's S3 on-failure destination writes it
    archive = FailureArchive(client("s3"), get_settings().failure_archive_bucket)
    archived = [archive.read(key) for key in archive.record_keys()]
    (poisoned,) = [
        a
        for a in archived
        if any("kinesis" in r and f"{tag}poison" in base64.b64decode(r["kinesis"]["data"]).decode() for r in a.records)
    ]
    assert poisoned.function_arn.endswith(":function:aperture-post_ingest")
    assert poisoned.condition == "RetryAttemptsExhausted"
    archive.delete(poisoned.key)


class RefusingCdn:
    """Stands in for CloudFront behind the real cdn_invalidate: records each request, refuses chosen prefixes."""

    def __init__(self, refusals: dict[str, int]) -> None:
        self.refusals = dict(refusals)
        self.requests: list[tuple[str, str]] = []

    def invalidate(self, prefix: str, reference: str) -> str | None:
        self.requests.append((prefix, reference))
        if self.refusals.get(prefix, 0) > 0:
            self.refusals[prefix] -= 1
            error = {"Error": {"Code": "TooManyInvalidationsInProgress", "Message": "too many wildcard paths"}}
            raise ClientError(error, "CreateInvalidation")
        return f"I-{reference}"


def _invalidating(monkeypatch: pytest.MonkeyPatch, refusals: dict[str, int]) -> RefusingCdn:
    cdn = RefusingCdn(refusals)
    monkeypatch.setattr(wiring, "cdn_invalidator", lambda: CdnInvalidator(cdn))
    return cdn


def _queue_is_empty(url: str) -> bool:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return all(attributes[name] == "0" for name in names)


def test_a_queue_message_reported_failed_comes_back_alone_under_its_id(
    aws: Provisioned, pump: EventPump, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three queued invalidations, the second of which CloudFront refuses twice
    tag = uuid.uuid4().int % 10**9
    prefixes = [f"images/{tag}/{n}/" for n in range(3)]
    cdn = _invalidating(monkeypatch, {prefixes[1]: 2})
    wiring.cdn_invalidations().enqueue([CdnInvalidation(prefix=p) for p in prefixes])
    # When the pump delivers them to cdn_invalidate (one batch, as the partial batch response is honoured)
    pump.drain()
    # Then the refused message alone came back, each time under the same caller reference (its message id), and
    # the others were deleted after their one delivery
    sent = {p: [reference for prefix, reference in cdn.requests if prefix == p] for p in prefixes}
    assert [len(sent[p]) for p in prefixes] == [1, 3, 1]
    assert len(set(sent[prefixes[1]])) == 1
    assert len({references[0] for references in sent.values()}) == 3  # one reference per message
    assert _queue_is_empty(get_settings().queue_cdn_invalidations)


def test_a_queue_message_that_keeps_failing_is_dead_lettered_after_its_receives(
    aws: Provisioned, pump: EventPump, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a queued invalidation CloudFront always refuses, next to one it accepts, and a pump of our own whose
    # failure queue stands for the dead-letter queue
    tag = uuid.uuid4().int % 10**9
    refused, accepted = f"images/{tag}/1/", f"images/{tag}/2/"
    cdn = _invalidating(monkeypatch, {refused: 1000})
    dead_letters = client("sqs").create_queue(QueueName=f"test-dead-letters-{tag}")["QueueUrl"]
    own_pump = EventPump(invoke, get_settings(), aws.notification_queue_url, dead_letters)
    # (the queue alone: a new pump's stream cursors would start at the session's first record and replay them all)
    own_pump._sources = {"sqs:cdn_invalidate": own_pump._sources["sqs:cdn_invalidate"]}
    wiring.cdn_invalidations().enqueue([CdnInvalidation(prefix=refused), CdnInvalidation(prefix=accepted)])
    # When the pump drains the queue
    own_pump.drain()
    # Then the refused message was tried max_receives times, the other once, and the queue is empty
    trigger = function("cdn_invalidate").trigger
    assert isinstance(trigger, SqsTrigger)
    assert [prefix for prefix, _ in cdn.requests].count(refused) == trigger.max_receives
    assert [prefix for prefix, _ in cdn.requests].count(accepted) == 1
    assert _queue_is_empty(get_settings().queue_cdn_invalidations)
    # And the refused message is kept, whole, where the dead-letter queue would keep it
    (kept,) = client("sqs").receive_message(QueueUrl=dead_letters, MaxNumberOfMessages=10)["Messages"]
    failure = json.loads(kept["Body"])
    assert failure["function"] == "cdn_invalidate"
    assert CdnInvalidation.model_validate_json(failure["payload"]["body"]).prefix == refused
