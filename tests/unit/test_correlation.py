"""Correlation ids: what an event carries from where it is made, and what a consumer reads from a raw record."""

from __future__ import annotations

import base64
import json

from aws_lambda_powertools.utilities.batch import EventType

from aperture.consumers import carried_correlation_id
from aperture.models.events import FanoutJob, LikeChanged, parse_event
from aperture.observability import correlated, correlation_id


def _like(**fields: object) -> LikeChanged:
    return LikeChanged(event_id="e1", occurred_at=1, post_id=2, post_author_id=3, user_id=4, liked=True, **fields)


def test_an_event_made_while_a_request_is_handled_carries_its_id_and_one_made_outside_none() -> None:
    # When an event and a job are made while a request is handled, and another event after
    with correlated("req-1"):
        during, job = _like(), FanoutJob(post_id=2, author_id=3, published_ms=1, follower_ids=(5,))
    after = _like()
    # Then the first two carry the request's id, in what is written too; the last none, and the id is gone
    assert during.correlation_id == job.correlation_id == "req-1"
    assert json.loads(during.model_dump_json())["correlation_id"] == "req-1"
    assert after.correlation_id is None and correlation_id() is None


def test_an_event_written_before_correlation_ids_still_parses_and_keeps_its_own_when_it_has_one() -> None:
    old = {"type": "like_changed", "event_id": "e1", "occurred_at": 1, "post_id": 2, "post_author_id": 3}
    old |= {"user_id": 4, "liked": True}
    # When a consumer handling another request's record parses an event without an id, and one with its own
    with correlated("consumer-run"):
        parsed_old = parse_event(json.dumps(old))
        parsed_new = parse_event(json.dumps({**old, "correlation_id": "req-9"}))
    # Then the old one is read (with the id it is handled under), and the new one keeps the request's
    assert parsed_old == _like(correlation_id="consumer-run")
    assert parsed_new is not None and parsed_new.correlation_id == "req-9"


def test_the_id_is_read_from_each_kind_of_record_a_consumer_is_handed() -> None:
    payload = _like(correlation_id="req-7").model_dump_json()
    kinesis = {"kinesis": {"data": base64.b64encode(payload.encode()).decode()}}
    outbox_insert = {"eventName": "INSERT", "dynamodb": {"NewImage": {"event": {"S": payload}}}}
    assert carried_correlation_id({"body": payload}, EventType.SQS) == "req-7"
    assert carried_correlation_id(kinesis, EventType.KinesisDataStreams) == "req-7"
    assert carried_correlation_id(outbox_insert, EventType.DynamoDBStreams) == "req-7"
    # And none from what carries none: an outbox item TTL removed, an old event, something unreadable
    assert carried_correlation_id({"eventName": "REMOVE", "dynamodb": {"Keys": {}}}, EventType.DynamoDBStreams) is None
    assert carried_correlation_id({"body": _like().model_dump_json()}, EventType.SQS) is None
    assert carried_correlation_id({"body": "not json"}, EventType.SQS) is None
    assert carried_correlation_id({"kinesis": {"data": "%%%"}}, EventType.KinesisDataStreams) is None
