"""Posts: writing them from 'post ready' events, fanning them out, and showing them to clients."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import chain

from aperture.adapters.dynamo import FollowRepository, PostRepository, UploadRepository, UserRepository
from aperture.adapters.redis_store import Timeline
from aperture.errors import PostNotFoundError
from aperture.models.api import ImageFormats, Post, UserRef
from aperture.models.events import PostReady
from aperture.models.records import PostRecord


def ingest_post_ready(
    event: PostReady,
    posts: PostRepository,
    uploads: UploadRepository,
    follows: FollowRepository,
    timeline: Timeline,
) -> bool:
    """Write the post once, push it to the author's and followers' timelines, mark the upload ready.

    Every step is idempotent, so a redelivered event repeats none of their effects. Returns whether
    this delivery created the post.
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
    created = posts.create(record)
    audience: Iterator[int] = chain([event.author_id], chain.from_iterable(follows.followers(event.author_id)))
    timeline.push(audience, event.post_id)
    uploads.set_status(event.upload_id, "ready", only_from=("pending", "processing", "failed", "ready"))
    return created


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class PostViews:
    """Turns post ids into the post objects clients see: author, CDN URLs and counts."""

    def __init__(self, posts: PostRepository, users: UserRepository, cdn_base: str) -> None:
        self._posts = posts
        self._users = users
        self._cdn = cdn_base.rstrip("/")

    def many(self, post_ids: Iterable[int]) -> list[Post]:
        """Posts in the order asked, without the ones that no longer exist."""
        ids = list(post_ids)
        records = self._posts.get_many(ids)
        authors = self._users.get_many({r.author_id for r in records.values()})
        views = []
        for post_id in ids:
            record = records.get(post_id)
            author = authors.get(record.author_id) if record else None
            if record is None or author is None:
                continue
            views.append(
                Post(
                    post_id=str(record.post_id),
                    author=UserRef(user_id=str(author.user_id), username=author.username),
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
                )
            )
        return views

    def one(self, post_id: int) -> Post:
        found = self.many([post_id])
        if not found:
            raise PostNotFoundError(f"post {post_id} does not exist")
        return found[0]
