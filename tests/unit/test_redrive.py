"""The failure archive's records as Lambda writes them, and the redrive that gives them back and then forgets them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from aperture.adapters.failure_archive import ArchivedFailure, FailureArchive, archive_key, archived_at, parse_record
from aperture.redrive import RedeliveryFailedError, Redrive, check_handled
from local.invoke import declared_name, function_arn
from local.pump import invocation_record
from local.redrive import deployed_bucket

AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
NOTIFY = "arn:aws:lambda:us-east-1:123456789012:function:aperture-notify"
STREAM = "arn:aws:kinesis:us-east-1:123456789012:stream/aperture-events"
KINESIS_RECORD = {
    "kinesis": {"sequenceNumber": "495", "data": "e30=", "partitionKey": "1", "approximateArrivalTimestamp": 1.5},
    "eventSource": "aws:kinesis",
    "eventID": "shardId-000000000000:495",
    "eventSourceARN": STREAM,
}


def test_keys_are_named_as_lambdas_s3_destination_names_them() -> None:
    key = archive_key("a1b2c3d4", "shardId-000000000001", AT, unique="u-1")
    assert key == "aws/lambda/a1b2c3d4/shardId-000000000001/2026/03/04/2026-03-04T05.06.07-u-1"
    assert archived_at(key) == AT
    assert archived_at("aws/lambda/something-else") is None


def test_a_kinesis_invocation_record_carries_its_batch_info_and_the_whole_event_as_a_string() -> None:
    record = invocation_record(NOTIFY, STREAM, "shardId-000000000000", [KINESIS_RECORD], AT)
    assert record["KinesisBatchInfo"] == {
        "shardId": "shardId-000000000000",
        "startSequenceNumber": "495",
        "endSequenceNumber": "495",
        "approximateArrivalOfFirstRecord": "1970-01-01T00:00:01.500Z",
        "approximateArrivalOfLastRecord": "1970-01-01T00:00:01.500Z",
        "batchSize": 1,
        "streamArn": STREAM,
    }
    assert record["requestContext"]["functionArn"] == NOTIFY
    assert record["timestamp"] == "2026-03-04T05:06:07.000Z"
    assert json.loads(record["payload"]) == {"Records": [KINESIS_RECORD]}


def test_a_dynamodb_stream_invocation_record_says_so() -> None:
    stream = "arn:aws:dynamodb:us-east-1:123456789012:table/aperture-outbox/stream/2026-01-01T00:00:00.000"
    item = {"eventSource": "aws:dynamodb", "dynamodb": {"SequenceNumber": "800", "ApproximateCreationDateTime": 2}}
    record = invocation_record(NOTIFY, stream, "shardId-0001", [item], AT)
    assert "KinesisBatchInfo" not in record
    info = record["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["approximateArrivalOfFirstRecord"], info["streamArn"]) == (
        "800",
        "1970-01-01T00:00:02Z",
        stream,
    )


@pytest.mark.parametrize("as_string", [True, False], ids=["payload-string", "payload-object"])
def test_a_record_is_read_back_with_its_whole_event(as_string: bool) -> None:
    record = invocation_record(NOTIFY, STREAM, "shardId-000000000000", [KINESIS_RECORD], AT)
    if not as_string:
        record["payload"] = json.loads(record["payload"])
    key = archive_key("m", "shardId-000000000000", AT)
    failure = parse_record(key, json.dumps(record).encode())
    assert (failure.function_arn, failure.archived_at, failure.condition) == (NOTIFY, AT, "RetryAttemptsExhausted")
    assert failure.records == [KINESIS_RECORD]


@pytest.mark.parametrize(
    ("key", "body"),
    [
        ("aws/lambda/notes.txt", b"{}"),
        (archive_key("m", "s", AT), b"not json"),
        (archive_key("m", "s", AT), json.dumps({"requestContext": {"functionArn": NOTIFY}}).encode()),  # SQS-like
        (archive_key("m", "s", AT), json.dumps({"requestContext": {"functionArn": NOTIFY}, "payload": "{}"}).encode()),
    ],
    ids=["foreign-key", "not-json", "metadata-only", "no-records"],
)
def test_what_is_not_a_whole_record_is_refused(key: str, body: bytes) -> None:
    with pytest.raises(ValueError):
        parse_record(key, body)


class ArchiveInMemory:
    def __init__(self, failures: dict[str, ArchivedFailure | str]) -> None:
        self.failures = dict(failures)
        self.deleted: list[str] = []

    def record_keys(self, since: datetime | None = None) -> Iterator[str]:
        yield from sorted(self.failures)

    def read(self, key: str) -> ArchivedFailure:
        failure = self.failures[key]
        if isinstance(failure, str):
            raise ValueError(failure)
        return failure

    def delete(self, key: str) -> None:
        self.deleted.append(key)
        del self.failures[key]


def _failure(key: str, function: str) -> ArchivedFailure:
    return ArchivedFailure(key, function_arn(function), AT, "RetryAttemptsExhausted", {"Records": [{"n": key}]})


def test_a_record_is_deleted_only_after_its_function_handled_all_of_it() -> None:
    # Given three archived batches of notify (one its function fails again) and one of relay
    archive = ArchiveInMemory(
        {
            "a": _failure("a", "notify"),
            "b": _failure("b", "notify"),
            "c": _failure("c", "relay"),
            "d": "not a record",
        }
    )
    delivered: list[tuple[str, str]] = []

    def deliver(failure: ArchivedFailure) -> None:
        delivered.append((str(declared_name(failure.function_arn)), failure.records[0]["n"]))
        check_handled({"batchItemFailures": [{"itemIdentifier": "1"}]} if failure.key == "b" else {})

    # When notify's batches are redriven
    report = Redrive(archive, deliver).run(lambda f: declared_name(f.function_arn) == "notify")
    # Then each went to notify once; the handled one is gone, the failed one stays, relay's is untouched
    assert delivered == [("notify", "a"), ("notify", "b")]
    assert archive.deleted == ["a"]
    assert report.redelivered == ["a"]
    assert "RedeliveryFailedError" in report.failed["b"]
    assert report.unreadable == {"d": "not a record"}
    assert not report.complete


def test_a_function_that_raises_keeps_its_record() -> None:
    archive = ArchiveInMemory({"a": _failure("a", "notify")})

    def deliver(failure: ArchivedFailure) -> None:
        raise TimeoutError("the function timed out")

    report = Redrive(archive, deliver).run()
    assert (report.redelivered, list(report.failed), archive.deleted) == ([], ["a"], [])


def test_an_answer_with_failed_records_is_a_failed_redelivery() -> None:
    check_handled({"batchItemFailures": []})
    check_handled(None)
    with pytest.raises(RedeliveryFailedError, match="1 records failed again"):
        check_handled({"batchItemFailures": [{"itemIdentifier": "495"}]})


def test_only_records_written_since_the_time_asked_are_listed() -> None:
    # Given a bucket listing (the real S3 client, stubbed) with an old record, a new one and a foreign object
    s3 = boto3.session.Session().client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    old = archive_key("m", "shardId-000000000000", datetime(2026, 1, 1, tzinfo=UTC))
    new = archive_key("m", "shardId-000000000000", datetime(2026, 2, 1, tzinfo=UTC))
    contents: list[dict[str, Any]] = [{"Key": key} for key in (old, new, "aws/lambda/README")]
    with Stubber(s3) as stub:
        stub.add_response(
            "list_objects_v2",
            {"Contents": contents, "IsTruncated": False},
            {"Bucket": "archive", "Prefix": "aws/lambda/"},
        )
        listed = list(FailureArchive(s3, "archive").record_keys(since=datetime(2026, 1, 15, tzinfo=UTC)))
    # Then the new one is listed, the old one not, and the foreign one is (to be reported, not passed over)
    assert listed == [new, "aws/lambda/README"]


def test_local_arns_name_their_declared_functions() -> None:
    assert declared_name(function_arn("notify")) == "notify"
    assert declared_name(function_arn("notify", "eu-west-1")) == "notify"
    assert declared_name("arn:aws:lambda:us-east-1:123456789012:function:aperture-nothing") is None
    assert declared_name("arn:aws:lambda:us-east-1:123456789012:function:Aperture-Service-Notify-1A2B") is None


class OneClientSession:
    """A boto3 session as deployed_bucket uses it: a region, and the (stubbed) STS client."""

    def __init__(self, region_name: str, sts: Any) -> None:
        self.region_name = region_name
        self._sts = sts

    def client(self, service: str) -> Any:
        assert service == "sts"
        return self._sts


def test_on_aws_the_archive_bucket_is_found_from_the_credentials_account_and_region() -> None:
    sts = boto3.session.Session().client(
        "sts", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    identity = {"Account": "210987654321", "Arn": "arn:aws:iam::210987654321:user/ops", "UserId": "AIDAEXAMPLE"}
    with Stubber(sts) as stub:
        stub.add_response("get_caller_identity", identity, {})
        assert deployed_bucket(OneClientSession("eu-west-1", sts)) == "aperture-failures-210987654321-eu-west-1"
