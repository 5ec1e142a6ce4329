"""moto as corrected by local.emulation: a cancelled transaction undoes exactly what it wrote, its stream records
included, and never puts back a state older than another request's committed write."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from aperture import wiring
from aperture.adapters.aws import client
from local.provision import Provisioned
from tests.support import Api


@pytest.fixture
def table(aws: Provisioned) -> Iterator[str]:
    """A table of the test's own, with a stream no consumer of the platform reads."""
    wiring.reset()
    name = f"emulation-{uuid.uuid4().hex[:8]}"
    client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "event_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "event_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    yield name
    client("dynamodb").delete_table(TableName=name)


def _stream_records(table: str) -> list[dict[str, Any]]:
    streams = client("dynamodbstreams")
    arn = client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records: list[dict[str, Any]] = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    return records


def _put(table: str, key: str, condition: str | None = None) -> dict[str, Any]:
    put: dict[str, Any] = {"TableName": table, "Item": {"event_id": {"S": key}, "note": {"S": "x"}}}
    if condition:
        put["ConditionExpression"] = condition
    return {"Put": put}


def test_a_cancelled_transaction_leaves_items_and_stream_records_as_they_were(table: str) -> None:
    table_name = table
    db = client("dynamodb")
    db.put_item(TableName=table_name, Item={"event_id": {"S": "kept"}, "note": {"S": "before"}})
    db.put_item(TableName=table_name, Item={"event_id": {"S": "there"}})
    records = len(_stream_records(table_name))
    # A transaction whose second write's condition fails: the first write and its stream record are undone
    with pytest.raises(ClientError) as refused:
        db.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table_name,
                        "Key": {"event_id": {"S": "kept"}},
                        "UpdateExpression": "SET note = :n",
                        "ExpressionAttributeValues": {":n": {"S": "changed"}},
                    }
                },
                _put(table_name, "new-1"),
                _put(table_name, "there", condition="attribute_not_exists(event_id)"),
            ]
        )
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert db.get_item(TableName=table_name, Key={"event_id": {"S": "kept"}})["Item"]["note"] == {"S": "before"}
    assert "Item" not in db.get_item(TableName=table_name, Key={"event_id": {"S": "new-1"}})
    assert len(_stream_records(table_name)) == records


def test_cancelled_transactions_never_undo_other_requests_committed_writes(table: str) -> None:
    table_name = table
    db = client("dynamodb")
    db.put_item(TableName=table_name, Item={"event_id": {"S": "taken"}})
    start = threading.Barrier(2)

    def cancelled_again_and_again() -> None:
        start.wait()
        for n in range(40):
            with pytest.raises(ClientError):
                db.transact_write_items(
                    TransactItems=[
                        _put(table_name, f"undone-{n}"),
                        _put(table_name, "taken", condition="attribute_not_exists(event_id)"),
                    ]
                )

    canceller = threading.Thread(target=cancelled_again_and_again)
    canceller.start()
    start.wait()
    for n in range(40):
        db.transact_write_items(TransactItems=[_put(table_name, f"committed-{n}")])
    canceller.join()
    kept = [db.get_item(TableName=table_name, Key={"event_id": {"S": f"committed-{n}"}}) for n in range(40)]
    assert all("Item" in found for found in kept)
    assert not any(
        "Item" in db.get_item(TableName=table_name, Key={"event_id": {"S": f"undone-{n}"}}) for n in range(40)
    )


def test_requests_to_different_functions_at_once_each_keep_their_own_caller(api: Api) -> None:
    # Given two people using two functions at the same moment: alice edits her profile, bob reads his notifications
    alice, bob = api.sign_up("alice"), api.sign_up("bob")
    start = threading.Barrier(2)
    answered: list[str] = []

    def bob_reads_his_notifications() -> None:
        start.wait()
        for _ in range(60):
            assert api.call("GET", "/notifications", bob).status_code == 200

    other = threading.Thread(target=bob_reads_his_notifications)
    other.start()
    start.wait()
    for n in range(30):
        edited = api.call("PATCH", "/me", alice, json={"display_name": f"Alice {n}"})
        assert edited.status_code == 200, edited.json
        answered.append(edited.json["username"])
    other.join()
    # Then every edit was alice's own: no request acted as another's caller
    assert set(answered) == {alice.username}
    assert api.call("GET", "/me", bob).json.get("display_name") in (None, "")


def test_signing_in_with_a_name_beyond_latin_1_is_refused_not_a_server_error(api: Api) -> None:
    # (moto's secret-hash check encoded the name as Latin-1 and failed; Cognito refuses the unknown user)
    refused = api.call("POST", "/auth/token", json={"username": "\u0002\u00e2\U00029675", "password": "Passw0rd!aaaa"})
    assert refused.status_code == 401, refused.get_data(as_text=True)
