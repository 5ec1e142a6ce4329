"""The event pump: delivers S3 notifications, Kinesis records and DynamoDB stream records to their functions, as
Lambda would.

S3 notifications arrive through an SQS queue (moto relays them there); each is an asynchronous invoke
retried twice, then sent to the failure queue. Kinesis and DynamoDB stream records go to each consumer in batches,
in order per shard; a reported item failure checkpoints before it and redelivers from there, up to the trigger's
retry limit, after which the record is written whole to the failure archive bucket, as Lambda's S3 on-failure
destination writes it (the invocation record, the batch in its payload), and the consumer moves on. Job-queue
messages a consumer keeps failing go to the failure queue (on AWS, the queue's own dead-letter queue).
"""

from __future__ import annotations

import base64
import functools
import json
import sys
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aperture.adapters.aws import client
from aperture.adapters.failure_archive import FailureArchive, archive_key
from aperture.resources import FUNCTIONS, KinesisTrigger, SqsTrigger, TableStreamTrigger
from aperture.settings import Settings
from local.invoke import function_arn

Invoke = Callable[[str, dict[str, Any]], Any]
ASYNC_ATTEMPTS = 3  # Lambda retries a failed asynchronous invoke twice
SQS_RECEIVE_MAX = 10
# An idle poller looks less and less often, up to this; any activity (an API request, a delivery) wakes them all.
IDLE_MAX_SECONDS = 1.0


@dataclass
class _Cursor:
    """Where one consumer stands in one shard."""

    checkpoint: str | None = None  # last sequence number handled
    failed_at: str | None = None
    attempts: int = 0


class EventPump:
    def __init__(self, invoke: Invoke, settings: Settings, notification_queue_url: str, failure_queue_url: str) -> None:
        self._invoke = invoke
        self._settings = settings
        self.notification_queue_url = notification_queue_url
        self._failures = failure_queue_url
        self._cursors: dict[tuple[str, str, str], _Cursor] = {}
        # One poller per source, as on AWS: S3 notifications and each Kinesis consumer move independently,
        # so a post is fanned out while its upload's AVIF renditions are still being encoded.
        self._sources: dict[str, Callable[[], int]] = {"s3:media_process": self._pump_notifications}
        for fn in FUNCTIONS:
            if isinstance(fn.trigger, KinesisTrigger):
                self._sources[f"kinesis:{fn.name}"] = functools.partial(self._pump_stream, fn.name, fn.trigger)
            elif isinstance(fn.trigger, TableStreamTrigger):
                self._sources[f"dynamodb:{fn.name}"] = functools.partial(self._pump_table, fn.name, fn.trigger)
            elif isinstance(fn.trigger, SqsTrigger):
                self._sources[f"sqs:{fn.name}"] = functools.partial(self._pump_queue, fn.name, fn.trigger)
        self._locks = {name: threading.Lock() for name in self._sources}
        self._table_streams: dict[str, str] = {}  # table name -> its stream's ARN
        self._activity = threading.Condition()
        self._generation = 0
        self._deliveries = 0  # by every poller and by drain(), so drain() can tell a pass that was truly quiet

    def nudge(self) -> None:
        """Something may have produced events (an API request, a delivery): every poller looks again at once."""
        with self._activity:
            self._generation += 1
            self._activity.notify_all()

    def _rest(self, stop: threading.Event, seen: int, seconds: float) -> int:
        """Wait up to `seconds`, or until nudged or stopped; returns the activity generation seen."""
        with self._activity:
            self._activity.wait_for(lambda: stop.is_set() or self._generation != seen, timeout=seconds)
            return self._generation

    def _pump_source(self, name: str) -> int:
        with self._locks[name]:
            handled = self._sources[name]()
        if handled:
            with self._activity:
                self._deliveries += handled
        return handled

    def hold(self, source: str) -> threading.Lock:
        """Keep one source (e.g. "s3:media_process") from being delivered until the returned lock is released: for
        a bench that delivers that source's events itself."""
        lock = self._locks[source]
        lock.acquire()
        return lock

    def pump_once(self) -> int:
        """One pass over every source; returns how many events it delivered."""
        return sum(self._pump_source(name) for name in self._sources)

    def drain(self, max_passes: int = 1000) -> int:
        """Deliver until a whole pass finds nothing left, including what delivering produced.

        A source busy in a background poller is waited for, so what it is handling counts as handled; and a pass
        is quiet only if no poller delivered anything meanwhile either, since what a poller delivered may have
        produced events for a source this pass had already looked at.
        """
        total = 0
        for _ in range(max_passes):
            before = self._deliveries
            handled = self.pump_once()
            total += handled
            if handled == 0 and self._deliveries == before:
                return total
        raise RuntimeError(f"events were still arriving after {max_passes} passes")

    def run_in_background(self, stop: threading.Event, idle_seconds: float) -> list[threading.Thread]:
        """Start a poller thread per source; each stops when `stop` is set (and the pump is nudged).

        A poller that finds nothing waits `idle_seconds`, then twice as long each time up to IDLE_MAX_SECONDS, so
        an idle platform costs little CPU; a nudge, or a delivery by any poller, brings them all back at once.
        """

        def poll(name: str) -> None:
            wait, seen = idle_seconds, self._generation
            while not stop.is_set():
                try:
                    handled = self._pump_source(name)
                except Exception as error:  # keep polling: one bad event must not stop local delivery
                    print(f"event pump ({name}): {error!r}", file=sys.stderr, flush=True)
                    handled = 0
                if handled:
                    self.nudge()  # what was delivered may have produced events for the other sources
                    wait, seen = idle_seconds, self._generation
                    continue
                woken = self._rest(stop, seen, wait)
                wait = idle_seconds if woken != seen else min(wait * 2, IDLE_MAX_SECONDS)
                seen = woken

        threads = [
            threading.Thread(target=poll, args=(name,), name=f"pump-{name}", daemon=True) for name in self._sources
        ]
        for thread in threads:
            thread.start()
        return threads

    def _pump_notifications(self) -> int:
        sqs = client("sqs")
        handled = 0
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.notification_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return handled
            for message in messages:
                event = json.loads(message["Body"])
                if "Records" in event:  # not the s3:TestEvent sent when notifications are configured
                    self._invoke_async("media_process", event)
                    handled += 1
                sqs.delete_message(QueueUrl=self.notification_queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _invoke_async(self, name: str, event: dict[str, Any]) -> None:
        for attempt in range(1, ASYNC_ATTEMPTS + 1):
            try:
                self._invoke(name, event)
                return
            except Exception as error:
                traceback.print_exc()
                if attempt == ASYNC_ATTEMPTS:
                    self._send_failure(name, event, repr(error))

    def _pump_queue(self, name: str, trigger: SqsTrigger) -> int:
        """One batch from a job queue, as an SQS event source mapping with ReportBatchItemFailures delivers it."""
        sqs = client("sqs")
        url = getattr(self._settings, f"queue_{trigger.queue}")
        messages: list[dict[str, Any]] = []
        while len(messages) < trigger.batch_size:  # a receive returns at most ten
            received = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(SQS_RECEIVE_MAX, trigger.batch_size - len(messages)),
                WaitTimeSeconds=0,
                AttributeNames=["All"],
            ).get("Messages", [])
            if not received:
                break
            messages += received
        if not messages:
            return 0
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{self._settings.region}:123456789012:{url.rsplit('/', 1)[-1]}",
                "awsRegion": self._settings.region,
            }
            for m in messages
        ]
        try:
            response = self._invoke(name, {"Records": records}) or {}
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception:
            traceback.print_exc()
            failed = {r["messageId"] for r in records}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            elif int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1")) >= trigger.max_receives:
                self._send_failure(name, {"body": message["Body"]}, "receives exhausted (dead-letter queue)")
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            else:  # visible again at once, rather than after the visibility timeout
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
        return len(messages)

    def _send_failure(self, name: str, payload: dict[str, Any], reason: str) -> None:
        print(f"event pump: {name} gave up on an event: {reason}", file=sys.stderr, flush=True)
        body = json.dumps({"function": name, "reason": reason, "payload": payload}, default=str)
        client("sqs").send_message(QueueUrl=self._failures, MessageBody=body)

    def _pump_stream(self, name: str, trigger: KinesisTrigger) -> int:
        kinesis = client("kinesis")
        stream_name = getattr(self._settings, f"stream_{trigger.stream}")
        description = kinesis.describe_stream(StreamName=stream_name)["StreamDescription"]
        handled = 0
        for shard in description["Shards"]:
            cursor = self._cursors.setdefault((name, stream_name, shard["ShardId"]), _Cursor())
            position: dict[str, Any] = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": cursor.checkpoint}
                if cursor.checkpoint
                else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            iterator = kinesis.get_shard_iterator(StreamName=stream_name, ShardId=shard["ShardId"], **position)[
                "ShardIterator"
            ]
            records = kinesis.get_records(ShardIterator=iterator, Limit=trigger.batch_size)["Records"]
            if not records:
                continue
            event = {"Records": [self._kinesis_record(r, shard["ShardId"], description) for r in records]}
            handled += len(records)
            sequences = [r["SequenceNumber"] for r in records]
            self._deliver_batch(name, trigger, cursor, event, sequences, (description["StreamARN"], shard["ShardId"]))
        return handled

    def _pump_table(self, name: str, trigger: TableStreamTrigger) -> int:
        """A DynamoDB table's stream, shard by shard, with the same batch semantics as a Kinesis stream."""
        streams = client("dynamodbstreams")
        table_name = getattr(self._settings, f"table_{trigger.table}")
        if table_name not in self._table_streams:
            table = client("dynamodb").describe_table(TableName=table_name)["Table"]
            self._table_streams[table_name] = table["LatestStreamArn"]
        arn = self._table_streams[table_name]
        handled = 0
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            cursor = self._cursors.setdefault((name, arn, shard["ShardId"]), _Cursor())
            position: dict[str, Any] = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": cursor.checkpoint}
                if cursor.checkpoint
                else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], **position)["ShardIterator"]
            records = streams.get_records(ShardIterator=iterator, Limit=trigger.batch_size)["Records"]
            if not records:
                continue
            event = {"Records": [self._table_record(r, arn) for r in records]}
            handled += len(records)
            sequences = [r["dynamodb"]["SequenceNumber"] for r in records]
            self._deliver_batch(name, trigger, cursor, event, sequences, (arn, shard["ShardId"]))
        return handled

    def _table_record(self, record: dict[str, Any], arn: str) -> dict[str, Any]:
        created = record["dynamodb"].get("ApproximateCreationDateTime")
        return {
            **{k: v for k, v in record.items() if k != "dynamodb"},
            "dynamodb": {
                **record["dynamodb"],
                "ApproximateCreationDateTime": created.timestamp() if hasattr(created, "timestamp") else created,
            },
            "eventSourceARN": arn,
            "awsRegion": self._settings.region,
        }

    def _deliver_batch(
        self,
        name: str,
        trigger: KinesisTrigger | TableStreamTrigger,
        cursor: _Cursor,
        event: dict[str, Any],
        sequences: list[str],
        shard: tuple[str, str],  # the stream's ARN and the shard's id
    ) -> None:
        raised = False
        try:
            response = self._invoke(name, event) or {}
            failed = [f["itemIdentifier"] for f in response.get("batchItemFailures", [])]
        except Exception:
            traceback.print_exc()
            failed, raised = [sequences[0]], True  # the whole batch failed
        if not failed:
            cursor.checkpoint, cursor.failed_at, cursor.attempts = sequences[-1], None, 0
            return
        first = min(failed, key=lambda s: sequences.index(s) if s in sequences else 0)
        index = sequences.index(first) if first in sequences else 0
        if cursor.failed_at == first:
            cursor.attempts += 1
        else:
            cursor.failed_at, cursor.attempts = first, 1
        if cursor.attempts > trigger.max_retries:
            # Retries spent: hand the record to the on-failure destination and carry on after it.
            self._archive_failure(name, [event["Records"][index]], shard, cursor.attempts, raised)
            cursor.checkpoint, cursor.failed_at, cursor.attempts = first, None, 0
        elif index > 0:
            cursor.checkpoint = sequences[index - 1]

    def _archive_failure(
        self, name: str, records: list[dict[str, Any]], shard: tuple[str, str], attempts: int, raised: bool
    ) -> None:
        """Write what Lambda's S3 on-failure destination writes: the invocation record with the whole batch."""
        stream_arn, shard_id = shard
        print(f"event pump: {name} gave up on a batch of {stream_arn} ({shard_id})", file=sys.stderr, flush=True)
        now = datetime.now(UTC)
        function = function_arn(name, self._settings.region)
        # Lambda names the object by the event source mapping's id; locally one id per function and stream.
        mapping_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{function}|{stream_arn}"))
        record = invocation_record(function, stream_arn, shard_id, records, now)
        record["requestContext"]["approximateInvokeCount"] = attempts
        if raised:
            record["responseContext"]["functionError"] = "Unhandled"
        archive = FailureArchive(client("s3"), self._settings.failure_archive_bucket)
        archive.put(archive_key(mapping_id, shard_id, now), record)

    def _kinesis_record(self, record: dict[str, Any], shard_id: str, stream: dict[str, Any]) -> dict[str, Any]:
        arrival = record.get("ApproximateArrivalTimestamp")
        return {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": record["PartitionKey"],
                "sequenceNumber": record["SequenceNumber"],
                "data": base64.b64encode(record["Data"]).decode(),
                "approximateArrivalTimestamp": arrival.timestamp() if arrival else 0,
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard_id}:{record['SequenceNumber']}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": "arn:aws:iam::123456789012:role/local",
            "awsRegion": self._settings.region,
            "eventSourceARN": stream["StreamARN"],
        }


def _iso(seconds: float, milliseconds: bool = True) -> str:
    at = datetime.fromtimestamp(seconds, UTC)
    return at.isoformat(timespec="milliseconds" if milliseconds else "seconds").replace("+00:00", "Z")


def invocation_record(
    function: str, stream_arn: str, shard_id: str, records: list[dict[str, Any]], at: datetime
) -> dict[str, Any]:
    """The invocation record Lambda writes for a stream batch it gave up on, with the whole batch as `payload`.

    Shape as documented for Kinesis (KinesisBatchInfo) and DynamoDB Streams (DDBStreamBatchInfo) on-failure
    destinations; to S3 the event itself comes too, as a JSON string.
    """
    kinesis = records[0].get("eventSource") == "aws:kinesis"
    if kinesis:
        sequences = [r["kinesis"]["sequenceNumber"] for r in records]
        arrivals = [float(r["kinesis"].get("approximateArrivalTimestamp") or 0) for r in records]
    else:
        sequences = [r["dynamodb"]["SequenceNumber"] for r in records]
        arrivals = [float(r["dynamodb"].get("ApproximateCreationDateTime") or 0) for r in records]
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 1,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "version": "1.0",
        "timestamp": _iso(at.timestamp()),
        "KinesisBatchInfo" if kinesis else "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": sequences[0],
            "endSequenceNumber": sequences[-1],
            "approximateArrivalOfFirstRecord": _iso(arrivals[0], milliseconds=kinesis),
            "approximateArrivalOfLastRecord": _iso(arrivals[-1], milliseconds=kinesis),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
        "payload": json.dumps({"Records": records}),
    }
