"""Decoding and rendering real files: sizes, shapes, formats, orientation, colour, privacy, refusals."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from aperture.errors import RejectedMediaError
from aperture.media.decode import decode, sniff
from aperture.media.render import FORMATS, blurhash_of, render, resized, sizes_for
from bench import media_files

MAX_PIXELS = 50_000_000


def _open(body: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(body))
    image.load()
    return image


def _all(data: bytes) -> dict[tuple[str, str], Image.Image]:
    renditions = render(resized(decode(data, MAX_PIXELS, 1080)), FORMATS)
    return {(r.size, r.format): _open(r.body) for r in renditions}


def test_every_size_comes_in_jpeg_webp_and_avif() -> None:
    found = _all(media_files.jpeg(1600, 1200))
    assert set(found) == {(s, f) for s in ("150", "640", "1080") for f in ("jpeg", "webp", "avif")}
    for (_, fmt), image in found.items():
        assert image.format == {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}[fmt]
    assert found[("150", "jpeg")].size == (150, 150)
    assert found[("640", "webp")].size == (640, 480)
    assert found[("1080", "avif")].size == (1080, 810)
    assert found[("1080", "jpeg")].info.get("progressive") == 1


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((2000, 2000), {"640": (640, 640), "1080": (1080, 1080)}),  # square stays square, as the seed says
        ((1000, 3000), {"640": (640, 800), "1080": (1000, 1250)}),  # taller than 4:5 is cropped to 4:5
        ((4000, 1000), {"640": (640, 335), "1080": (1080, 565)}),  # wider than 1.91:1 is cropped to it
        ((500, 400), {"640": (500, 400), "1080": (500, 400)}),  # never upscaled
    ],
)
def test_feed_sizes_keep_the_aspect_within_4_5_and_1_91(size: tuple[int, int], expected: dict) -> None:
    sizes = resized(decode(media_files.jpeg(*size), MAX_PIXELS, 1080))
    assert {s: sizes[s].size for s in ("640", "1080")} == expected
    assert sizes["150"].size == (150, 150)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1080, 2400), (1080, 1920)),  # a tall phone screenshot is cropped to 9:16
        ((2160, 4800), (1080, 1920)),  # and a larger one is also scaled down to 1080 wide
        ((1200, 1600), (1080, 1440)),  # 3:4 fits a story as it is (a post would crop it to 4:5)
        ((4000, 1000), (1080, 565)),  # wider than 1.91:1 is cropped to it, as for a post
        ((720, 1280), (720, 1280)),  # never upscaled
    ],
)
def test_a_story_is_one_size_within_9_16_and_1_91(size: tuple[int, int], expected: tuple[int, int]) -> None:
    sizes = resized(decode(media_files.jpeg(*size), MAX_PIXELS, 1080), "story")
    assert sizes["1080"].size == expected
    # The 640 that moderation sees and the 150 the BlurHash comes from are made, but not stored
    assert sizes["640"].width == min(640, expected[0]) and sizes["150"].size == (150, 150)
    renditions = render({s: sizes[s] for s in sizes_for("story")}, FORMATS)
    assert {(r.size, r.format, r.width, r.height) for r in renditions} == {("1080", f, *expected) for f in FORMATS}
    assert {_open(r.body).size for r in renditions} == {expected}


def test_a_story_shows_the_middle_of_a_tall_photo() -> None:
    # Given a tall photo: a red band at the top, blue at the bottom, green in between
    original = Image.new("RGB", (1080, 2400), (0, 160, 0))
    original.paste((220, 0, 0), (0, 0, 1080, 200))
    original.paste((0, 0, 220), (0, 2200, 1080, 2400))
    # When it becomes a story, then the cut is even: the bands are gone from top and bottom alike
    large = resized(decode(media_files.save(original, "PNG"), MAX_PIXELS, 1080), "story")["1080"]
    assert large.size == (1080, 1920)
    assert large.getpixel((540, 0)) == large.getpixel((540, 1919)) == (0, 160, 0)


def test_gps_exif_xmp_and_comments_are_gone_from_every_rendition() -> None:
    # Given a phone photo with GPS, camera make, XMP and a comment
    original = media_files.gps_jpeg()
    assert _open(original).getexif() and b"PhoneCo" in original and b"shot at home" in original
    # When it is rendered, then no rendition carries any of it
    for key, image in _all(original).items():
        assert not image.getexif(), key
        assert not {"exif", "xmp", "comment", "icc_profile"} & set(image.info), (key, set(image.info))
    for rendition in render(resized(decode(original, MAX_PIXELS, 1080)), FORMATS):
        assert b"PhoneCo" not in rendition.body and b"shot at home" not in rendition.body
        assert b"GPSLatitude" not in rendition.body


def test_an_orientation_6_phone_photo_comes_out_portrait() -> None:
    # Given a sensor image stored landscape and tagged "rotate 90° clockwise to view"
    original = media_files.jpeg(1600, 1200, exif=media_files.exif(orientation=6))
    # When it is rendered, then it is portrait (and clamped to 4:5)
    found = _all(original)
    assert found[("1080", "jpeg")].size == (1080, 1350)


def test_a_heic_photo_is_decoded_and_rendered() -> None:
    data = media_files.heic(1200, 900)
    assert sniff(data) == "heic"
    assert _all(data)[("1080", "webp")].size == (1080, 810)


def test_a_png_with_alpha_is_flattened_on_white() -> None:
    image = decode(media_files.alpha_png(), MAX_PIXELS, 1080)
    assert image.mode == "RGB"
    # The fully transparent top row comes out white, not black; the opaque bottom keeps its colour
    assert image.getpixel((400, 0)) == (255, 255, 255)
    assert image.getpixel((400, 599)) == media_files.photo(800, 600).getpixel((400, 599))


def test_a_cmyk_jpeg_becomes_rgb_with_its_colours() -> None:
    image = decode(media_files.cmyk_jpeg(), MAX_PIXELS, 1080)
    reference = media_files.photo(1000, 800)
    assert image.mode == "RGB"
    pixel, expected = image.getpixel((500, 400)), reference.getpixel((500, 400))
    assert all(abs(a - b) <= 40 for a, b in zip(pixel, expected, strict=True)), (pixel, expected)


def test_a_16_bit_grayscale_png_keeps_its_tones() -> None:
    image = decode(media_files.gray16_png(), MAX_PIXELS, 1080)
    assert image.mode == "RGB"
    top, middle, bottom = (image.getpixel((300, y))[0] for y in (0, 200, 399))
    assert top < 10 and 100 < middle < 155 and bottom > 245  # scaled from 16 bits, not clipped to white


def test_an_embedded_wide_gamut_profile_is_converted_to_srgb_then_dropped() -> None:
    # Given an orange stored as Adobe RGB numbers, and the same numbers with no profile
    tagged = media_files.wide_gamut_jpeg()
    untagged = media_files.save(_open(tagged), "JPEG", quality=95)
    converted, plain = decode(tagged, MAX_PIXELS, 1080), decode(untagged, MAX_PIXELS, 1080)
    # Then the tagged one is re-expressed in sRGB (a wider gamut's orange needs more red and less blue in sRGB)
    (r, _, b), (r0, _, b0) = converted.getpixel((400, 300)), plain.getpixel((400, 300))
    assert r > r0 + 5 and b < b0 - 5
    assert "icc_profile" not in converted.info


def test_the_first_frame_of_an_animation_is_used() -> None:
    frames = [Image.new("RGB", (300, 300), c) for c in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:])
    assert decode(out.getvalue(), MAX_PIXELS, 1080).getpixel((10, 10)) == (255, 0, 0)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"just some text, not an image", "not a JPEG, PNG or HEIC"),
        (media_files.jpeg(800, 600)[:1500], "damaged or truncated"),
        (b"", "not a JPEG, PNG or HEIC"),
        (media_files.png_bomb(), "50,000,000 pixels"),
    ],
    ids=["text", "truncated-jpeg", "empty", "20000x20000-png-bomb"],
)
def test_what_is_not_a_whole_safe_image_is_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(RejectedMediaError, match=reason):
        decode(body, MAX_PIXELS, 1080)


def test_the_type_comes_from_the_bytes_not_the_name() -> None:
    assert sniff(media_files.save(media_files.photo(10, 10), "PNG")) == "png"
    assert sniff(media_files.jpeg(10, 10)) == "jpeg"
    assert sniff(b"GIF89a....") is None


def test_the_blurhash_describes_the_thumbnail() -> None:
    red = blurhash_of(Image.new("RGB", (150, 150), (220, 20, 20)))
    blue = blurhash_of(Image.new("RGB", (150, 150), (20, 20, 220)))
    assert len(red) == 28 and red != blue
