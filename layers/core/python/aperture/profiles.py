"""Profile changes that search must hear of: written in one transaction with their UserChanged event."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from aperture.adapters.dynamo.users import UserRepository
from aperture.errors import ConflictError, UserNotFoundError
from aperture.models.events import UserChanged
from aperture.models.records import User

# What the search index is built from: a change to any of them travels with an event
INDEXED_FIELDS = frozenset({"username", "display_name", "private"})
ATTEMPTS = 3


class ProfileChanges:
    def __init__(self, *, users: UserRepository, now_ms: Callable[[], int]) -> None:
        self._users = users
        self._now_ms = now_ms

    def update(self, user_id: int, changes: dict[str, Any]) -> User:
        """Set profile fields; returns the user as stored after the change. A change search cares about commits
        with its event, on the condition that nobody changed those fields since they were read (else read again)."""
        if not INDEXED_FIELDS & changes.keys():
            return self._users.update(user_id, changes)
        for _ in range(ATTEMPTS):
            before = self._users.get_consistent(user_id)
            if before is None:
                raise UserNotFoundError(f"user {user_id} does not exist")
            after = before.model_copy(update=changes)
            event = UserChanged(
                event_id=uuid.uuid4().hex,
                occurred_at=self._now_ms(),
                user_id=user_id,
                username=after.username,
                display_name=after.display_name,
                private=after.private,
                previous_names=tuple({before.username, before.display_name} - {after.username, after.display_name}),
            )
            if self._users.update_with_event(before, changes, event):
                stored = self._users.get_consistent(user_id)
                if stored is None:
                    raise UserNotFoundError(f"user {user_id} does not exist")
                return stored
        raise ConflictError("the profile kept changing meanwhile; send the change again")
