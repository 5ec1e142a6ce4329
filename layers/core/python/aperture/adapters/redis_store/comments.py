"""Cached comment previews: the first comments of each post, as the JSON the post object shows."""

from __future__ import annotations

import json
from typing import Any

from aperture.adapters.redis_store.client import PipelineBatch, Slot, per_id


def comment_preview_key(post_id: int) -> str:
    return f"comments:{{{post_id}}}:preview"


class CommentPreviewCache:
    """The first comments of each post, as the JSON the post object shows, cached until a change."""

    def __init__(self, client: Any, ttl_seconds: int = 86_400) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    def queue_get(self, batch: PipelineBatch, post_ids: list[int]) -> Slot[dict[int, list[dict[str, Any]]]]:
        return batch.queue(
            per_id(lambda pipe, post_id: pipe.get(comment_preview_key(post_id)), post_ids),
            lambda replies: {p: json.loads(v) for p, v in zip(post_ids, replies, strict=True) if v},
        )

    def get_many(self, post_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        if not post_ids:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for post_id in post_ids:
            pipe.get(comment_preview_key(post_id))
        return {p: json.loads(v) for p, v in zip(post_ids, pipe.execute(), strict=True) if v is not None}

    def put(self, post_id: int, preview: list[dict[str, Any]]) -> None:
        self._redis.set(comment_preview_key(post_id), json.dumps(preview), ex=self._ttl)

    def forget(self, post_id: int) -> None:
        self._redis.delete(comment_preview_key(post_id))
