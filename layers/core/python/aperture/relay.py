"""The relay: each event the outbox holds (committed with its change) goes to the events stream, and the caches
take their side of the change.

The request that made a change does the caches' side itself, at once; the relay does it again, which changes
nothing (each step is idempotent: a like is applied once per event, a follow's timeline merge and cache drops
converge) unless the request failed before doing it, and then the relay is what makes the count, the timeline or
the preview right. A failure fails the record, and its retry repeats both steps, harmlessly: consumers of the
events stream know an event by its id.
"""

from __future__ import annotations

from collections.abc import Callable

from aperture.comments import Comments
from aperture.follow_requests import FollowRequests
from aperture.graph import Graph
from aperture.likes import Likes
from aperture.models.events import (
    AccountPrivacyChanged,
    AnyEvent,
    CommentCreated,
    ExportRequested,
    FollowChanged,
    LikeChanged,
    PostEdited,
)
from aperture.ports import EventSink
from aperture.search import SearchIndexer


class Relay:
    def __init__(
        self,
        events: EventSink,
        likes: Likes,
        graph: Graph,
        comments: Comments,
        on_post_edited: Callable[[PostEdited], None] = lambda event: None,
        *,
        follow_requests: FollowRequests | None = None,
        search: SearchIndexer | None = None,
        on_export_requested: Callable[[ExportRequested], None] = lambda event: None,
    ) -> None:
        self._on_export_requested = on_export_requested  # the export's build job queued (aperture.exports)
        self._on_post_edited = on_post_edited  # the edited post's cached copy brought up to date (aperture.editing)
        self._follow_requests = follow_requests  # an account gone public: its pending requests approved in rounds
        self._events = events
        self._likes = likes
        self._graph = graph
        self._comments = comments
        self._search = search

    def relay(self, event: AnyEvent) -> None:
        # Published first: notifications and explore signals flow even while Redis is down (a retry publishes
        # again; consumers know an event by its id). Then the cache side, whose failure fails the record, so it
        # is retried and, after its retries, archived for a redrive.
        self._events.publish(event)
        # A like or follow event is applied only while DynamoDB still says what it says: events of one pair may
        # reach the relay out of order or late (after a later change the request applied), and the newest wins.
        if isinstance(event, LikeChanged):
            self._likes.reconcile(event)
        elif isinstance(event, FollowChanged):
            self._graph.reconcile(event)
        elif isinstance(event, CommentCreated):
            self._comments.after(event)
        elif isinstance(event, PostEdited):
            self._on_post_edited(event)
        elif isinstance(event, AccountPrivacyChanged) and self._follow_requests is not None:
            self._follow_requests.approve_all(event)
        elif isinstance(event, ExportRequested):
            # Queued again by a retry: the builder finds the export no longer pending and does nothing
            self._on_export_requested(event)
        # Sign-ups, profile changes, posts published and deleted: the search index and hashtag lists (each step
        # replay-safe, aperture.search)
        if self._search is not None:
            self._search.apply(event)
