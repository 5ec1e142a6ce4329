"""Posts: writing them from 'post ready' events, fanning them out, and showing them to clients."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from redis.exceptions import RedisError

from aperture.adapters.dynamo.posts import PostRepository
from aperture.adapters.dynamo.uploads import UploadRepository
from aperture.adapters.dynamo.users import UserRepository
from aperture.adapters.redis_store.client import PipelineBatch
from aperture.adapters.redis_store.likes import LikeCache
from aperture.adapters.redis_store.posts import PostCache, cached_floor, is_current
from aperture.cdn import image_urls
from aperture.clock import iso
from aperture.comments import Comments
from aperture.errors import ConflictError, ForbiddenError, PostNotFoundError, PrivateAccountError
from aperture.fanout import Fanout
from aperture.graph import Graph
from aperture.likes import Likes
from aperture.models.api import CommentView, ImageFormats, Page, Post, PostMedia, UserRef
from aperture.models.events import PostDeleted, PostPublished, PostReady
from aperture.models.records import Photo, PostRecord
from aperture.observability import count, logger
from aperture.ports import ImageStore
from aperture.saves import Saves
from aperture.uploads import upload_key

DELETE_ATTEMPTS = 3  # a delete that an edit overtakes reads the post again


@dataclass(frozen=True, kw_only=True)
class PostViewPorts:
    posts: PostRepository
    users: UserRepository
    likes: Likes
    comments: Comments
    graph: Graph
    post_cache: PostCache
    saves: Saves
    redis_client: Any


class PostViews:
    """Turns post ids into the post objects a viewer sees: author, CDN URLs, counts, "did I like it", "did I save it",
    comments.

    Everything Redis knows about a page (cached posts, live like counts, "did I like it", the viewer's saved list,
    first comments, whom the viewer may not see) is read in one pipelined round trip; DynamoDB fills only what the
    cache lacks, in one BatchGetItem, and the misses are written back.
    """

    def __init__(self, ports: PostViewPorts, cdn_base: str) -> None:
        self._posts = ports.posts
        self._users = ports.users
        self._likes = ports.likes
        self._comments = ports.comments
        self._graph = ports.graph
        self._cache = ports.post_cache
        self._saves = ports.saves
        self._redis = ports.redis_client
        self._cdn = cdn_base

    def records(self, viewer_id: int, post_ids: Iterable[int]) -> list[PostRecord]:
        """Records in the order asked, without posts that are gone or whose author is blocked either way."""
        ids = list(post_ids)
        found = self._posts.get_many(ids)
        hidden = self._graph.hidden_from(viewer_id)
        return [found[i] for i in ids if i in found and found[i].author_id not in hidden]

    def many(self, viewer_id: int, post_ids: Iterable[int], hidden: set[int] | None = None) -> list[Post]:
        ids = list(dict.fromkeys(post_ids))
        if not ids:
            return []
        batch = PipelineBatch(self._redis)
        try:
            cached_slot = self._cache.queue_get(batch, ids)
            live_slot = self._likes.cache.queue_live(batch, ids, viewer_id)
            saved_slot = self._saves.queue_lookup(batch, viewer_id, ids)
            previews_slot = self._comments.preview_cache.queue_get(batch, ids)
            hidden_slot = self._graph.queue_hidden(batch, viewer_id) if hidden is None else None
            batch.execute()
        except RedisError:
            return self._without_cache(viewer_id, ids)
        records, usernames = self._records(ids, cached_slot.value)
        if hidden_slot is not None:  # (queued exactly when the caller gave no `hidden`)
            hidden = hidden_slot.value if hidden_slot.value is not None else self._graph.hidden_from(viewer_id)
        if hidden is None:
            hidden = self._graph.hidden_from(viewer_id)
        shown = [records[i] for i in ids if i in records and records[i].author_id not in hidden]
        live = {post_id: count for post_id, (count, _) in zip(ids, live_slot.value, strict=True)}
        states = {post_id: state for post_id, (_, state) in zip(ids, live_slot.value, strict=True)}
        previews = previews_slot.value
        missing_previews = [r.post_id for r in shown if r.post_id not in previews]
        if missing_previews:
            previews.update(self._comments.load_previews(missing_previews))
        saved = self._saves.resolve(viewer_id, ids, saved_slot.value)
        return [
            self._view(
                record,
                usernames[record.author_id],
                max(0, _or(live[record.post_id], record.like_count)),
                self._likes.confirm(viewer_id, record.post_id, states[record.post_id]),
                saved[record.post_id],
                _visible(previews.get(record.post_id, []), hidden),
            )
            for record in shown
            if record.author_id in usernames
        ]

    def _records(
        self, ids: list[int], cached: dict[int, dict[str, str]]
    ) -> tuple[dict[int, PostRecord], dict[int, str]]:
        records: dict[int, PostRecord] = {}
        usernames: dict[int, str] = {}
        for post_id, fields in cached.items():
            if is_current(fields):
                record = PostRecord.model_validate_json(fields["record"])
                records[post_id], usernames[record.author_id] = record, fields["author_username"]
        missing = [i for i in ids if i not in records]
        if missing:
            found = self._posts.get_many(missing)
            for post_id, record in list(found.items()):  # an edit the (eventually consistent) batch read missed
                if record.version < cached_floor(cached.get(post_id, {})):
                    current = self._posts.get(post_id, consistent=True)
                    found[post_id] = current or record
            authors = self._users.get_many({r.author_id for r in found.values()} - set(usernames))
            usernames.update({a: u.username for a, u in authors.items()})
            records.update(found)
            self._cache.put_many(
                {
                    p: {
                        "record": r.model_dump_json(),
                        "version": str(r.version),
                        "author_username": usernames[r.author_id],
                    }
                    for p, r in found.items()
                    if r.author_id in usernames
                }
            )
        return records, usernames

    def _without_cache(self, viewer_id: int, ids: list[int]) -> list[Post]:
        """Redis is down: every answer from DynamoDB (each store falls back on its own)."""
        records = self.records(viewer_id, ids)
        authors = self._users.get_many({r.author_id for r in records})
        counts = self._likes.counts(records)
        liked = self._likes.liked_by(viewer_id, [r.post_id for r in records])
        saved = self._saves.saved_among(viewer_id, [r.post_id for r in records])
        previews = self._comments.previews([r.post_id for r in records])
        hidden = self._graph.hidden_from(viewer_id)
        return [
            self._view(
                r,
                authors[r.author_id].username,
                counts[r.post_id],
                liked[r.post_id],
                saved[r.post_id],
                [c for c in previews[r.post_id] if int(c.author.user_id) not in hidden],
            )
            for r in records
            if r.author_id in authors
        ]

    def _view(
        self,
        record: PostRecord,
        username: str,
        like_count: int,
        liked: bool,
        saved: bool,
        preview: list[CommentView],
    ) -> Post:
        return Post(
            post_id=str(record.post_id),
            author=UserRef(user_id=str(record.author_id), username=username),
            caption=record.caption,
            location=record.location,
            hashtags=list(record.hashtags),
            created_at=iso(record.created_at),
            width=record.width,
            height=record.height,
            blurhash=record.blurhash,
            images={size: ImageFormats(**urls) for size, urls in image_urls(record.images, self._cdn).items()},
            like_count=like_count,
            comment_count=max(0, record.comment_count),
            liked_by_me=liked,
            saved_by_me=saved,
            comment_preview=preview,
            edited_at=record.edited_at,
            media=[_media(photo, self._cdn) for photo in record.photos()],
        )

    def forget(self, post_id: int) -> None:
        """Drop a post's cached record (after it changed or went away)."""
        self._cache.forget(post_id)

    def visible(self, viewer_id: int, post_id: int, *, taking_back: bool = False) -> PostRecord:
        """A post the viewer may act on, or 404 (missing, or its author blocks or is blocked by the viewer), or 403
        private_account (its author is a private account the viewer does not follow). `taking_back` (an unlike, an
        unsave, deleting one's own comment) skips the privacy check: what the viewer did before the account went
        private stays theirs to undo."""
        found = self.records(viewer_id, [post_id])
        if not found:
            raise PostNotFoundError(f"post {post_id} does not exist")
        if not taking_back:
            self._require_approved(viewer_id, found[0].author_id)
        return found[0]

    def one(self, viewer_id: int, post_id: int) -> Post:
        found = self.many(viewer_id, [post_id])
        if not found:
            raise PostNotFoundError(f"post {post_id} does not exist")
        self._require_approved(viewer_id, int(found[0].author.user_id))
        return found[0]

    def _require_approved(self, viewer_id: int, author_id: int) -> None:
        # 403 rather than 404: the author's profile (and so the account's existence) is public, and the client can
        # then offer "Request to follow"; the post's content stays hidden either way.
        if self._graph.unapproved(viewer_id, [author_id]):
            raise PrivateAccountError("this post's author is a private account: follow them to see it")

    def approved(self, viewer_id: int, posts: list[Post]) -> list[Post]:
        """Posts without those of private accounts the viewer does not follow (read paths that show posts of
        accounts the viewer may not follow: saved posts, explore)."""
        left_out = self._graph.unapproved(viewer_id, {int(p.author.user_id) for p in posts})
        return [p for p in posts if int(p.author.user_id) not in left_out]


@dataclass(frozen=True, kw_only=True)
class PostPorts:
    posts: PostRepository
    uploads: UploadRepository
    views: PostViews
    fanout: Fanout
    like_cache: LikeCache
    images: ImageStore
    graph: Graph
    now_ms: Callable[[], int]


class Posts:
    """A post's life: published from its 'ready' event, shown by author, deleted by its author."""

    def __init__(self, ports: PostPorts) -> None:
        self.ports = ports

    def ingest(self, event: PostReady) -> bool:
        """Write the post and mark its upload ready (together), then fan it out.

        Every step is idempotent, so a redelivered event repeats none of their effects; an upload rejected
        meanwhile publishes nothing. Returns whether this delivery created the post.
        """
        ports = self.ports
        record = PostRecord(
            post_id=event.post_id,
            author_id=event.author_id,
            upload_id=event.upload_id,
            caption=event.caption,
            location=event.location,
            hashtags=event.hashtags,
            width=event.width,
            height=event.height,
            blurhash=event.blurhash,
            images=event.images,
            created_at=event.occurred_at,
            mentioned_ids=event.mentioned_ids,
            media=event.media,
        )
        published = PostPublished(
            event_id=f"{event.post_id}:published",
            occurred_at=event.occurred_at,
            post_id=event.post_id,
            author_id=event.author_id,
            mentioned_ids=event.mentioned_ids,
        )
        outcome = ports.posts.publish(record, ports.uploads.table, published)
        if outcome == "refused":
            return False  # the upload was rejected while this event was in flight: no post, no fanout
        stored = ports.posts.get(event.post_id) if outcome == "exists" else record
        ports.like_cache.start(event.post_id)
        ports.fanout.publish(event.author_id, event.post_id, stored.created_at if stored else event.occurred_at)
        if outcome == "created":
            count("PostsPublished")
        return outcome == "created"

    def one(self, viewer_id: int, post_id: int) -> Post:
        return self.ports.views.one(viewer_id, post_id)

    def by_author(self, viewer_id: int, author_id: int, limit: int, cursor: str | None) -> Page[Post]:
        """An author's posts, newest first, as this viewer may see them (404 for a blocked author, 403 for a
        private account the viewer does not follow)."""
        author = self.ports.graph.visible_content_owner(viewer_id, author_id)
        ids, next_cursor = self.ports.posts.page_by_author(author.user_id, limit, cursor)
        return Page[Post](items=self.ports.views.many(viewer_id, ids), next_cursor=next_cursor)

    def delete(self, viewer_id: int, post_id: int) -> None:
        """The author deletes a post: its record, its count and its upload's state go in one transaction with the
        event that starts the cascade (aperture.cascade: comments, likes, notifications, cached copies, timeline
        entries, images and the CDN's copies). A retry after the transaction finds the post gone (404); the
        cascade, started by the committed event, finishes whatever happened to the request.
        """
        record = self.ports.views.visible(viewer_id, post_id)
        if record.author_id != viewer_id:
            raise ForbiddenError("only the post's author may delete it")
        if not self.remove(post_id):
            raise PostNotFoundError(f"post {post_id} does not exist")

    def take_down(self, record: PostRecord) -> None:
        """Delete a post as its author does, for an account's erasure (aperture.erasure). PostNotFoundError if it
        is gone already."""
        if not self.remove(record.post_id):
            raise PostNotFoundError(f"post {record.post_id} does not exist")

    def remove(self, post_id: int) -> bool:
        """Delete a post whoever's it is (its author's request above, a moderator's decision, an erasure): the
        same transaction and cascade. False if it was already gone (a retry: the first one's cascade is under
        way)."""
        ports = self.ports
        now = ports.now_ms()
        for _ in range(DELETE_ATTEMPTS):
            # As committed (a consistent read), and deleted only at that version: the event's hashtags are then the
            # post's own, even if an edit lands meanwhile (which sends this round again)
            current = ports.posts.get(post_id, consistent=True)
            if current is None:
                return False
            record = current
            event = PostDeleted(
                event_id=uuid.uuid4().hex,
                occurred_at=now,
                post_id=record.post_id,
                author_id=record.author_id,
                upload_id=record.upload_id,
                hashtags=record.hashtags,
            )
            if ports.posts.delete(record, ports.uploads.table, now, event):
                break
        else:
            raise ConflictError("the post kept changing while you deleted it; try again")
        try:
            # At once for the author's next read; the cascade does it again
            ports.views.forget(record.post_id)
            ports.images.delete(upload_key(record.author_id, record.upload_id))
        except (RedisError, ClientError) as error:
            logger.warning(
                "post deleted; its cached copy and upload wait for the cascade", extra={"error": repr(error)}
            )
        return True


def _media(photo: Photo, cdn_base: str) -> PostMedia:
    images = {size: ImageFormats(**urls) for size, urls in image_urls(photo.images, cdn_base).items()}
    return PostMedia(
        images=images, width=photo.width, height=photo.height, blurhash=photo.blurhash, alt_text=photo.alt_text
    )


def _or(value: int | None, fallback: int) -> int:
    return fallback if value is None else value


def _visible(preview: list[dict[str, Any]], hidden: set[int]) -> list[CommentView]:
    """A post's first comments as the viewer may see them: none by someone in a block relation with them (the
    cached preview is shared by every viewer)."""
    comments = [CommentView.model_validate(c) for c in preview]
    return [c for c in comments if int(c.author.user_id) not in hidden]
