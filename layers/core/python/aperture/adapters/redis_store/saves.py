"""Each user's saved post ids, cached whole for "saved by me" (a set with a marker), and its change generation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aperture.adapters.redis_store.client import PipelineBatch, Slot

# The set holds the user's saved post ids and one marker: LOADED (the whole list is here) or OVER (the user saved more
# than SAVED_CACHE_CAP posts: the set holds nothing else, and DynamoDB answers for each page). Without a marker the
# list is not cached. It lives SAVED_CACHE_SECONDS after it was loaded (reads do not extend it), so a change whose
# invalidation was lost (Redis unreachable for that moment) is forgotten at the latest then.
LOADED, OVER = "loaded", "over"
SAVED_CACHE_CAP = 5_000
SAVED_CACHE_SECONDS = 6 * 3_600


def saved_keys(user_id: int) -> tuple[str, str]:
    """(set, generation) of a user's saves; one hash tag, so the load script may use both in cluster mode."""
    tag = f"saved:{{{user_id}}}"
    return f"{tag}:set", f"{tag}:gen"


# A load writes the list it read from DynamoDB only if no save or unsave came since it looked (the generation it saw
# is still there): a change committed after the load's read bumps the generation, so an older list never lands.
# KEYS: set, generation. ARGV[1]: the generation seen ('' if none), ARGV[2]: seconds, ARGV[3..]: marker, then ids.
_LOAD = """
local gen = redis.call('GET', KEYS[2]) or ''
if gen ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SADD', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


@dataclass(frozen=True)
class SavedLookup:
    """What one pipelined read found: whether the list is cached (or too long to be), each post's membership, and
    the generation to load against otherwise."""

    loaded: bool
    over: bool
    members: list[bool]
    generation: str


class SavedCache:
    def __init__(self, client: Any) -> None:
        self._redis = client
        self._load = client.register_script(_LOAD)

    def queue_lookup(self, batch: PipelineBatch, user_id: int, post_ids: list[int]) -> Slot[SavedLookup]:
        """Per post, is it in the user's cached list; plain commands, as cluster pipelines refuse scripts."""
        set_key, gen_key = saved_keys(user_id)

        def commands(pipe: Any) -> int:
            for member in (LOADED, OVER, *post_ids):
                pipe.sismember(set_key, member)
            pipe.get(gen_key)
            return len(post_ids) + 3

        def parse(replies: list[Any]) -> SavedLookup:
            loaded, over, *members, generation = replies
            return SavedLookup(bool(loaded), bool(over), [bool(m) for m in members], generation or "")

        return batch.queue(commands, parse)

    def load(self, user_id: int, generation: str, post_ids: Iterable[int] | None) -> bool:
        """Cache the user's whole list (None: too long to cache), unless it changed since `generation` was read."""
        members = [OVER] if post_ids is None else [LOADED, *post_ids]
        return bool(self._load(keys=list(saved_keys(user_id)), args=[generation, SAVED_CACHE_SECONDS, *members]))

    def invalidate(self, user_id: int) -> None:
        """After a committed save or unsave: drop the cached list, and bump the generation so that no load that
        read DynamoDB before the change writes its older list."""
        set_key, gen_key = saved_keys(user_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.incr(gen_key)
        pipe.expire(gen_key, SAVED_CACHE_SECONDS)
        pipe.delete(set_key)
        pipe.execute()

    def forget_post(self, user_ids: Iterable[int], post_id: int) -> None:
        """A deleted post leaves its savers' cached lists."""
        pipe = self._redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.srem(saved_keys(user_id)[0], post_id)
        pipe.execute()
