"""Each user's affinity to authors and topics: capped sorted sets scored by engagement weight."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aperture.adapters.redis_store.client import PipelineBatch, Slot, queue_capped


def affinity_keys(user_id: int) -> tuple[str, str]:
    """(authors, topics) a user engages with: sorted sets scored by weight."""
    return f"tl:{{{user_id}}}:aff:a", f"tl:{{{user_id}}}:aff:t"


# A user's affinities keep their strongest AFFINITY_CAP authors and topics, and go AFFINITY_SECONDS after the last
# engagement (a user away that long starts afresh).
AFFINITY_CAP = 500
AFFINITY_SECONDS = 90 * 86_400


def queue_affinity(pipe: Any, key: str, member: str, weight: float) -> None:
    """Add `weight` to a user's affinity to one author or topic (a member of one of their `affinity_keys`)."""
    pipe.zincrby(key, weight, member)
    queue_capped(pipe, key, AFFINITY_CAP, AFFINITY_SECONDS)


class AffinityStore:
    """How much each user engages with each author and topic (weights: aperture.ranking.AFFINITY_WEIGHTS)."""

    def __init__(self, client: Any) -> None:
        self._redis = client

    def record(self, user_id: int, author_id: int, topics: Iterable[str], weight: float) -> None:
        authors_key, topics_key = affinity_keys(user_id)
        pipe = self._redis.pipeline(transaction=False)
        queue_affinity(pipe, authors_key, str(author_id), weight)
        for topic in topics:
            queue_affinity(pipe, topics_key, topic.lower(), weight)
        pipe.execute()

    def queue_all(self, batch: PipelineBatch, user_id: int) -> Slot[tuple[dict[int, float], dict[str, float]]]:
        """Every author and topic weight of a user, read as part of a batch."""
        authors_key, topics_key = affinity_keys(user_id)

        def commands(pipe: Any) -> int:
            pipe.zrange(authors_key, 0, -1, withscores=True)
            pipe.zrange(topics_key, 0, -1, withscores=True)
            return 2

        return batch.queue(
            commands,
            lambda replies: (
                {int(a): float(w) for a, w in replies[0]},
                {t: float(w) for t, w in replies[1]},
            ),
        )
