"""Image format negotiation for the CDN: which stored object answers a request, shared by edge and local."""

from __future__ import annotations

import re

# A post's first photo at images/{user}/{post}/{size}.{ext} (the seed's key), photo 1..9 of a carousel one level down
IMAGE_PATH = re.compile(
    r"^images/(?P<user>[0-9]+)/(?P<post>[0-9]+)/(?:(?P<item>[1-9])/)?(?P<size>150|640|1080)\.(?P<ext>jpg|webp|avif)$"
)
CONTENT_TYPES = {"avif": "image/avif", "webp": "image/webp", "jpg": "image/jpeg"}
PREFERENCE = ("avif", "webp", "jpg")


def _accepts(accept: str) -> set[str]:
    """Extensions the client names explicitly (q=0 excluded); a bare */* or image/* names none."""
    named = set()
    for part in accept.lower().split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if any(p.replace(" ", "") in {"q=0", "q=0.0", "q=0.00", "q=0.000"} for p in params):
            continue
        for ext, content_type in CONTENT_TYPES.items():
            if media == content_type:
                named.add(ext)
    return named


def candidate_keys(key: str, accept: str | None) -> list[str]:
    """Object keys to try, best first, for a request of `key` with this Accept header; [] if not an image path.

    A client that names AVIF or WebP gets the best it names; one that names types but neither of those gets
    JPEG; one that sends no Accept, or only wildcards, gets the format in the URL. AVIF is encoded after a
    post is published, so a missing AVIF falls back to WebP.
    """
    match = IMAGE_PATH.fullmatch(key)
    if match is None:
        return []
    stem = key.rsplit(".", 1)[0]
    named = _accepts(accept or "") & {"avif", "webp"}
    wildcard_only = all(
        part.split(";")[0].strip() in {"", "*/*", "image/*"} for part in (accept or "").lower().split(",")
    )
    fallback = match["ext"] if wildcard_only else "jpg"
    first = next((ext for ext in PREFERENCE if ext in named), fallback)
    order = [first]
    if first == "avif":
        order.append("webp")
    if first != "jpg":
        order.append("jpg")
    return [f"{stem}.{ext}" for ext in order]


FALLBACK_CACHE_CONTROL = "public, max-age=60"  # a WebP answering for an AVIF not encoded yet: not for long


def image_urls(images: dict[str, dict[str, str]], cdn_base: str) -> dict[str, dict[str, str]]:
    """A record's rendition keys (size -> format -> key) as the CDN URLs clients fetch."""
    base = cdn_base.rstrip("/")
    return {size: {fmt: f"{base}/{key}" for fmt, key in formats.items()} for size, formats in images.items()}


def content_type(key: str) -> str:
    return CONTENT_TYPES[key.rsplit(".", 1)[1]]
