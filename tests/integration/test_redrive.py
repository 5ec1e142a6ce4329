"""A poison stream record: the rest of its batch flows, it is archived whole after its retries, and the redrive gives
it back to its function once the poison is fixed, then forgets it (docs/reliability.md)."""

from __future__ import annotations

import base64
import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from aperture import wiring
from aperture.adapters.aws import client
from aperture.adapters.failure_archive import FailureArchive, archive_key
from aperture.clock import ShiftedClock
from aperture.models.records import Notification
from aperture.resources import FUNCTION_TAG
from aperture.settings import get_settings
from local.invoke import invoke
from local.pump import EventPump, invocation_record
from local.redrive import aws_redrive, local_redrive
from local.runtime import _controls
from local.seeding import Account
from tests.faults import InjectedFaultError
from tests.support import Api, follow_event

KEY = re.compile(
    r"^aws/lambda/[0-9a-f-]{36}/shardId-\d+/\d{4}/\d{2}/\d{2}/\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2}-[0-9a-f-]{36}$"
)


class RefusingOneRecipient:
    """The notification repository, except that writes for one recipient fail (the poison) until it is fixed."""

    def __init__(self, port: Any, recipient: int) -> None:
        self._port = port
        self.recipient = recipient
        self.fixed = False
        self.refused = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._port, name)

    def create(self, notification: Notification) -> Any:
        if not self.fixed and notification.user_id == self.recipient:
            self.refused += 1
            raise InjectedFaultError(f"cannot write user {self.recipient}'s notifications")
        return self._port.create(notification)


def _follows_of(api: Api, who: Account) -> list[str]:
    response = api.call("GET", "/notifications", who)
    assert response.status_code == 200, response.json
    return [n["actor"]["user_id"] for n in response.json["items"] if n["type"] == "follow"]


def _archive() -> FailureArchive:
    return FailureArchive(client("s3"), get_settings().failure_archive_bucket)


def test_a_poison_record_is_archived_whole_and_redriven_once_fixed(
    api: Api, pump: EventPump, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given notify (the real function, through the pump) unable to write dave's notifications
    alice, bob, carol, dave, erin, frank = (api.sign_up(n) for n in ("alice", "bob", "carol", "dave", "erin", "frank"))
    refusing = RefusingOneRecipient(wiring.notification_repository(), int(dave.user_id))
    monkeypatch.setattr(wiring, "notification_repository", lru_cache(maxsize=1)(lambda: refusing))
    wiring.notifier.cache_clear()
    started = datetime.now(UTC).replace(microsecond=0)
    # When three follows reach the events stream in one batch, the middle one for dave
    poison = follow_event(carol, dave)
    for event in (follow_event(alice, bob), poison, follow_event(erin, frank)):
        wiring.events().publish(event)
    pump.drain()
    # Then the records around the poison were handled (partial batch failure), and dave has nothing yet
    assert _follows_of(api, bob) == [alice.user_id]
    assert _follows_of(api, frank) == [erin.user_id]
    assert _follows_of(api, dave) == []
    assert refusing.refused == 1 + 3  # the first delivery and notify's three retries
    # And the poison record is in the failure archive, whole, as Lambda's S3 destination writes it
    archive = _archive()
    keys = list(archive.record_keys(since=started))
    archived = [archive.read(key) for key in keys]
    (failure,) = [f for f in archived if f.function_arn.endswith(":function:aperture-notify")]
    assert KEY.fullmatch(failure.key)
    (record,) = failure.records
    assert json.loads(base64.b64decode(record["kinesis"]["data"]))["event_id"] == poison.event_id
    raw = json.loads(
        client("s3").get_object(Bucket=get_settings().failure_archive_bucket, Key=failure.key)["Body"].read()
    )
    assert isinstance(raw["payload"], str)  # the event itself, as a JSON string
    assert raw["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert raw["requestContext"]["approximateInvokeCount"] == 4
    info = raw["KinesisBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == record["kinesis"]["sequenceNumber"]
    assert info["streamArn"] == record["eventSourceARN"]
    assert failure.key.split("/")[3] == info["shardId"] == record["eventID"].split(":")[0]

    # When the redrive runs while the poison is still there
    still_failing = local_redrive(invoke, get_settings(), "notify", started)
    # Then the redelivery fails and the record stays for another try
    assert list(still_failing.failed) == [failure.key]
    assert failure.key in set(archive.record_keys(since=started))
    assert _follows_of(api, dave) == []

    # When the poison is fixed and the redrive runs again
    refusing.fixed = True
    report = local_redrive(invoke, get_settings(), "notify", started)
    # Then the record was given back to notify, dave is notified once, and the record is gone
    assert report.redelivered == [failure.key] and report.failed == {}
    assert _follows_of(api, dave) == [carol.user_id]
    assert failure.key not in set(archive.record_keys(since=started))
    # And a second redrive has nothing left to do; nobody is notified twice
    assert local_redrive(invoke, get_settings(), "notify", started).redelivered == []
    assert _follows_of(api, dave) == [carol.user_id]
    assert _follows_of(api, bob) == [alice.user_id]


def _archived_failure(mapping_id: str, event: dict[str, Any], function_arn: str) -> tuple[str, dict[str, Any]]:
    at = datetime.now(UTC)
    stream = "arn:aws:kinesis:us-east-1:123456789012:stream/aperture-events"
    key = archive_key(mapping_id, "shardId-000000000000", at)
    return key, invocation_record(function_arn, stream, "shardId-000000000000", event["Records"], at)


def _kinesis_event(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": "1",
                    "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
                    "data": base64.b64encode(json.dumps(data).encode()).decode(),
                    "approximateArrivalTimestamp": 1545084650.987,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": "shardId-000000000000:49590338271490256608559692538361571095921575989136588898",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/notify",
                "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/aperture-events",
            }
        ]
    }


def _payload(body: dict[str, Any]) -> StreamingBody:
    raw = json.dumps(body).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def test_on_aws_the_redrive_invokes_the_function_that_gave_up_and_deletes_only_what_it_handled(aws: Any) -> None:
    # Given a deployment's archive bucket (moto) with two of notify's failed batches and one of post_ingest's
    s3 = client("s3")
    bucket = f"aperture-failures-{uuid.uuid4().hex[:12]}-us-east-1"
    s3.create_bucket(Bucket=bucket)
    archive = FailureArchive(s3, bucket)
    notify = "arn:aws:lambda:us-east-1:210987654321:function:Aperture-Service-FunctionsNotifyFunction-AbC123"
    ingest = "arn:aws:lambda:us-east-1:210987654321:function:Aperture-Service-FunctionsPostIngestFunc-DeF456"
    archived = {}
    # (mapping ids chosen so the keys list in this order)
    for name, mapping, arn in (("handled", "1", notify), ("refused", "2", notify), ("other", "3", ingest)):
        key, record = _archived_failure(str(uuid.UUID(int=int(mapping))), _kinesis_event({"n": name}), arn)
        archive.put(key, record)
        archived[name] = key
    # And Lambda (stubbed: invoking needs a deployment) answering for notify: one batch handled, one failed again
    lambda_client = boto3.session.Session().client(
        "lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x", endpoint_url=None
    )
    answers = {"handled": {"batchItemFailures": []}, "refused": {"batchItemFailures": [{"itemIdentifier": "4959"}]}}
    with Stubber(lambda_client) as stub:
        # (in the order the redrive asks: whose is the first record, then each of its batches, then the next ARN)
        stub.add_response("list_tags", {"Tags": {FUNCTION_TAG: "notify"}}, {"Resource": notify})
        for name, answer in answers.items():
            event = archive.read(archived[name]).event
            request = {
                "FunctionName": notify,
                "InvocationType": "RequestResponse",
                "Payload": json.dumps(event).encode(),
            }
            stub.add_response("invoke", {"StatusCode": 200, "Payload": _payload(answer)}, request)
        stub.add_response("list_tags", {"Tags": {FUNCTION_TAG: "post_ingest"}}, {"Resource": ingest})
        # When the operator redrives notify's batches
        report = aws_redrive(s3, lambda_client, bucket, "notify", since=datetime.now(UTC) - timedelta(minutes=5))
        stub.assert_no_pending_responses()
    # Then the batch notify handled is deleted, the one it failed again is kept, and post_ingest's is untouched
    assert report.redelivered == [archived["handled"]]
    assert list(report.failed) == [archived["refused"]]
    assert set(archive.record_keys()) == {archived["refused"], archived["other"]}


def test_the_local_control_route_redrives_and_refuses_what_is_not_a_stream_consumer(api: Api, pump: EventPump) -> None:
    controls = _controls(pump, ShiftedClock(), {}, invoke)

    def post(body: dict[str, Any]) -> Any:
        return controls["redrive"](Request(EnvironBuilder(method="POST", json=body).get_environ()), "")

    # A function that no stream triggers has nothing archived: refused with the API's error shape
    refused = post({"function": "feed"})
    assert refused.status_code == 422
    assert json.loads(refused.get_data())["error"]["code"] == "invalid_request"
    assert post({"since": "yesterday"}).status_code == 422
    # A redrive of nothing archived since now does nothing, and says so
    answer = post({"function": "notify", "since": datetime.now(UTC).isoformat()})
    assert answer.status_code == 200
    assert json.loads(answer.get_data()) | {"delivered": 0} == {
        "redelivered": [],
        "failed": {},
        "unreadable": {},
        "delivered": 0,
    }
