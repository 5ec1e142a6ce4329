"""Whose close friend each viewer is, cached whole per viewer (a set with a marker), with its change generation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aperture.adapters.redis_store.client import PipelineBatch, Slot

# The set holds the ids of the authors who list the viewer as a close friend, and the marker LOADED (the whole answer
# is here). Without the marker it is not cached. As for saved lists, a load writes only if the generation it read is
# unchanged, so a load that read DynamoDB before an add or removal never caches the older answer.
LOADED = "loaded"
CLOSE_OF_SECONDS = 6 * 3_600


def close_of_keys(viewer_id: int) -> tuple[str, str]:
    """(set, generation) of a viewer; one hash tag, so the load script may use both in cluster mode."""
    tag = f"cfof:{{{viewer_id}}}"
    return f"{tag}:set", f"{tag}:gen"


_LOAD = """
local gen = redis.call('GET', KEYS[2]) or ''
if gen ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SADD', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


@dataclass(frozen=True)
class CloseOfLookup:
    loaded: bool
    authors: set[int]
    generation: str


class CloseFriendsCache:
    def __init__(self, client: Any) -> None:
        self.client = client  # (the stories' reads queue this lookup with theirs)
        self._redis = client
        self._load = client.register_script(_LOAD)

    def queue_lookup(self, batch: PipelineBatch, viewer_id: int) -> Slot[CloseOfLookup]:
        set_key, gen_key = close_of_keys(viewer_id)

        def commands(pipe: Any) -> int:
            pipe.smembers(set_key)
            pipe.get(gen_key)
            return 2

        def parse(replies: list[Any]) -> CloseOfLookup:
            members, generation = replies
            authors = {int(m) for m in members if m != LOADED}
            return CloseOfLookup(LOADED in members, authors, generation or "")

        return batch.queue(commands, parse)

    def load(self, viewer_id: int, generation: str, authors: Iterable[int]) -> bool:
        """Cache the viewer's whole answer, unless it changed since `generation` was read."""
        args = [generation, CLOSE_OF_SECONDS, LOADED, *authors]
        return bool(self._load(keys=list(close_of_keys(viewer_id)), args=args))

    def invalidate(self, viewer_id: int) -> None:
        """After an add or removal naming this viewer: drop the cached answer and bump its generation."""
        set_key, gen_key = close_of_keys(viewer_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.incr(gen_key)
        pipe.expire(gen_key, CLOSE_OF_SECONDS)
        pipe.delete(set_key)
        pipe.execute()
