"""Account standing: an account switched off for everyone, suspended by a moderator or being erased by its owner.

A disabled account's tokens are refused on every request (the shared resolver asks `require_active`), and its
content is hidden from everyone (Graph.hidden_from includes every disabled account) while its records still exist:
a suspension hides them until a moderator restores the account, an erasure until the erasure worker has deleted
them. The JWT authorizer on AWS cannot know of a suspension, so the check runs in the handler path, locally and on
AWS alike: one cached read per request (`docs/benchmarks.md` gives its cost).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Literal, TypeVar

import redis

from aperture.adapters.dynamo.standing import DisabledAccountRepository
from aperture.adapters.outbox import Event
from aperture.adapters.redis_store.standing import DisabledCache
from aperture.errors import AccountDisabledError
from aperture.observability import logger

Reason = Literal["suspended", "erased"]
T = TypeVar("T")

# The disabled set as a read path of this request has already fetched it (with the blocked users, in its first
# batch): a read request's own check uses it rather than a round trip of its own.
_seen: ContextVar[frozenset[int] | None] = ContextVar("disabled_accounts_seen", default=None)

# An erased account's record outlives its erasure by the IdToken's lifetime (one hour, stacks/constructs/identity.py)
# and a margin for clock skew.
ERASED_TOMBSTONE_SECONDS = 70 * 60

# Functions without Redis keep the whole set this long in the process (a suspension reaches their read paths within
# it; their callers' own requests are refused at once, by key).
LOCAL_MEMO_SECONDS = 5.0


class AccountStanding:
    def __init__(
        self,
        repository: DisabledAccountRepository,
        cache: DisabledCache | None,
        now_ms: Callable[[], int],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._repository = repository
        self._cache = cache  # None in functions outside the VPC
        self._now_ms = now_ms
        self._monotonic = monotonic
        self._memo: tuple[float, frozenset[int]] | None = None

    def require_active(self, user_id: int) -> None:
        """Refuse (401 account_disabled) a request by a disabled account."""
        disabled = user_id in self.disabled() if self._cache is not None else self.reason(user_id) is not None
        if disabled:
            raise AccountDisabledError("this account is disabled: its sessions are no longer accepted")

    def checked_after(self, user_id: int, read: Callable[[], T]) -> T:
        """`read()`, then refuse it if the caller's account is disabled, from the set the read fetched if it did (a
        warm feed stays at its round trips), else with a read of its own. Only for requests that change nothing:
        a refused read has shown nothing, and its error replaces whatever it answered or raised."""
        token = _seen.set(None)
        try:
            try:
                result = read()
            except Exception:
                self._require_active_as_seen(user_id)
                raise
            self._require_active_as_seen(user_id)
            return result
        finally:
            _seen.reset(token)

    def _require_active_as_seen(self, user_id: int) -> None:
        seen = _seen.get()
        if seen is None:
            self.require_active(user_id)
        elif user_id in seen:
            raise AccountDisabledError("this account is disabled: its sessions are no longer accepted")

    def disabled(self) -> frozenset[int]:
        """Every disabled account: hidden from everyone in every read path."""
        if self._cache is not None:
            return self.saw(self._cache.disabled(self._load))
        now = self._monotonic()
        if self._memo is None or now - self._memo[0] > LOCAL_MEMO_SECONDS:
            self._memo = (now, self._load())
        return self._memo[1]

    @staticmethod
    def saw(disabled: frozenset[int]) -> frozenset[int]:
        """Note the set as this request read it (from the cache, now)."""
        _seen.set(disabled)
        return disabled

    def cached(self) -> DisabledCache | None:
        return self._cache

    def reason(self, user_id: int) -> str | None:
        return self._repository.reason(user_id)

    def disable(self, user_id: int, reason: Reason, event: Event | None = None) -> bool:
        """Switch the account off (with `event` in the same transaction); True if this changed anything. The cached
        set is dropped before the answer, so the next request anywhere sees it (a failure here raises, and the
        client's retry drops it again)."""
        changed = self._repository.disable(user_id, reason, self._now_ms(), event)
        self._forget()
        logger.info("account disabled", extra={"user_id": user_id, "reason": reason, "changed": changed})
        return changed

    def restore(self, user_id: int, event: Event | None = None) -> bool:
        """Switch a suspended account back on; True if this changed anything (an erasure cannot be undone)."""
        changed = self._repository.restore(user_id, "suspended", event)
        self._forget()
        logger.info("account restored", extra={"user_id": user_id, "changed": changed})
        return changed

    def release(self, user_id: int) -> bool:
        """The erasure worker's last step, once nothing of the account is left: its record stays as a tombstone
        that names only the id, until every IdToken it was given has expired (then the table's TTL removes it).
        Deleting it at once would let a token issued before the erasure act again, and sign out whoever takes the
        username next."""
        expires_at_s = self._now_ms() // 1000 + ERASED_TOMBSTONE_SECONDS
        return self._repository.retire(user_id, expires_at_s)

    def _forget(self) -> None:
        self._memo = None
        if self._cache is not None:
            try:
                self._cache.forget()
            except redis.RedisError as error:
                # The change is committed; the cached copy lapses within its TTL (Settings.disabled_cache_seconds).
                # Failing here would answer an error for a change that happened, and its retry would be refused.
                logger.warning("account standing changed; the cached set lapses", extra={"error": repr(error)})

    def _load(self) -> frozenset[int]:
        return frozenset(self._repository.all())
