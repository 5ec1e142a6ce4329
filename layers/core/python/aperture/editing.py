"""Editing posts: the author changes a post's caption or location; its hashtags and mentions follow, and every cached
copy shows the edit before the answer does.

An edit is one DynamoDB transaction: the post's changed attributes and its next `version`, conditioned on the version
it was read at, with a PostEdited event in the outbox (the newly mentioned are notified from it; the relay refreshes
the cached copy from it too). Then the request writes the cached copy itself, ordered by version
(adapters/redis_store/posts.py), so no viewer reads the old caption once the answer is out. If that write fails, the
answer is 503 (the edit is saved; the relay brings the copy up to date, and the client's retry does at once): never a
success over a stale cache. A retry that changes nothing writes nothing and only refreshes the copy.

Hashtags after an edit: the tags the client sent at upload (the post's hashtags not parsed from its caption before the
edit) united with the new caption's #tags. A tag both sent and written in the old caption counts as the caption's, so
it goes when the caption drops it. Mentions: every user a caption has named is kept on the post (`mentioned_ids`);
an edit notifies only users named by the new caption and by no earlier one, and, however often the caption is edited,
no more users in all than one caption may notify (`max_mentions`): edits cannot be used to notify a crowd in rounds.

Each editable field is one entry of `PostEdits.FIELDS`: a function from the post and the sent value to the record
attributes it changes. Adding a field (alt texts) is one request field and one entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from redis.exceptions import RedisError

from aperture.adapters.dynamo.post_edits import PostEditRepository
from aperture.adapters.dynamo.users import UserRepository
from aperture.adapters.redis_store.posts import PostCache
from aperture.captions import MAX_MENTIONS_NOTIFIED, caption_hashtags, mentioned_usernames, post_hashtags
from aperture.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    PostNotFoundError,
    ServiceUnavailableError,
)
from aperture.graph import Graph
from aperture.models.api import EditPostRequest, Post
from aperture.models.events import PostEdited
from aperture.models.records import PostRecord
from aperture.observability import logger
from aperture.posts import PostViews

EDIT_ATTEMPTS = 3  # reads and conditional writes before an edit racing others gives up (409)


@dataclass(frozen=True, kw_only=True)
class PostEditPorts:
    edits: PostEditRepository
    cache: PostCache
    views: PostViews
    users: UserRepository
    graph: Graph
    now_ms: Callable[[], int]
    max_mentions: int = MAX_MENTIONS_NOTIFIED  # users one caption notifies, over all its edits


class PostEdits:
    FIELDS: ClassVar[dict[str, Callable[[PostEdits, PostRecord, Any], dict[str, Any]]]] = {}

    def __init__(self, ports: PostEditPorts) -> None:
        self._ports = ports

    def edit(self, viewer_id: int, post_id: int, request: EditPostRequest) -> Post:
        """The author edits their post (others: 403; missing or blocked: 404). Returns the post as now shown."""
        ports = self._ports
        record = ports.edits.current(post_id)
        if record is None or record.author_id in ports.graph.hidden_from(viewer_id):
            raise PostNotFoundError(f"post {post_id} does not exist")  # (blocked either way: as if missing)
        if record.author_id != viewer_id:
            raise ForbiddenError("only the post's author may edit it")
        for attempt in range(EDIT_ATTEMPTS):
            record = record if attempt == 0 else ports.edits.current(post_id)
            if record is None:
                raise PostNotFoundError(f"post {post_id} does not exist")
            changes = self._changes(record, request)
            if not changes:  # nothing new (a retry of an edit that was saved): make sure the copy shows it
                self._refresh(record)
                return ports.views.one(viewer_id, post_id)
            changes["edited_at"] = max(ports.now_ms(), (record.edited_at or 0) + 1)
            event = PostEdited(
                event_id=f"{post_id}:edited:{record.version + 1}",
                occurred_at=changes["edited_at"],
                post_id=post_id,
                author_id=record.author_id,
                version=record.version + 1,
                mentioned_ids=self._newly_mentioned(record, changes),
                hashtags=changes.get("hashtags", record.hashtags),
                previous_hashtags=record.hashtags,
            )
            if ports.edits.apply(record, changes, event):
                self._refresh(record.model_copy(update={**changes, "version": record.version + 1}))
                return ports.views.one(viewer_id, post_id)
        raise ConflictError("the post kept changing while you edited it; try again")

    def after(self, event: PostEdited) -> None:
        """The relay's side of an edit: the cached copy brought up to the committed post (safe to repeat, and a
        copy already newer is kept)."""
        record = self._ports.edits.current(event.post_id)
        if record is not None:
            self._refresh(record, raise_unavailable=False)

    def _refresh(self, record: PostRecord, raise_unavailable: bool = True) -> None:
        author = self._ports.users.get(record.author_id)
        if author is None:
            return
        try:
            self._ports.cache.put_edited(record.post_id, record.version, record.model_dump_json(), author.username)
        except RedisError as error:
            if not raise_unavailable:
                raise
            logger.warning("post edited; its cached copy waits for the relay", extra={"error": repr(error)})
            raise ServiceUnavailableError(
                "your edit is saved, but not every copy of the post shows it yet; send it again"
            ) from error

    def _changes(self, record: PostRecord, request: EditPostRequest) -> dict[str, Any]:
        """The record attributes this request changes (those already as asked left out)."""
        wanted: dict[str, Any] = {}
        for name in sorted(request.model_fields_set):
            wanted.update(self.FIELDS[name](self, record, getattr(request, name)))
        return {k: v for k, v in wanted.items() if getattr(record, k) != v}

    def _caption(self, record: PostRecord, caption: str) -> dict[str, Any]:
        if caption == record.caption:
            return {}
        from_caption = {t.lower() for t in caption_hashtags(record.caption)}
        sent = [t for t in record.hashtags if t.lower() not in from_caption]
        author = record.author_id
        named = (*record.mentioned_ids, *self._named(author, record.caption), *self._named(author, caption))
        return {
            "caption": caption,
            "hashtags": post_hashtags(sent, caption),
            "mentioned_ids": tuple(dict.fromkeys(named)),
        }

    def _location(self, record: PostRecord, location: str | None) -> dict[str, Any]:
        return {"location": location or None}

    def _alt_texts(self, record: PostRecord, alt_texts: list[str]) -> dict[str, Any]:
        try:
            edited = record.with_alt_texts(alt_texts)
        except ValueError as error:
            raise InvalidInputError(f"alt_texts: {error}") from error
        # (a post from before carousels keeps no media until its alt text really changes)
        return {"media": edited.media} if edited.photos() != record.photos() else {}

    def _newly_mentioned(self, record: PostRecord, changes: dict[str, Any]) -> tuple[int, ...]:
        if "caption" not in changes:
            return ()
        earlier = {*record.mentioned_ids, *self._named(record.author_id, record.caption)}
        room = max(0, self._ports.max_mentions - len(earlier))
        return tuple(u for u in self._named(record.author_id, changes["caption"]) if u not in earlier)[:room]

    def _named(self, author_id: int, caption: str) -> tuple[int, ...]:
        """The existing users a caption's @usernames name (at most 20), the author aside."""
        named = (self._ports.users.get_by_username(name) for name in mentioned_usernames(caption))
        return tuple(u.user_id for u in named if u is not None and u.user_id != author_id)


PostEdits.FIELDS.update(caption=PostEdits._caption, location=PostEdits._location, alt_texts=PostEdits._alt_texts)
