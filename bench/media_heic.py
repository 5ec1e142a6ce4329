"""Why the media pipeline is slower than pyvips on HEIC input: the time of each step, both pipelines, one run.

bench/media.py's speed table has ours about 14% behind pyvips on 12 MP HEIC (and level on JPEG). This splits a
HEIC photo's work, ours against pyvips, in median CPU and wall ms per photo over the same 4 phone photos (HEIC q80,
4000x3000), interleaved so both saw the same load:

- the libheif decode both pipelines share (pillow-heif: pyvips-binary's libheif has no HEVC decoder), alone;
- ours: that decode into a Pillow image, orientation and colour (the rest of `decode`), the 3 sizes (`resized`);
- pyvips: the decoded pixels handed to libvips and its 3 thumbnails;
- each side's blurhash and encoders (JPEG, WebP, AVIF for the 3 sizes);
- the whole pipeline of each, and ours as it was before `decode` transposed in place (`ours_copying`).

`--resize-options` instead prices the cheaper resizes that would close the gap (the 4000 to 1080 step, CPU ms and
SSIM against a plain LANCZOS resize, on the 4 photos and scikit-image's gravel, grass and brick tiled to 12 MP).

Run from the repository root: `python -m bench.media_heic` (a minute or two on two cores) or `--repeats N`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pillow_heif
from PIL import Image, ImageOps

from aperture.media import render
from aperture.media.decode import _open, _to_srgb, decode
from aperture.media.render import FORMATS, LARGEST, blurhash_of, resized
from bench.media import (
    MAX_PIXELS,
    PHOTOS,
    Photo,
    Renditions,
    Timing,
    _check,
    _table,
    _timed,
    _vips_blurhash,
    _vips_encode_all,
    _vips_sizes,
    corpus,
    ours,
    with_pyvips,
)


def libheif_decode(data: bytes) -> Any:
    """What both pipelines pay first: libheif's HEVC decode and YCbCr to RGB, as a numpy view of its buffer."""
    return np.asarray(pillow_heif.open_heif(data, convert_hdr_to_8bit=True))


def pillow_open(data: bytes) -> Image.Image:
    """Ours up to the Pillow image: the same decode, then its pixels copied into Pillow's 4-byte RGB layout."""
    return _open(data, "heic", MAX_PIXELS, LARGEST)


def decode_copying(data: bytes) -> Image.Image:
    """`decode` as it was: exif_transpose returned a copy of the full frame even for an upright photo."""
    image = ImageOps.exif_transpose(_open(data, "heic", MAX_PIXELS, LARGEST))
    rgb = _to_srgb(image)
    rgb.info = {}
    return rgb


def ours_copying(data: bytes, geometry: dict[str, tuple[int, int]]) -> Renditions:
    sizes = resized(decode_copying(data))
    blurhash_of(sizes["150"])
    return {(r.size, r.format): r.body for r in render.render(sizes, FORMATS)}


def vips_resize(pixels: Any, geometry: dict[str, tuple[int, int]]) -> Any:
    """libvips' part after the shared decode: the pixels handed over and the 3 thumbnails, in memory."""
    import pyvips

    source = pyvips.Image.new_from_array(np.ascontiguousarray(pixels), interpretation="srgb")
    width, height = geometry["1080"]
    large = source.thumbnail_image(width, height=height, crop="centre").copy_memory()
    width, height = geometry["640"]
    medium = large.thumbnail_image(width, height=height, crop="centre").copy_memory()
    width, height = geometry["150"]
    return {"1080": large, "640": medium, "150": medium.thumbnail_image(width, height=height, crop="centre")}


def steps(photo: Photo) -> list[tuple[str, Timing]]:
    """One pass of every step on one photo, each timed on its own."""
    timings: list[tuple[str, Timing]] = []
    timing, pixels = _timed(partial(libheif_decode, photo.data))
    timings.append(("shared: libheif decode", timing))
    timings.append(("ours: decode into Pillow", _timed(partial(pillow_open, photo.data))[0]))
    timings.append(("ours: whole decode()", _timed(partial(decode, photo.data, MAX_PIXELS, LARGEST))[0]))
    timings.append(("ours: decode_copying()", _timed(partial(decode_copying, photo.data))[0]))
    rgb = decode(photo.data, MAX_PIXELS, LARGEST)
    timing, sizes = _timed(partial(resized, rgb))
    timings.append(("ours: 3 sizes", timing))
    timings.append(("ours: blurhash", _timed(partial(blurhash_of, sizes["150"]))[0]))
    for fmt in FORMATS:
        timings.append((f"ours: {fmt}", _timed(partial(render.render, sizes, (fmt,)))[0]))
    timing, images = _timed(partial(vips_resize, pixels, photo.geometry))
    timings.append(("pyvips: hand-over + 3 thumbnails", timing))
    timings.append(("pyvips: whole decode + 3 sizes", _timed(partial(_vips_sizes, photo.data, photo.geometry))[0]))
    timings.append(("pyvips: blurhash", _timed(partial(_vips_blurhash, images["150"]))[0]))
    for fmt in FORMATS:
        timings.append((f"pyvips: {fmt}", _timed(partial(_vips_encode_all, images, fmt))[0]))
    return timings


PIPELINES: dict[str, Callable[[bytes, dict[str, tuple[int, int]]], Renditions]] = {
    "ours": ours,
    "ours_copying": ours_copying,
    "pyvips": with_pyvips,
}


def measure(photos: list[Photo], repeats: int) -> tuple[dict[str, Timing], dict[str, Timing]]:
    """Median per step and per whole pipeline: each photo's median over repeats, then the median over photos."""
    for photo in photos[:1]:  # warm-up: imports, codec set-up
        for name, run in PIPELINES.items():
            _check(name, photo, run(photo.data, photo.geometry))
        steps(photo)
    step_samples: dict[tuple[str, str], list[Timing]] = {}
    whole_samples: dict[tuple[str, str], list[Timing]] = {}
    for repeat in range(repeats):
        for index, photo in enumerate(photos):
            names = list(PIPELINES)
            shift = (repeat + index) % len(names)  # no pipeline always first
            for name in names[shift:] + names[:shift]:
                timing, _ = _timed(partial(PIPELINES[name], photo.data, photo.geometry))
                whole_samples.setdefault((name, photo.name), []).append(timing)
            for step, timing in steps(photo):
                step_samples.setdefault((step, photo.name), []).append(timing)

    def medians(samples: dict[tuple[str, str], list[Timing]]) -> dict[str, Timing]:
        keys = list(dict.fromkeys(key for key, _ in samples))
        out = {}
        for key in keys:
            per_photo = [ts for (k, _), ts in samples.items() if k == key]
            out[key] = Timing(
                statistics.median(statistics.median(t.wall_ms for t in ts) for ts in per_photo),
                statistics.median(statistics.median(t.cpu_ms for t in ts) for ts in per_photo),
            )
        return out

    return medians(step_samples), medians(whole_samples)


def _textures() -> list[tuple[str, Image.Image]]:
    import skimage.data

    tiled = []
    for name in ("gravel", "grass", "brick"):
        tile = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
        canvas = Image.new("RGB", (4000, 3000))
        for x in range(0, 4000, tile.width):
            for y in range(0, 3000, tile.height):
                canvas.paste(tile, (x, y))
        tiled.append((name, canvas))
    return tiled


def resize_options(photos: list[Photo], repeats: int) -> dict[str, dict[str, Any]]:
    """The 1080 step from a full 12 MP frame: Pillow's options, CPU ms and SSIM against plain LANCZOS."""
    from skimage.metrics import structural_similarity

    options: dict[str, Callable[[Image.Image, tuple[int, int]], Image.Image]] = {
        "LANCZOS, reducing_gap 1.5 (ours)": lambda i, s: i.resize(s, Image.Resampling.LANCZOS, reducing_gap=1.5),
        "LANCZOS, reducing_gap 1.2": lambda i, s: i.resize(s, Image.Resampling.LANCZOS, reducing_gap=1.2),
        "BICUBIC, reducing_gap 1.5": lambda i, s: i.resize(s, Image.Resampling.BICUBIC, reducing_gap=1.5),
        "HAMMING, reducing_gap 1.5": lambda i, s: i.resize(s, Image.Resampling.HAMMING, reducing_gap=1.5),
        "LANCZOS, plain": lambda i, s: i.resize(s, Image.Resampling.LANCZOS),
    }
    images = [(p.name, decode(p.data, MAX_PIXELS, LARGEST)) for p in photos] + _textures()
    results: dict[str, dict[str, Any]] = {}
    for label, option in options.items():
        cpu, ssim = [], []
        for _, image in images:
            size = (LARGEST, round(image.height * LARGEST / image.width))
            reference = np.asarray(image.resize(size, Image.Resampling.LANCZOS))
            cpu += [_timed(partial(option, image, size))[0].cpu_ms for _ in range(repeats)]
            ssim.append(structural_similarity(reference, np.asarray(option(image, size)), channel_axis=2))
        results[label] = {"cpu_ms": statistics.median(cpu), "ssim_photos": min(ssim[: len(photos)])}
        results[label]["ssim_textures"] = min(ssim[len(photos) :])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--resize-options", action="store_true", help="price the cheaper resizes instead")
    args = parser.parse_args()
    if args.resize_options:
        with tempfile.TemporaryDirectory(prefix="aperture-bench-") as temporary:
            photos = [p for p in corpus(PHOTOS, Path(temporary)) if p.kind == "heic"]
            options = resize_options(photos, args.repeats)
        rows = [
            [k, f"{v['cpu_ms']:.1f}", f"{v['ssim_photos']:.4f}", f"{v['ssim_textures']:.4f}"]
            for k, v in options.items()
        ]
        print(_table(["4000x3000 to 1080", "CPU ms", "min SSIM, photos", "min SSIM, textures"], rows))
        return
    print(f"Load average at start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="aperture-bench-") as temporary:
        photos = [p for p in corpus(PHOTOS, Path(temporary)) if p.kind == "heic"]
        by_step, whole = measure(photos, args.repeats)
    print(f"Load average at end: {os.getloadavg()[0]:.2f}\n")
    print(
        _table(
            ["step (HEIC 12 MP)", "CPU ms", "wall ms"],
            [[k, f"{t.cpu_ms:.1f}", f"{t.wall_ms:.1f}"] for k, t in by_step.items()],
        )
    )
    print()
    base = whole["pyvips"]
    print(
        _table(
            ["pipeline (HEIC 12 MP)", "CPU ms", "wall ms", "CPU / pyvips", "wall / pyvips"],
            [
                [
                    k,
                    f"{t.cpu_ms:.0f}",
                    f"{t.wall_ms:.0f}",
                    f"{t.cpu_ms / base.cpu_ms:.3f}",
                    f"{t.wall_ms / base.wall_ms:.3f}",
                ]
                for k, t in whole.items()
            ],
        )
    )


if __name__ == "__main__":
    main()
