"""Publishing domain events to a Kinesis stream."""

from __future__ import annotations

from typing import Any

from aperture.ports import Event


class EventPublisher:
    def __init__(self, client: Any, stream_name: str) -> None:
        self._kinesis = client
        self._stream = stream_name

    def publish(self, event: Event) -> None:
        self._kinesis.put_record(
            StreamName=self._stream,
            Data=event.model_dump_json().encode(),
            PartitionKey=event.partition_key,
        )
