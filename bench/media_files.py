"""Real image files for the media benchmark and tests, made with Pillow and pillow-heif: the kinds phones and
browsers produce."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags, Image


def photo(width: int = 1600, height: int = 1200) -> Image.Image:
    """A photograph-like RGB image: smooth gradients and edges, so encoders have real detail to keep."""
    gradient = Image.linear_gradient("L").resize((width, height))
    radial = Image.radial_gradient("L").resize((width, height))
    return Image.merge("RGB", (gradient, radial, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))


def exif(orientation: int | None = None, gps: bool = False) -> bytes:
    tags = Image.Exif()
    tags[ExifTags.Base.Make] = "PhoneCo"
    tags[ExifTags.Base.Model] = "Pocket 9"
    if orientation:
        tags[ExifTags.Base.Orientation] = orientation
    if gps:
        tags[ExifTags.Base.GPSInfo] = {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (52.0, 31.0, 12.0),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (13.0, 24.0, 36.0),
        }
    return tags.tobytes()


def save(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def jpeg(width: int = 1600, height: int = 1200, **options: object) -> bytes:
    return save(photo(width, height), "JPEG", quality=90, **options)


def gps_jpeg() -> bytes:
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description exif:GPSLatitude="52,31N"/></x:xmpmeta>'
    return jpeg(exif=exif(gps=True), comment=b"shot at home", xmp=xmp)


def heic(width: int = 1200, height: int = 900) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    return save(photo(width, height), "HEIF", quality=80)


def alpha_png(width: int = 800, height: int = 600) -> bytes:
    image = photo(width, height).convert("RGBA")
    image.putalpha(Image.linear_gradient("L").resize((width, height)))
    return save(image, "PNG")


def cmyk_jpeg(width: int = 1000, height: int = 800) -> bytes:
    return save(photo(width, height).convert("CMYK"), "JPEG", quality=90)


def gray16_png(width: int = 600, height: int = 400) -> bytes:
    """A 16-bit grayscale PNG, dark at the top and bright at the bottom, using the full 0..65535 range."""
    ramp = Image.linear_gradient("L").resize((width, height)).convert("I").point(lambda v: v * 257)
    return save(ramp.convert("I;16"), "PNG")


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def wide_gamut_profile() -> bytes:
    """An ICC v2 display profile with Adobe RGB (1998) primaries and gamma 2.2, built byte by byte."""

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)

    text = b"Wide gamut test\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 12 + b"\0" * 67
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 563) + b"\0\0"  # gamma 563/256 = 2.2
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.6097, 0.3111, 0.0195)),
        (b"gXYZ", xyz(0.2053, 0.6257, 0.0609)),
        (b"bXYZ", xyz(0.1492, 0.0632, 0.7446)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        padded = body + b"\0" * (-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += padded
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + b"\0" * 4
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 28
        + _s15(0.9642)
        + _s15(1.0)
        + _s15(0.8249)
        + b"\0" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def wide_gamut_jpeg() -> bytes:
    """A JPEG whose embedded profile says its numbers are Adobe RGB, not sRGB."""
    image = Image.new("RGB", (800, 600), (200, 100, 50))
    return save(image, "JPEG", quality=95, icc_profile=wide_gamut_profile())


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A tiny PNG whose header claims 400 megapixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )
