"""The ranking loop's engagements: likes, comments and saves from the committed domain events, and profile opens
from the read paths, appended to the activity log (aperture.activity).

Events are at-least-once: a redelivered event logs its engagement again. That is harmless, since a label only asks
whether the viewer engaged within the window, never how often. Only a like being added counts (an unlike is no
engagement), and engaging with one's own post or profile is no signal about what to show."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aperture.activity import Action, ActivityLog, Engagement
from aperture.models.events import AnyEvent, CommentCreated, LikeChanged, PostSaved


def engagements_of(events: Iterable[AnyEvent]) -> list[Engagement]:
    found: list[Engagement] = []
    for event in events:
        if isinstance(event, LikeChanged) and event.liked:
            found.append(_engagement("like", event.user_id, event.post_author_id, event.occurred_at, event.post_id))
        elif isinstance(event, CommentCreated):
            found.append(
                _engagement("comment", event.author_id, event.post_author_id, event.occurred_at, event.post_id)
            )
        elif isinstance(event, PostSaved):
            found.append(_engagement("save", event.user_id, event.post_author_id, event.occurred_at, event.post_id))
    return [e for e in found if e.viewer_id != e.author_id]


def _engagement(action: Action, viewer_id: int, author_id: int, at: int, post_id: int | None) -> Engagement:
    return Engagement(action=action, viewer_id=viewer_id, author_id=author_id, at=at, post_id=post_id)


class EngagementLog:
    """Appends engagements to the activity log; never fails its caller (the log is best effort)."""

    def __init__(self, log: ActivityLog, now_ms: Callable[[], int]) -> None:
        self._log = log
        self._now_ms = now_ms

    def from_events(self, events: Iterable[AnyEvent]) -> int:
        found = engagements_of(events)
        self._log.record(found)
        return len(found)

    def profile_opened(self, viewer_id: int, author_id: int) -> None:
        """A signed-in viewer opened someone else's profile or their posts."""
        if viewer_id != author_id:
            self._log.record(
                [Engagement(action="profile_open", viewer_id=viewer_id, author_id=author_id, at=self._now_ms())]
            )
