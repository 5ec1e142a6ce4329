"""Renditions as JPEG, WebP and AVIF.

A post: a 150x150 thumbnail, and 640 and 1080 wide clamped to 4:5..1.91:1. A story (full screen on a phone):
1080 wide only, clamped to 9:16..1.91:1.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import blurhash
from PIL import Image, ImageOps

Kind = Literal["post", "story"]

SIZES: tuple[str, ...] = ("150", "640", "1080")  # a post's stored sizes
STORY_SIZES: tuple[str, ...] = ("1080",)
FAST_FORMATS: tuple[str, ...] = ("jpeg", "webp")  # enough to publish; AVIF follows
FORMATS: tuple[str, ...] = (*FAST_FORMATS, "avif")
EXTENSIONS = {"jpeg": "jpg", "webp": "webp", "avif": "avif"}
CONTENT_TYPES = {"jpeg": "image/jpeg", "webp": "image/webp", "avif": "image/avif"}
THUMBNAIL = 150
LARGEST = 1080
MIN_RATIO = 4 / 5  # tallest feed shape
STORY_MIN_RATIO = 9 / 16  # tallest story shape: a phone screen
MAX_RATIO = 1.91  # widest feed shape
JPEG_QUALITY = 82
WEBP_QUALITY = 80
WEBP_METHOD = 4
AVIF_QUALITY = 60
AVIF_SPEED = 8


@dataclass(frozen=True)
class Rendition:
    size: str
    format: str
    width: int
    height: int
    body: bytes

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


def sizes_for(kind: Kind) -> tuple[str, ...]:
    """The sizes stored (and published) for an upload of this kind."""
    return STORY_SIZES if kind == "story" else SIZES


def clamp_aspect(image: Image.Image, min_ratio: float = MIN_RATIO) -> Image.Image:
    """Centre-crop to within `min_ratio` (portrait; 4:5 unless told) and 1.91:1 (landscape)."""
    width, height = image.size
    ratio = width / height
    if ratio < min_ratio:
        keep = round(width / min_ratio)
        top = (height - keep) // 2
        return image.crop((0, top, width, top + keep))
    if ratio > MAX_RATIO:
        keep = round(height * MAX_RATIO)
        left = (width - keep) // 2
        return image.crop((left, 0, left + keep, height))
    return image


def _fit_width(image: Image.Image, width: int) -> Image.Image:
    if image.width <= width:
        return image  # never upscale
    height = max(1, round(image.height * width / image.width))
    # Box-reduce by an integer factor first while LANCZOS still shrinks at least 1.5x: for decodes libjpeg could
    # not scale (HEIC, PNG) this is the shortcut a JPEG gets from draft(), and it halves the 1080 step of a 12 MP
    # HEIC (bench/media.py) for an SSIM >= 0.997 against a plain LANCZOS resize, even on fine texture.
    return image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=1.5)


def resized(image: Image.Image, kind: Kind = "post") -> dict[str, Image.Image]:
    """Each size, each made from the next larger one so no step resamples the full original.

    A story gets all three too, its 1080 clamped to 9:16 rather than 4:5, but stores only `sizes_for("story")`:
    its 640 is for moderation and its 150 for the BlurHash.
    """
    large = _fit_width(clamp_aspect(image, STORY_MIN_RATIO if kind == "story" else MIN_RATIO), LARGEST)
    medium = _fit_width(large, 640)
    side = min(THUMBNAIL, image.width, image.height)
    thumbnail = ImageOps.fit(medium if min(medium.size) >= side else image, (side, side), Image.Resampling.LANCZOS)
    return {"150": thumbnail, "640": medium, "1080": large}


def encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    # No exif, icc_profile, xmp or comment argument, and the image's info was emptied at decode:
    # nothing of the original's metadata is written.
    if fmt == "jpeg":
        image.save(out, "JPEG", quality=JPEG_QUALITY, progressive=True, optimize=True)
    elif fmt == "webp":
        image.save(out, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    elif fmt == "avif":
        image.save(out, "AVIF", quality=AVIF_QUALITY, speed=AVIF_SPEED)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return out.getvalue()


def render(sizes: dict[str, Image.Image], formats: Iterable[str]) -> list[Rendition]:
    return [
        Rendition(size, fmt, image.width, image.height, encode(image, fmt))
        for size, image in sizes.items()
        for fmt in formats
    ]


def blurhash_of(thumbnail: Image.Image) -> str:
    """A BlurHash placeholder; computed on a 32-pixel copy, which is all 4x3 components can show."""
    small = thumbnail.copy()
    small.thumbnail((32, 32), Image.Resampling.BILINEAR)
    raw = small.tobytes()
    width = small.width
    rows = [
        [list(raw[(y * width + x) * 3 : (y * width + x) * 3 + 3]) for x in range(width)] for y in range(small.height)
    ]
    return str(blurhash.encode(rows, components_x=4, components_y=3))
