"""Comments: writing, listing oldest first, deleting, @mentions, and the cached first few shown on posts."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from redis.exceptions import RedisError

from aperture.adapters.dynamo.comments import CommentRepository
from aperture.adapters.dynamo.users import UserRepository
from aperture.adapters.redis_store.affinity import AffinityStore
from aperture.adapters.redis_store.comments import CommentPreviewCache
from aperture.captions import mentioned_usernames
from aperture.clock import iso
from aperture.errors import CommentNotFoundError, ForbiddenError, PostNotFoundError
from aperture.models.api import CommentView, UserRef
from aperture.models.events import CommentCreated
from aperture.models.records import Comment, PostRecord, User
from aperture.observability import logger
from aperture.ranking import AFFINITY_WEIGHTS

EXCERPT_CHARS = 100


def view(comment: Comment, author: User) -> CommentView:
    return CommentView(
        comment_id=str(comment.comment_id),
        post_id=str(comment.post_id),
        author=UserRef(user_id=str(author.user_id), username=author.username),
        text=comment.text,
        created_at=iso(comment.created_at),
    )


class Comments:
    def __init__(
        self,
        *,
        repo: CommentRepository,
        users: UserRepository,
        previews: CommentPreviewCache,
        preview_size: int,
        new_id: Callable[[], int],
        now_ms: Callable[[], int],
        affinity: AffinityStore | None = None,
        on_change: Callable[[int], None] = lambda post_id: None,
    ) -> None:
        self._affinity = affinity
        self._on_change = on_change  # the post's comment count changed: cached copies must go
        self._repo = repo
        self._users = users
        self._previews = previews
        self._preview_size = preview_size
        self._new_id = new_id
        self._now_ms = now_ms

    def add(self, post: PostRecord, author: User, text: str, new_id: Callable[[], int] | None = None) -> CommentView:
        """Comment on a post. `new_id` gives the comment's id (a reserved one when a client retries with a key: a
        comment already written under it is answered, not written again)."""
        mentioned = [u for u in (self._users.get_by_username(n) for n in mentioned_usernames(text)) if u]
        comment = Comment(
            post_id=post.post_id,
            comment_id=(new_id or self._new_id)(),
            author_id=author.user_id,
            text=text,
            mentioned_ids=tuple(u.user_id for u in mentioned),
            created_at=self._now_ms(),
        )
        # The event is written with the comment (the outbox), so it exists exactly when the comment does.
        event = CommentCreated(
            event_id=uuid.uuid4().hex,
            occurred_at=comment.created_at,
            post_id=post.post_id,
            post_author_id=post.author_id,
            comment_id=comment.comment_id,
            author_id=author.user_id,
            excerpt=text[:EXCERPT_CHARS],
            mentioned_ids=comment.mentioned_ids,
        )
        if not self._repo.add(comment, event):
            existing = self._repo.get(post.post_id, comment.comment_id)
            if existing is None or existing.author_id != author.user_id:
                raise PostNotFoundError(f"there is no post {post.post_id}")  # deleted meanwhile
            return view(existing, author)
        try:
            self.after(event)
            if self._affinity is not None and author.user_id != post.author_id:
                self._affinity.record(author.user_id, post.author_id, post.hashtags, AFFINITY_WEIGHTS["comment"])
        except RedisError as error:
            # Committed with its event: the relay drops the stale copies when Redis is back.
            logger.warning("comment committed; cached copies wait for the relay", extra={"error": repr(error)})
        return view(comment, author)

    def after(self, event: CommentCreated) -> None:
        """The caches' side of a committed comment: the post's cached copy (its count) and its first comments go.
        Safe to repeat: the request that wrote it and the relay that publishes its event both do it."""
        self._on_change(event.post_id)
        self._previews.forget(event.post_id)

    def delete(self, post: PostRecord, comment_id: int, caller_id: int) -> None:
        comment = self._repo.get(post.post_id, comment_id)
        if comment is None:
            raise CommentNotFoundError(f"comment {comment_id} does not exist")
        if caller_id not in {comment.author_id, post.author_id}:
            raise ForbiddenError("only the comment's author or the post's author may delete it")
        self.remove(post.post_id, comment_id)

    def remove(self, post_id: int, comment_id: int) -> bool:
        """Delete a comment whoever's it is (see delete; or a moderator's decision); False if it was gone.
        The caches are dropped either way: a retry after a crash past the delete still drops them."""
        removed = self._repo.delete(post_id, comment_id)
        self._previews.forget(post_id)
        self._on_change(post_id)
        return removed

    def page(
        self, post_id: int, limit: int, cursor: str | None, hidden: set[int]
    ) -> tuple[list[CommentView], str | None]:
        """Oldest first; comments by users in a block relation with the viewer are left out."""
        comments, next_cursor = self._repo.page(post_id, limit, cursor)
        shown = [c for c in comments if c.author_id not in hidden]
        authors = self._users.get_many({c.author_id for c in shown})
        return [view(c, authors[c.author_id]) for c in shown if c.author_id in authors], next_cursor

    @property
    def preview_cache(self) -> CommentPreviewCache:
        return self._previews

    def load_previews(self, post_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
        """First comments from DynamoDB for posts the cache lacked, written back."""
        loaded = {}
        for post_id in post_ids:
            views, _ = self.page(post_id, self._preview_size, None, set())
            loaded[post_id] = [v.model_dump() for v in views]
            with contextlib.suppress(RedisError):  # Redis is down: the next read loads them again
                self._previews.put(post_id, loaded[post_id])
        return loaded

    def previews(self, post_ids: Iterable[int]) -> dict[int, list[CommentView]]:
        """The first few comments of each post: one Redis round trip, DynamoDB only for posts not cached."""
        wanted = list(post_ids)
        try:
            cached = self._previews.get_many(wanted)
        except RedisError:
            cached, available = {}, False  # Redis is down: read the first comments from DynamoDB
        else:
            available = True
        for post_id in (p for p in wanted if p not in cached):
            views, _ = self.page(post_id, self._preview_size, None, set())
            cached[post_id] = [v.model_dump() for v in views]
            if available:
                self._previews.put(post_id, cached[post_id])
        return {p: [CommentView.model_validate(c) for c in cached[p]] for p in wanted}
