"""Posts: writing them from 'post ready' events, fanning them out, and showing them to clients."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aperture.adapters.dynamo import PostRepository, UploadRepository, UserRepository
from aperture.adapters.s3 import MediaStore
from aperture.clock import iso
from aperture.comments import Comments
from aperture.errors import ForbiddenError, PostNotFoundError
from aperture.fanout import Fanout
from aperture.likes import Likes
from aperture.models.api import ImageFormats, Post, UserRef
from aperture.models.events import PostReady
from aperture.models.records import PostRecord
from aperture.resources import IMAGE_PREFIX


def ingest_post_ready(event: PostReady, posts: PostRepository, uploads: UploadRepository, fanout: Fanout) -> bool:
    """Write the post and mark its upload ready (together), then fan it out.

    Every step is idempotent, so a redelivered event repeats none of their effects; an upload rejected
    meanwhile publishes nothing. Returns whether this delivery created the post.
    """
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
    )
    outcome = posts.publish(record, uploads.table)
    if outcome == "refused":
        return False  # the upload was rejected while this event was in flight: no post, no fanout
    stored = posts.get(event.post_id) if outcome == "exists" else record
    fanout.publish(event.author_id, event.post_id, stored.created_at if stored else event.occurred_at)
    return outcome == "created"


class PostViews:
    """Turns post ids into the post objects a viewer sees: author, CDN URLs, counts, "did I like it", comments."""

    def __init__(
        self,
        posts: PostRepository,
        users: UserRepository,
        likes: Likes,
        comments: Comments,
        hidden_from: Callable[[int], set[int]],
        cdn_base: str,
    ) -> None:
        self._posts = posts
        self._users = users
        self._likes = likes
        self._comments = comments
        self._hidden_from = hidden_from
        self._cdn = cdn_base.rstrip("/")

    def records(self, viewer_id: int, post_ids: Iterable[int]) -> list[PostRecord]:
        """Records in the order asked, without posts that are gone or whose author is blocked either way."""
        ids = list(post_ids)
        found = self._posts.get_many(ids)
        hidden = self._hidden_from(viewer_id)
        return [found[i] for i in ids if i in found and found[i].author_id not in hidden]

    def many(self, viewer_id: int, post_ids: Iterable[int]) -> list[Post]:
        records = self.records(viewer_id, post_ids)
        ids = [r.post_id for r in records]
        authors = self._users.get_many({r.author_id for r in records})
        counts = self._likes.counts(records)
        liked = self._likes.liked_by(viewer_id, ids)
        previews = self._comments.previews(ids)
        return [
            Post(
                post_id=str(record.post_id),
                author=UserRef(user_id=str(record.author_id), username=authors[record.author_id].username),
                caption=record.caption,
                location=record.location,
                hashtags=list(record.hashtags),
                created_at=iso(record.created_at),
                width=record.width,
                height=record.height,
                blurhash=record.blurhash,
                images={
                    size: ImageFormats(**{fmt: f"{self._cdn}/{key}" for fmt, key in formats.items()})
                    for size, formats in record.images.items()
                },
                like_count=counts[record.post_id],
                comment_count=max(0, record.comment_count),
                liked_by_me=liked[record.post_id],
                comment_preview=previews[record.post_id],
            )
            for record in records
            if record.author_id in authors
        ]

    def visible(self, viewer_id: int, post_id: int) -> PostRecord:
        """A post the viewer may act on, or 404 (missing, or its author blocks or is blocked by the viewer)."""
        found = self.records(viewer_id, [post_id])
        if not found:
            raise PostNotFoundError(f"post {post_id} does not exist")
        return found[0]

    def one(self, viewer_id: int, post_id: int) -> Post:
        found = self.many(viewer_id, [post_id])
        if not found:
            raise PostNotFoundError(f"post {post_id} does not exist")
        return found[0]


def delete_post(viewer_id: int, post_id: int, views: PostViews, posts: PostRepository, images: MediaStore) -> None:
    """The author deletes a post: its record, its count, and its renditions (the CDN 404s once its TTL passes)."""
    record = views.visible(viewer_id, post_id)
    if record.author_id != viewer_id:
        raise ForbiddenError("only the post's author may delete it")
    posts.delete(record)
    images.delete_under(f"{IMAGE_PREFIX}{record.author_id}/{record.post_id}/")
