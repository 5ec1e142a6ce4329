"""The upload pipeline: a stored upload becomes renditions and a 'post ready' event, or a refusal with a reason.

Fast publish: the post is announced as soon as its JPEG and WebP renditions are stored; AVIF is encoded after,
and until it exists the CDN answers AVIF requests with WebP. Every step checks what is already done, so a
redelivered notification finishes the work without repeating any of it. A story goes the same way with the one
size it stores (render.sizes_for).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

from aperture.adapters.dynamo.carousels import CarouselCounter
from aperture.adapters.dynamo.uploads import UploadRepository
from aperture.errors import RejectedMediaError, UploadNotFoundError
from aperture.media.decode import decode
from aperture.media.moderation import Moderator
from aperture.media.render import (
    EXTENSIONS,
    FAST_FORMATS,
    FORMATS,
    LARGEST,
    Kind,
    Rendition,
    blurhash_of,
    encode,
    render,
    resized,
    sizes_for,
)
from aperture.models.events import PostReady
from aperture.models.records import Photo, Upload, UploadState
from aperture.observability import count, logger
from aperture.ports import EventSink, ImageStore
from aperture.resources import IMAGE_PREFIX
from aperture.uploads import parse_upload_key

UNPUBLISHED: tuple[UploadState, ...] = ("pending", "processing", "failed")


def image_key(user_id: int, post_id: int, size: str, fmt: str, item: int = 0) -> str:
    """A rendition's key: the seed's `images/{user}/{post}/{size}.{ext}` for a post's first (or only) photo, and
    `images/{user}/{post}/{item}/{size}.{ext}` for photo 1..9 of a carousel (all under the post's prefix, so the
    cascade and the CDN invalidation of a post cover every photo)."""
    photo = "" if item == 0 else f"{item}/"
    return f"{IMAGE_PREFIX}{user_id}/{post_id}/{photo}{size}.{EXTENSIONS[fmt]}"


@dataclass(frozen=True, kw_only=True)
class MediaPorts:
    store: ImageStore
    uploads: UploadRepository
    events: EventSink
    moderator: Moderator
    now_ms: Callable[[], int]
    carousels: CarouselCounter


@dataclass(frozen=True)
class MediaLimits:
    max_bytes: int
    max_pixels: int


def counted_refusal(refused: bool) -> None:
    """Count the upload refused (UploadsRefused) if this call is what refused it: a redelivery finds it so already."""
    if refused:
        count("UploadsRefused")


def _checked_renditions(
    key: str, kind: Kind, ports: MediaPorts, limits: MediaLimits
) -> tuple[dict[str, Image.Image], list[Rendition]]:
    """Decode, size and moderate an upload: its sizes and fast renditions of the stored ones, or RejectedMediaError."""
    size = ports.store.size(key)
    if size is None:
        raise RejectedMediaError("the uploaded file is gone; upload it again")
    if size > limits.max_bytes:
        raise RejectedMediaError(f"the file is {size:,} bytes; the limit is {limits.max_bytes:,} bytes")
    original = decode(ports.store.read(key), limits.max_pixels, LARGEST)
    sizes = resized(original, kind)
    fast = render({s: sizes[s] for s in sizes_for(kind)}, FAST_FORMATS)
    preview = next((r.body for r in fast if r.size == "640" and r.format == "jpeg"), None)
    if preview is None:
        preview = encode(sizes["640"], "jpeg")  # a story stores no 640: moderation gets a transient one
    shown = [sizes["640"]]
    if kind == "story":
        # Blocked images are known by the hash of their post-shaped (4:5..1.91) 640; a story taller than that is
        # also checked in that shape, so a blocked photo cannot come back as a story.
        as_post = resized(original, "post")["640"]
        if as_post.size != sizes["640"].size:
            shown.append(as_post)
    for image in shown:
        verdict = ports.moderator.review(image, preview if image is sizes["640"] else encode(image, "jpeg"))
        if not verdict.allowed:
            raise RejectedMediaError(verdict.reason or "the image was refused by moderation")
    return sizes, fast


def _post_ready(
    upload: Upload, sizes: dict[str, Image.Image], keys: dict[tuple[str, str], str], at_ms: int
) -> PostReady:
    large = sizes["1080"]
    images = {s: {f: keys[(s, f)] for f in FORMATS} for s in sizes_for(upload.kind)}
    blurhash = blurhash_of(sizes["150"])
    photo = Photo(images=images, width=large.width, height=large.height, blurhash=blurhash, alt_text=upload.alt_text)
    return PostReady(
        event_id=f"{upload.upload_id}:ready",
        occurred_at=at_ms,
        upload_id=upload.upload_id,
        post_id=upload.target_id,
        author_id=upload.user_id,
        kind=upload.kind,
        caption=upload.caption,
        location=upload.location,
        hashtags=upload.hashtags,
        mentioned_ids=upload.mentioned_ids,
        audience=upload.audience,
        width=large.width,
        height=large.height,
        blurhash=blurhash,
        images=images,
        media=(photo,) if upload.kind == "post" else (),
    )


def process_upload(key: str, ports: MediaPorts, limits: MediaLimits) -> str:  # noqa: PLR0911 - one exit per outcome
    """Process one stored upload; returns where it ended: 'published', 'rejected', 'done' or 'ignored'.

    A refusal (type, size, pixels, damage, moderation) ends as `rejected` with a reason and publishes nothing.
    An unexpected error before publishing marks the upload `failed` and propagates, so the invocation is
    retried with the raw object still in place.
    """
    user_id, upload_id = parse_upload_key(key)
    try:
        upload = ports.uploads.get(upload_id)
    except UploadNotFoundError:
        logger.warning("object with no upload record", extra={"key": key})
        return "ignored"
    if upload.user_id != user_id:
        counted_refusal(ports.uploads.set_status(upload_id, "rejected", "the upload key does not match its owner"))
        return "rejected"
    if upload.items:  # a carousel's photos come under their own keys (aperture.media.carousel), never this one
        logger.warning("a one-photo object for a carousel upload", extra={"key": key})
        return "ignored"
    if upload.status == "rejected":
        return "rejected"
    stored_sizes = sizes_for(upload.kind)
    keys = {(s, f): image_key(user_id, upload.target_id, s, f) for s in stored_sizes for f in FORMATS}
    stored = ports.store.keys_under(f"{IMAGE_PREFIX}{user_id}/{upload.target_id}/")
    published = upload.status == "ready"
    if published and set(keys.values()) <= stored:
        return "done"
    if not published and not ports.uploads.set_status(
        upload_id, "processing", only_from=("pending", "processing", "failed")
    ):
        return process_upload(key, ports, limits)  # it was rejected or published meanwhile: start from that
    try:
        sizes, fast = _checked_renditions(key, upload.kind, ports, limits)
    except RejectedMediaError as error:
        # A live post stays live (say a moderator blocked its image after it went out): only unpublished
        # uploads are refused.
        counted_refusal(ports.uploads.set_status(upload_id, "rejected", error.message, only_from=UNPUBLISHED))
        return "rejected"
    except Exception:
        ports.uploads.set_status(upload_id, "failed", "processing failed; retrying", only_from=UNPUBLISHED)
        count("UploadsFailed")  # (each failed attempt: the invocation is retried)
        raise
    for rendition in (r for r in fast if keys[(r.size, r.format)] not in stored):
        ports.store.write_immutable(keys[(rendition.size, rendition.format)], rendition.body, rendition.content_type)
    if not published:
        ports.events.publish(_post_ready(upload, sizes, keys, ports.now_ms()))
        count("UploadsAccepted")
    # The post is out; AVIF follows. A failure here is retried by the invocation and the CDN serves WebP meanwhile.
    missing_avif = {s: sizes[s] for s in stored_sizes if keys[(s, "avif")] not in stored}
    for rendition in render(missing_avif, ["avif"]):
        ports.store.write_immutable(keys[(rendition.size, rendition.format)], rendition.body, rendition.content_type)
    ports.store.mark_processed(key)
    return "published"
