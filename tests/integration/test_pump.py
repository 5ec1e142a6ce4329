"""The local event pump keeps Lambda's Kinesis semantics: order, partial-batch retries, a failure destination."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from aperture import wiring
from aperture.adapters.aws import client
from aperture.adapters.failure_archive import FailureArchive
from aperture.models.events import FollowChanged, parse_event
from aperture.settings import get_settings
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
        a for a in archived if any(f"{tag}poison" in base64.b64decode(r["kinesis"]["data"]).decode() for r in a.records)
    ]
    assert poisoned.function_arn.endswith(":function:aperture-post_ingest")
    assert poisoned.condition == "RetryAttemptsExhausted"
    archive.delete(poisoned.key)
