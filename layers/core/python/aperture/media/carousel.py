"""Carousels: each photo processed by its own invocation, the post announced once, with the last photo's count.

Every photo of a carousel is its own S3 object (uploads/{user}/{upload}/{item}), so S3 sends one notification per
photo and the photos are processed in parallel. A processed photo's fast renditions are stored, then the photo is
stored on the upload and counted down in one conditional write (CarouselCounter.count). The photo whose count
takes the upload to zero writes that count in one transaction with the carousel's 'post ready' event in the
outbox (CarouselCounter.count_last), so the event exists exactly when every photo is counted, once; the relay
hands it to post ingest, which publishes the post (the post, its count and its outbox event in one transaction).
A redelivery finds its photo counted and only finishes its renditions. One refused photo refuses the whole post,
with its index; every photo's renditions are removed then, and again by any photo that finds the upload refused,
so a photo finishing after the refusal leaves nothing behind.
"""

from __future__ import annotations

from PIL import Image

from aperture.errors import RejectedMediaError, UploadNotFoundError
from aperture.media.pipeline import (
    UNPUBLISHED,
    MediaLimits,
    MediaPorts,
    _checked_renditions,
    counted_refusal,
    image_key,
    process_upload,
)
from aperture.media.render import FORMATS, blurhash_of, render, sizes_for
from aperture.models.events import PostReady
from aperture.models.records import Photo, Upload
from aperture.observability import count, logger
from aperture.resources import IMAGE_PREFIX
from aperture.uploads import parse_item_key


def process_object(key: str, ports: MediaPorts, limits: MediaLimits) -> str:
    """Process one stored upload object: a one-photo upload (aperture.media.pipeline) or one photo of a carousel."""
    _, _, item = parse_item_key(key)
    if item is None:
        return process_upload(key, ports, limits)
    return process_item(key, ports, limits)


def _post_ready(upload: Upload, at_ms: int) -> PostReady:
    photos = tuple(upload.photos[str(i)] for i in range(len(upload.items)))
    first = photos[0]
    return PostReady(
        event_id=f"{upload.upload_id}:ready",
        occurred_at=at_ms,
        upload_id=upload.upload_id,
        post_id=upload.target_id,
        author_id=upload.user_id,
        kind="post",
        caption=upload.caption,
        location=upload.location,
        hashtags=upload.hashtags,
        mentioned_ids=upload.mentioned_ids,
        width=first.width,
        height=first.height,
        blurhash=first.blurhash,
        images=first.images,
        media=photos,
    )


def _refused(upload: Upload, ports: MediaPorts) -> str:
    """The carousel is refused: no photo of it keeps renditions."""
    ports.store.delete_unserved(f"{IMAGE_PREFIX}{upload.user_id}/{upload.target_id}/")
    return "rejected"


def process_item(key: str, ports: MediaPorts, limits: MediaLimits) -> str:  # noqa: PLR0911 - one exit per outcome
    """Process one photo of a carousel; returns 'published' (this photo was the last), 'processed', 'rejected',
    'done' or 'ignored'. An unexpected error marks the upload `failed` and propagates, so the invocation is
    retried with the raw object in place."""
    user_id, upload_id, item = parse_item_key(key)
    upload = _upload_of(key, upload_id, item, ports)
    if upload is None or item is None:
        return "ignored"
    if upload.user_id != user_id:
        counted_refusal(ports.carousels.refuse(upload_id, item, "the upload key does not match its owner"))
        return "rejected"
    if upload.status == "rejected":
        return _refused(upload, ports)
    sizes_stored = sizes_for("post")
    keys = {(s, f): image_key(user_id, upload.target_id, s, f, item) for s in sizes_stored for f in FORMATS}
    stored = ports.store.keys_under(f"{IMAGE_PREFIX}{user_id}/{upload.target_id}/")
    counted = str(item) in upload.photos
    if counted and set(keys.values()) <= stored:
        return "done"
    if upload.status != "ready":
        ports.uploads.set_status(upload_id, "processing", only_from=("pending", "failed"))
    try:
        sizes, fast = _checked_renditions(key, "post", ports, limits)
    except RejectedMediaError as error:
        counted_refusal(ports.carousels.refuse(upload_id, item, error.message))  # (the first refused photo's)
        return _refused(upload, ports) if ports.uploads.get(upload_id).status == "rejected" else "done"
    except Exception:
        ports.uploads.set_status(upload_id, "failed", "processing failed; retrying", only_from=UNPUBLISHED)
        count("UploadsFailed")
        raise
    for rendition in (r for r in fast if keys[(r.size, r.format)] not in stored):
        ports.store.write_immutable(keys[(rendition.size, rendition.format)], rendition.body, rendition.content_type)
    last = False
    if not counted:
        outcome = _count(upload, item, sizes, keys, ports)
        if outcome == "rejected":  # refused for another photo while this one was processed
            return _refused(upload, ports)
        last = outcome == "last"
    # The post may be on its way; AVIF follows. A failure here is retried by the invocation and the CDN serves WebP
    # meanwhile.
    missing_avif = {s: sizes[s] for s in sizes_stored if keys[(s, "avif")] not in stored}
    for rendition in render(missing_avif, ["avif"]):
        ports.store.write_immutable(keys[(rendition.size, rendition.format)], rendition.body, rendition.content_type)
    ports.store.mark_processed(key)
    return "published" if last else "processed"


def _upload_of(key: str, upload_id: int, item: int | None, ports: MediaPorts) -> Upload | None:
    """The carousel this photo belongs to, or None (logged) for an object that is no photo of one."""
    try:
        upload = ports.uploads.get(upload_id)
    except UploadNotFoundError:
        logger.warning("object with no upload record", extra={"key": key})
        return None
    if item is None or item >= len(upload.items):
        logger.warning("object for no photo of its upload", extra={"key": key})
        return None
    return upload


def _count(
    upload: Upload, item: int, sizes: dict[str, Image.Image], keys: dict[tuple[str, str], str], ports: MediaPorts
) -> str:
    """Store the photo on the upload and count it down, once: 'counted', 'last' (its count reached zero, written
    with the carousel's 'post ready' event), 'already' (a redelivery) or 'rejected'."""
    large = sizes["1080"]
    photo = Photo(
        images={s: {f: keys[(s, f)] for f in FORMATS} for s in sizes_for("post")},
        width=large.width,
        height=large.height,
        blurhash=blurhash_of(sizes["150"]),
        alt_text=upload.items[item].alt_text,
    )
    # Each failed attempt means another photo was counted meanwhile, so this ends within one try per photo.
    for _ in range(len(upload.items) + 1):
        if upload.status == "rejected":
            return "rejected"
        if str(item) in upload.photos:
            return "already"
        if upload.remaining == 1:
            whole = upload.model_copy(update={"photos": {**upload.photos, str(item): photo}})
            if ports.carousels.count_last(upload.upload_id, item, photo, _post_ready(whole, ports.now_ms())):
                count("UploadsAccepted")  # (its 'post ready' event was written with this count)
                return "last"
        elif ports.carousels.count(upload.upload_id, item, photo):
            return "counted"
        upload = ports.uploads.get(upload.upload_id)
    raise RuntimeError(f"upload {upload.upload_id}: the count of photo {item} kept failing")
