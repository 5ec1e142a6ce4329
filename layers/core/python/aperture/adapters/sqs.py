"""Job queues on SQS."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aperture.ports import Job

SEND_BATCH = 10  # SendMessageBatch's limit


class JobQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._sqs = client
        self._url = queue_url

    def enqueue(self, jobs: Iterable[Job]) -> int:
        """Send jobs in batches of ten; raises if SQS refuses any (the caller's retry sends them again)."""
        pending = [job.model_dump_json() for job in jobs]
        for start in range(0, len(pending), SEND_BATCH):
            entries = [
                {"Id": str(i), "MessageBody": body} for i, body in enumerate(pending[start : start + SEND_BATCH])
            ]
            response = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
            if response.get("Failed"):
                raise RuntimeError(f"SQS refused {len(response['Failed'])} jobs: {response['Failed'][0]}")
        return len(pending)
