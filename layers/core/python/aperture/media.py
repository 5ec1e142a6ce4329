"""Media processing: from an uploaded file to every size and format, metadata stripped, then 'post ready'."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from aperture.adapters.dynamo import UploadRepository
from aperture.adapters.kinesis import EventPublisher
from aperture.adapters.s3 import MediaStore
from aperture.errors import RejectedMediaError
from aperture.models.events import FORMATS, SIZES, PostReady
from aperture.resources import IMAGE_PREFIX
from aperture.uploads import parse_upload_key

EXTENSIONS = {"jpeg": "jpg", "webp": "webp", "avif": "avif"}
CONTENT_TYPES = {"jpeg": "image/jpeg", "webp": "image/webp", "avif": "image/avif"}
THUMBNAIL = 150
SIZE_LIMIT = int(max(SIZES, key=int))


@dataclass(frozen=True)
class Rendition:
    size: str
    format: str
    width: int
    height: int
    body: bytes


@dataclass(frozen=True)
class RenderedImage:
    width: int  # of the largest rendition
    height: int
    renditions: tuple[Rendition, ...]


def sniff(data: bytes) -> str | None:
    """The image type by its magic bytes: 'jpeg', 'png', 'heic', or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[4:8] == b"ftyp" and data[8:12] in {
        b"heic",
        b"heix",
        b"hevc",
        b"hevx",
        b"mif1",
        b"msf1",
        b"heim",
        b"heis",
    }:
        return "heic"
    return None


def _decode(data: bytes, max_pixels: int) -> Image.Image:
    kind = sniff(data)
    if kind is None:
        raise RejectedMediaError("the file is not a JPEG, PNG or HEIC image")
    if kind == "heic":
        import pillow_heif

        pillow_heif.register_heif_opener()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > max_pixels:
                raise RejectedMediaError(
                    f"the image has {image.width * image.height} pixels; the limit is {max_pixels}"
                )
            if image.format == "JPEG":
                # Decode at a reduced scale when the largest rendition needs no more.
                image.draft("RGB", (SIZE_LIMIT, SIZE_LIMIT))
            image.load()
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as error:
        raise RejectedMediaError(f"the image could not be decoded: {error}") from error
    oriented = ImageOps.exif_transpose(image)
    return oriented.convert("RGB")


def _resize(image: Image.Image, size: str) -> Image.Image:
    target = int(size)
    if target == THUMBNAIL:
        return ImageOps.fit(image, (THUMBNAIL, THUMBNAIL), Image.Resampling.LANCZOS)
    if image.width <= target:
        return image.copy()  # never upscale
    height = round(image.height * target / image.width)
    return image.resize((target, height), Image.Resampling.LANCZOS)


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    # No exif/icc/xmp arguments: Pillow writes no metadata unless asked, so nothing of the original survives.
    if fmt == "jpeg":
        image.save(out, "JPEG", quality=82, progressive=True, optimize=True)
    elif fmt == "webp":
        image.save(out, "WEBP", quality=80, method=4)
    else:
        image.save(out, "AVIF", quality=60, speed=8)
    return out.getvalue()


def render(data: bytes, max_pixels: int) -> RenderedImage:
    """Every size in every format from an encoded image; RejectedMediaError if it is not one we take."""
    image = _decode(data, max_pixels)
    renditions = []
    for size in SIZES:
        resized = _resize(image, size)
        for fmt in FORMATS:
            renditions.append(Rendition(size, fmt, resized.width, resized.height, _encode(resized, fmt)))
    largest = max(renditions, key=lambda r: r.width * r.height)
    return RenderedImage(largest.width, largest.height, tuple(renditions))


def image_key(user_id: int, post_id: int, size: str, fmt: str) -> str:
    return f"{IMAGE_PREFIX}{user_id}/{post_id}/{size}.{EXTENSIONS[fmt]}"


def process_upload(
    key: str,
    store: MediaStore,
    uploads: UploadRepository,
    events: EventPublisher,
    max_bytes: int,
    max_pixels: int,
    now_ms: Callable[[], int],
) -> str:
    """Turn one stored upload into renditions and a 'post ready' event. Returns the upload's new status.

    A refusal ends as `rejected` with a reason and publishes nothing. An unexpected error marks the upload
    `failed` and propagates, so the invocation is retried with the raw object still in place.
    """
    user_id, upload_id = parse_upload_key(key)
    upload = uploads.get(upload_id)
    if upload.user_id != user_id:
        uploads.set_status(upload_id, "rejected", "the upload key does not match its owner")
        return "rejected"
    if upload.status in {"ready", "rejected"}:
        return upload.status  # a redelivered notification for finished work
    uploads.set_status(upload_id, "processing", only_from=("pending", "processing", "failed"))
    try:
        size = store.size(key)
        if size is None:
            raise RejectedMediaError("the uploaded object is gone")
        if size > max_bytes:
            raise RejectedMediaError(f"the file is {size} bytes; the limit is {max_bytes} bytes")
        rendered = render(store.read(key), max_pixels)
    except RejectedMediaError as error:
        uploads.set_status(upload_id, "rejected", error.message)
        return "rejected"
    except Exception:
        uploads.set_status(upload_id, "failed", "processing failed; it will be retried")
        raise
    images: dict[str, dict[str, str]] = {}
    for rendition in rendered.renditions:
        object_key = image_key(user_id, upload.target_id, rendition.size, rendition.format)
        store.write_immutable(object_key, rendition.body, CONTENT_TYPES[rendition.format])
        images.setdefault(rendition.size, {})[rendition.format] = object_key
    events.publish(
        PostReady(
            event_id=f"{upload_id}:ready",
            occurred_at=now_ms(),
            upload_id=upload_id,
            post_id=upload.target_id,
            author_id=user_id,
            kind=upload.kind,
            caption=upload.caption,
            location=upload.location,
            hashtags=upload.hashtags,
            width=rendered.width,
            height=rendered.height,
            images=images,
        )
    )
    return "processing"
