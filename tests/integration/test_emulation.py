"""moto as corrected by local.emulation: a cancelled transaction undoes exactly what it wrote, its stream records
included, and never puts back a state older than another request's committed write."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

from aperture import wiring
from aperture.adapters.aws import client
from aperture.settings import get_settings
from local.provision import Provisioned


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


def test_a_cancelled_transaction_leaves_items_and_stream_records_as_they_were(aws: Provisioned) -> None:
    wiring.reset()
    outbox = get_settings().table_outbox
    db = client("dynamodb")
    db.put_item(TableName=outbox, Item={"event_id": {"S": "kept"}, "note": {"S": "before"}})
    db.put_item(TableName=outbox, Item={"event_id": {"S": "there"}})
    records = len(_stream_records(outbox))
    # A transaction whose second write's condition fails: the first write and its stream record are undone
    with pytest.raises(ClientError) as refused:
        db.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": outbox,
                        "Key": {"event_id": {"S": "kept"}},
                        "UpdateExpression": "SET note = :n",
                        "ExpressionAttributeValues": {":n": {"S": "changed"}},
                    }
                },
                _put(outbox, "new-1"),
                _put(outbox, "there", condition="attribute_not_exists(event_id)"),
            ]
        )
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert db.get_item(TableName=outbox, Key={"event_id": {"S": "kept"}})["Item"]["note"] == {"S": "before"}
    assert "Item" not in db.get_item(TableName=outbox, Key={"event_id": {"S": "new-1"}})
    assert len(_stream_records(outbox)) == records


def test_cancelled_transactions_never_undo_other_requests_committed_writes(aws: Provisioned) -> None:
    wiring.reset()
    outbox = get_settings().table_outbox
    db = client("dynamodb")
    db.put_item(TableName=outbox, Item={"event_id": {"S": "taken"}})
    start = threading.Barrier(2)

    def cancelled_again_and_again() -> None:
        start.wait()
        for n in range(40):
            with pytest.raises(ClientError):
                db.transact_write_items(
                    TransactItems=[
                        _put(outbox, f"undone-{n}"),
                        _put(outbox, "taken", condition="attribute_not_exists(event_id)"),
                    ]
                )

    canceller = threading.Thread(target=cancelled_again_and_again)
    canceller.start()
    start.wait()
    for n in range(40):
        db.transact_write_items(TransactItems=[_put(outbox, f"committed-{n}")])
    canceller.join()
    kept = [db.get_item(TableName=outbox, Key={"event_id": {"S": f"committed-{n}"}}) for n in range(40)]
    assert all("Item" in found for found in kept)
    assert not any("Item" in db.get_item(TableName=outbox, Key={"event_id": {"S": f"undone-{n}"}}) for n in range(40))
