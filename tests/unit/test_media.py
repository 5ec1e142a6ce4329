"""Rendering: every size and format, nothing of the original's metadata, right side up."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image

from aperture.errors import RejectedMediaError
from aperture.media import render, sniff
from tests.support import jpeg_bytes

MAX_PIXELS = 50_000_000


def _exif(orientation: int | None = None, gps: bool = False) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        exif[ExifTags.Base.GPSInfo] = {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (52.0, 31.0, 12.0),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (13.0, 24.0, 36.0),
        }
    return exif.tobytes()


def _open(body: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(body))
    image.load()
    return image


def test_every_size_comes_in_jpeg_webp_and_avif() -> None:
    rendered = render(jpeg_bytes(1600, 1200), MAX_PIXELS)
    found = {(r.size, r.format): _open(r.body) for r in rendered.renditions}
    assert set(found) == {(s, f) for s in ("150", "640", "1080") for f in ("jpeg", "webp", "avif")}
    for (size, fmt), image in found.items():
        assert image.format == {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}[fmt]
        assert image.width == int(size)
    assert found[("150", "jpeg")].size == (150, 150)
    assert found[("1080", "jpeg")].size == (1080, 810)
    assert (rendered.width, rendered.height) == (1080, 810)


def test_a_small_photo_is_never_upscaled() -> None:
    rendered = render(jpeg_bytes(500, 400), MAX_PIXELS)
    sizes = {(r.size, r.format): (r.width, r.height) for r in rendered.renditions}
    assert sizes[("1080", "jpeg")] == (500, 400)
    assert sizes[("640", "webp")] == (500, 400)
    assert (rendered.width, rendered.height) == (500, 400)


def test_gps_and_every_other_exif_tag_are_gone_from_every_rendition() -> None:
    # Given a phone photo with a camera make and a GPS position
    original = jpeg_bytes(1200, 900, exif=_exif(gps=True))
    assert _open(original).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    # When it is rendered
    rendered = render(original, MAX_PIXELS)
    # Then no rendition carries EXIF at all
    for rendition in rendered.renditions:
        image = _open(rendition.body)
        assert not image.getexif(), (rendition.size, rendition.format)
        assert "exif" not in image.info
        assert b"GPS" not in rendition.body and b"PhoneCo" not in rendition.body


def test_an_orientation_6_photo_comes_out_portrait() -> None:
    # Given a landscape-stored sensor image tagged "rotate 90° clockwise to view"
    original = jpeg_bytes(1600, 1200, exif=_exif(orientation=6))
    # When it is rendered
    rendered = render(original, MAX_PIXELS)
    # Then the renditions are portrait
    full = next(r for r in rendered.renditions if r.size == "1080" and r.format == "jpeg")
    assert (full.width, full.height) == (1080, 1440)


def test_a_png_is_taken_by_its_bytes() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (800, 600), (10, 200, 30, 128)).save(out, "PNG")
    assert sniff(out.getvalue()) == "png"
    rendered = render(out.getvalue(), MAX_PIXELS)
    assert (rendered.width, rendered.height) == (800, 600)


@pytest.mark.parametrize(
    "body",
    [b"just some text, not an image", jpeg_bytes(800, 600)[:400], b""],
    ids=["text", "truncated-jpeg", "empty"],
)
def test_what_is_not_a_whole_image_is_rejected_with_a_reason(body: bytes) -> None:
    with pytest.raises(RejectedMediaError) as refused:
        render(body, MAX_PIXELS)
    assert refused.value.message


def test_too_many_pixels_are_refused_before_decoding() -> None:
    with pytest.raises(RejectedMediaError, match="pixels"):
        render(jpeg_bytes(1000, 1000), max_pixels=999_999)
