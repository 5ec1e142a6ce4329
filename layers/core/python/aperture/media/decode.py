"""Decoding untrusted image files: type by magic bytes, bounded pixels, right side up, sRGB, no metadata."""

from __future__ import annotations

import io
import warnings
from typing import Literal

from PIL import Image, ImageCms, ImageOps, JpegImagePlugin, UnidentifiedImageError

from aperture.errors import RejectedMediaError

Kind = Literal["jpeg", "png", "heic"]
PIL_FORMATS: dict[Kind, list[str]] = {"jpeg": ["JPEG"], "png": ["PNG"], "heic": ["HEIF"]}
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
WHITE = (255, 255, 255)
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def sniff(data: bytes) -> Kind | None:
    """The image type by its first bytes, whatever the client declared."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "heic"
    return None


def _open(data: bytes, kind: Kind, max_pixels: int, min_side: int) -> Image.Image:
    if kind == "heic":
        import pillow_heif

        pillow_heif.register_heif_opener()
    with warnings.catch_warnings():
        # Pillow only warns at its own bomb limit; a warning here is a refusal.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image: Image.Image = Image.open(io.BytesIO(data), formats=PIL_FORMATS[kind])
        pixels = image.width * image.height
        if pixels > max_pixels:
            raise RejectedMediaError(f"the image is {image.width}x{image.height}; the limit is {max_pixels:,} pixels")
        if pixels == 0:
            raise RejectedMediaError("the image has no pixels")
        if getattr(image, "n_frames", 1) > 1:
            image.seek(0)  # animated input: the first frame
        if isinstance(image, JpegImagePlugin.JpegImageFile):
            # Let libjpeg scale by 1/2, 1/4 or 1/8 while decoding, keeping at least what the largest size needs.
            image.draft(image.mode, (min_side, min_side))
        image.load()
    # Anything far larger than the largest rendition is halved (or more) right away, so a huge PNG or HEIC
    # does not carry its full size through orientation and colour conversion.
    factor = min(image.width, image.height) // (2 * min_side)
    if factor >= 2 and image.mode in {"RGB", "RGBA", "L", "LA", "CMYK"}:
        reduced = image.reduce(factor)
        reduced.info = image.info  # keep orientation and profile for the steps that read them
        image = reduced
    return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """RGB in sRGB: embedded profiles converted, alpha flattened on white, 16-bit scaled, CMYK converted."""
    icc = image.info.get("icc_profile")
    if image.mode.startswith("I"):
        # 16-bit samples: keep the top 8 bits rather than clip everything above 255 to white.
        wide = image.convert("I")
        _, highest = wide.getextrema()
        sixteen_bit = image.mode.startswith("I;16") or float(highest) > 255  # type: ignore[arg-type]
        image = (wide.point(lambda value: value / 256) if sixteen_bit else wide).convert("L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in {"RGBA", "LA", "PA", "La", "RGBa"}:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, WHITE)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    if icc and image.mode in {"RGB", "L", "CMYK"}:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: treat the pixels as sRGB rather than refuse the photo
    return image.convert("RGB") if image.mode != "RGB" else image


def decode(data: bytes, max_pixels: int, min_side: int) -> Image.Image:
    """An RGB, sRGB, upright image with no metadata, or RejectedMediaError saying why not."""
    kind = sniff(data)
    if kind is None:
        raise RejectedMediaError("the file is not a JPEG, PNG or HEIC image")
    try:
        image = _open(data, kind, max_pixels, min_side)
        # In place: the image is this function's own, and the copy exif_transpose otherwise makes of an upright
        # photo is a full frame (48 MB for a 12 MP HEIC, which cannot be decoded at reduced scale).
        ImageOps.exif_transpose(image, in_place=True)
        rgb = _to_srgb(image)
    except RejectedMediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise RejectedMediaError(f"the image has more than the limit of {max_pixels:,} pixels") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise RejectedMediaError(f"the {kind.upper()} file is damaged or truncated ({error})") from error
    # Nothing of the original's metadata (EXIF with GPS, XMP, comments, profiles) may reach an encoder.
    rgb.info = {}
    return rgb
