"""The media pipeline benchmark: our renditions against a naive Pillow pipeline and pyvips, on 12 MP phone photos.

Run from the repository root: `python -m bench.media` (a few minutes on two cores) or `python -m bench.media --quick`.
It prints markdown tables: speed (median ms per photo for all 9 renditions), where our time goes, the two AVIF
encoders, AVIF speed settings, bytes at matched SSIM, peak RSS, and the targets with their verdicts.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pillow_heif
from PIL import Image, ImageOps, features

from aperture.media import render
from aperture.media.decode import decode, sniff
from aperture.media.render import FORMATS, LARGEST, SIZES, blurhash_of, clamp_aspect, resized
from aperture.resources import function
from aperture.settings import Settings
from bench import media_files

Geometry = dict[str, tuple[int, int]]
Renditions = dict[tuple[str, str], bytes]
Pipeline = Callable[[bytes, Geometry], Renditions]
T = TypeVar("T")

MAX_PIXELS: int = Settings.model_fields["max_image_pixels"].default
MAX_UPLOAD_BYTES: int = Settings.model_fields["max_upload_bytes"].default
LAMBDA_MEMORY_MB = function("media_process").memory_mb
# scikit-image's bundled colour photographs (no download); the one in PORTRAIT is stored as a phone stores a
# portrait shot: landscape pixels tagged EXIF orientation 6, so decoding must rotate it and clamp it to 4:5.
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
PORTRAIT = {"rocket"}
PHONE_SIZE = (4000, 3000)  # 12 MP
LIMIT_SIZE = (8160, 6120)  # 49.9 MP, just under max_image_pixels: the most an upload may decode to
PHONE_JPEG_QUALITY = 92
PHONE_HEIC_QUALITY = 80
NAIVE_AVIF_SPEED = 6  # libavif's default speed, what a pipeline gets without tuning
SSIM_FLOOR = 0.95
ENCODER_NOISE = 0.05  # run-to-run spread of these timings on a shared 2-core machine
AVIF_SPEEDS = (6, 7, 8, 9, 10)
QUALITY_CONSTANT = {"jpeg": "JPEG_QUALITY", "webp": "WEBP_QUALITY", "avif": "AVIF_QUALITY"}
# Targets from the issue.
MIN_SPEEDUP_OVER_NAIVE = 2.0
MAX_SHARE_OF_PYVIPS = 1.0
MAX_AVIF_SHARE_OF_JPEG = 0.60
MAX_RSS_MB = 512
LAMBDA_FULL_VCPU_MB = 1769  # Lambda gives one full vCPU at this memory size; CPU share scales linearly below it


@dataclass(frozen=True)
class Photo:
    name: str
    kind: str  # "jpeg" or "heic"
    path: Path
    data: bytes
    geometry: Geometry  # each rendition's size, as our pipeline makes it; the others must match it


@dataclass(frozen=True)
class Timing:
    wall_ms: float
    cpu_ms: float  # all threads of the process: what a fractional Lambda vCPU has to pay for


@dataclass(frozen=True)
class Probe:
    quality: int
    size: int
    ssim: float


# --- the three pipelines -------------------------------------------------------------------------------------


def ours(data: bytes, geometry: Geometry) -> Renditions:
    """What the media function does: reduced-scale decode, each size from the next larger, 3 formats, blurhash."""
    sizes = resized(decode(data, MAX_PIXELS, LARGEST))
    blurhash_of(sizes["150"])
    return {(r.size, r.format): r.body for r in render.render(sizes, FORMATS)}


def naive(data: bytes, geometry: Geometry) -> Renditions:
    """The obvious Pillow code: full decode, every size from full resolution with LANCZOS, AVIF at speed 6."""
    pillow_heif.register_heif_opener()
    full = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    clamped = clamp_aspect(full)
    sizes = {
        "150": ImageOps.fit(full, geometry["150"], Image.Resampling.LANCZOS),
        "640": clamped.resize(geometry["640"], Image.Resampling.LANCZOS),
        "1080": clamped.resize(geometry["1080"], Image.Resampling.LANCZOS),
    }
    blurhash_of(sizes["150"])
    with _constants(AVIF_SPEED=NAIVE_AVIF_SPEED):
        return {(s, f): render.encode(image, f) for s, image in sizes.items() for f in FORMATS}


def _vips_sizes(data: bytes, geometry: Geometry) -> dict[str, Any]:
    """The 3 sizes as in-memory pyvips images: shrink-on-load thumbnail, centre crop to our geometry."""
    import pyvips

    # Every upload is a new file: repeats of one photo must not be answered from libvips' operation cache.
    pyvips.cache_set_max(0)
    width, height = geometry["1080"]
    if sniff(data) == "heic":
        # pyvips-binary's libheif has no HEVC decoder: decode with pillow-heif and hand libvips the pixels.
        pixels = np.asarray(pillow_heif.open_heif(data, convert_hdr_to_8bit=True))
        source = pyvips.Image.new_from_array(np.ascontiguousarray(pixels), interpretation="srgb")
        large = source.thumbnail_image(width, height=height, crop="centre")
    else:
        large = pyvips.Image.thumbnail_buffer(data, width, height=height, crop="centre")
    # Like ours, each smaller size from the next larger one, held in memory rather than recomputed.
    large = large.copy_memory()
    width, height = geometry["640"]
    medium = large.thumbnail_image(width, height=height, crop="centre").copy_memory()
    width, height = geometry["150"]
    small = medium.thumbnail_image(width, height=height, crop="centre").copy_memory()
    return {"150": small, "640": medium, "1080": large}


def _vips_blurhash(small: Any) -> str:
    return blurhash_of(Image.frombytes("RGB", (small.width, small.height), small.write_to_memory()))


def _vips_encode(image: Any, fmt: str) -> bytes:
    """libvips' savers at our qualities and effort, keeping no metadata, as ours."""
    import pyvips

    keep = pyvips.enums.ForeignKeep.NONE
    if fmt == "jpeg":
        return bytes(image.jpegsave_buffer(Q=render.JPEG_QUALITY, interlace=True, optimize_coding=True, keep=keep))
    if fmt == "webp":
        return bytes(image.webpsave_buffer(Q=render.WEBP_QUALITY, effort=render.WEBP_METHOD, keep=keep))
    # libheif hands aom speed = 9 - effort, so this is the speed ours runs libavif at.
    effort = max(0, 9 - render.AVIF_SPEED)
    return bytes(image.heifsave_buffer(Q=render.AVIF_QUALITY, compression="av1", effort=effort, keep=keep))


def _vips_encode_all(sizes: dict[str, Any], fmt: str) -> list[bytes]:
    return [_vips_encode(image, fmt) for image in sizes.values()]


def with_pyvips(data: bytes, geometry: Geometry) -> Renditions:
    """libvips doing the same work: shrink-on-load thumbnail, crop to our geometry, matched encoders, blurhash."""
    sizes = _vips_sizes(data, geometry)
    _vips_blurhash(sizes["150"])
    return {(s, f): _vips_encode(image, f) for s, image in sizes.items() for f in FORMATS}


PIPELINES: dict[str, Pipeline] = {"ours": ours, "naive": naive, "pyvips": with_pyvips}


@contextlib.contextmanager
def _constants(**values: int) -> Iterator[None]:
    """Run render.encode with other qualities or speeds, so every variant uses exactly its encoder options."""
    previous = {name: getattr(render, name) for name in values}
    for name, value in values.items():
        setattr(render, name, value)
    try:
        yield
    finally:
        for name, value in previous.items():
            setattr(render, name, value)


@contextlib.contextmanager
def _avif_encoder(save: Any) -> Iterator[None]:
    """Make `save` Pillow's AVIF save handler for a while; pillow_avif replaces Pillow's on import."""
    previous = Image.SAVE["AVIF"]
    Image.register_save("AVIF", save)
    try:
        yield
    finally:
        Image.register_save("AVIF", previous)


# --- the photographs ----------------------------------------------------------------------------------------


def _source(name: str) -> Image.Image:
    import skimage.data

    return Image.fromarray(getattr(skimage.data, name)())


def _phone_files(name: str, size: tuple[int, int], folder: Path, portrait: bool) -> list[Path]:
    """A phone's JPEG (q92, 4:2:0, EXIF) and HEIC of one photograph, upscaled with LANCZOS to `size`."""
    shape = (size[1], size[0]) if portrait else size
    upright = ImageOps.fit(_source(name), shape, Image.Resampling.LANCZOS)
    # A portrait shot is stored sideways and tagged "rotate 90° clockwise to view", as phones do.
    stored = upright.transpose(Image.Transpose.ROTATE_90) if portrait else upright
    exif = media_files.exif(orientation=6 if portrait else 1)
    jpeg = folder / f"{name}-{size[0]}.jpg"
    jpeg.write_bytes(media_files.save(stored, "JPEG", quality=PHONE_JPEG_QUALITY, exif=exif))
    # HEIC stores the upright pixels (its rotation lives in irot, which pillow-heif applies on decode). The
    # ultrafast preset only makes the file quickly; decoding cost does not depend on it.
    pillow_heif.register_heif_opener()
    heic = folder / f"{name}-{size[0]}.heic"
    heic.write_bytes(media_files.save(upright, "HEIF", quality=PHONE_HEIC_QUALITY, enc_params={"preset": "ultrafast"}))
    return [jpeg, heic]


def _photo(path: Path) -> Photo:
    data = path.read_bytes()
    assert len(data) <= MAX_UPLOAD_BYTES, f"{path.name} is {len(data):,} bytes, more than an upload may be"
    geometry = {size: image.size for size, image in resized(decode(data, MAX_PIXELS, LARGEST)).items()}
    kind = sniff(data)
    assert kind in {"jpeg", "heic"}, path
    return Photo(path.stem.split("-")[0], kind, path, data, geometry)


def corpus(names: tuple[str, ...], folder: Path) -> list[Photo]:
    paths = [p for name in names for p in _phone_files(name, PHONE_SIZE, folder, name in PORTRAIT)]
    return [_photo(path) for path in paths]


# --- measuring -----------------------------------------------------------------------------------------------


def _timed(run: Callable[[], T]) -> tuple[Timing, T]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return Timing((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000), result


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _check(pipeline: str, photo: Photo, renditions: Renditions) -> None:
    """Every pipeline must make the same 9 renditions at the same pixel sizes, or the comparison is void."""
    assert set(renditions) == {(s, f) for s in SIZES for f in FORMATS}, (pipeline, sorted(renditions))
    for (size, fmt), body in renditions.items():
        found = Image.open(io.BytesIO(body)).size
        assert found == photo.geometry[size], (pipeline, photo.name, photo.kind, size, fmt, found)


def speed(photos: list[Photo], repeats: int) -> dict[tuple[str, str], dict[str, Any]]:
    """Per input kind and pipeline: median over photos of each photo's median wall and CPU ms, and bytes made."""
    first_of_each_kind = {photo.kind: photo for photo in reversed(photos)}.values()
    for photo in first_of_each_kind:  # warm up: imports and codec set-up, untimed
        for name, run in PIPELINES.items():
            _check(name, photo, run(photo.data, photo.geometry))
    samples: dict[tuple[str, str, str], list[Timing]] = {}
    made: dict[tuple[str, str, str], int] = {}
    for repeat in range(repeats):
        for index, photo in enumerate(photos):
            names = list(PIPELINES)
            shift = (repeat + index) % len(names)  # rotate the order so no pipeline always runs first
            for name in names[shift:] + names[:shift]:
                timing, renditions = _timed(partial(PIPELINES[name], photo.data, photo.geometry))
                samples.setdefault((photo.kind, name, photo.name), []).append(timing)
                if repeat == 0:
                    _check(name, photo, renditions)
                    made[(photo.kind, name, photo.name)] = sum(len(body) for body in renditions.values())
    results: dict[tuple[str, str], dict[str, Any]] = {}
    for kind in sorted({p.kind for p in photos}, key=["jpeg", "heic"].index):
        names_of_kind = [p.name for p in photos if p.kind == kind]
        for name in PIPELINES:
            per_photo = [samples[(kind, name, photo)] for photo in names_of_kind]
            results[(kind, name)] = {
                "wall_ms": _median([_median([t.wall_ms for t in ts]) for ts in per_photo]),
                "cpu_ms": _median([_median([t.cpu_ms for t in ts]) for ts in per_photo]),
                "bytes": _median([made[(kind, name, photo)] for photo in names_of_kind]),
            }
    return results


def stages(photos: list[Photo], repeats: int) -> dict[str, dict[str, float]]:
    """Where the time goes on JPEG input, ours against pyvips: median wall and CPU ms per photo of each step."""
    samples: dict[tuple[str, str], list[float]] = {}
    for _ in range(repeats):
        for photo in (p for p in photos if p.kind == "jpeg"):
            timing, image = _timed(partial(decode, photo.data, MAX_PIXELS, LARGEST))
            steps = [("ours", "decode", timing)]
            timing, sizes = _timed(partial(resized, image))
            steps.append(("ours", "resize", timing))
            steps.append(("ours", "blurhash", _timed(partial(blurhash_of, sizes["150"]))[0]))
            for fmt in FORMATS:
                steps.append(("ours", fmt, _timed(partial(render.render, sizes, (fmt,)))[0]))
            timing, images = _timed(partial(_vips_sizes, photo.data, photo.geometry))
            steps.append(("pyvips", "decode + resize", timing))
            steps.append(("pyvips", "blurhash", _timed(partial(_vips_blurhash, images["150"]))[0]))
            for fmt in FORMATS:
                timing = _timed(partial(_vips_encode_all, images, fmt))[0]
                steps.append(("pyvips", fmt, timing))
            for pipeline, step, timing in steps:
                samples.setdefault((f"{pipeline} wall", step), []).append(timing.wall_ms)
                samples.setdefault((f"{pipeline} CPU", step), []).append(timing.cpu_ms)
    rows = [f"{pipeline} {measure}" for pipeline in ("ours", "pyvips") for measure in ("wall", "CPU")]
    return {row: {step: _median(values) for (of, step), values in samples.items() if of == row} for row in rows}


def avif_encoders(photos: list[Photo], repeats: int) -> dict[str, dict[str, Any]]:
    """Pillow's own AVIF encoder against pillow-avif-plugin's, both at our quality and speed, on our 3 sizes."""
    from PIL import AvifImagePlugin as PillowAvif

    opener, saver, all_saver = Image.OPEN.get("AVIF"), Image.SAVE.get("AVIF"), Image.SAVE_ALL.get("AVIF")
    from pillow_avif import AvifImagePlugin as PluginAvif  # registers itself over Pillow's handlers

    # Put back what production has; only _avif_encoder switches, and only for a while.
    if opener and saver and all_saver:
        Image.OPEN["AVIF"], Image.SAVE["AVIF"], Image.SAVE_ALL["AVIF"] = opener, saver, all_saver
    encoders = {
        f"Pillow {Image.__version__} (PIL.AvifImagePlugin)": PillowAvif._save,
        f"pillow-avif-plugin {_version('pillow-avif-plugin')}": PluginAvif._save,
    }
    jpegs = [p for p in photos if p.kind == "jpeg"]
    sizes_of = {p.name: resized(decode(p.data, MAX_PIXELS, LARGEST)) for p in jpegs}
    samples: dict[tuple[str, str], list[Timing]] = {}
    bodies: dict[str, list[bytes]] = {}
    for repeat in range(repeats + 1):  # the first round warms both up and is not counted
        for index, photo in enumerate(jpegs):
            names = list(encoders)
            for name in names if (repeat + index) % 2 == 0 else names[::-1]:
                with _avif_encoder(encoders[name]):
                    timing, made = _timed(partial(render.render, sizes_of[photo.name], ("avif",)))
                if repeat:
                    samples.setdefault((name, photo.name), []).append(timing)
                else:
                    bodies.setdefault(name, []).extend(r.body for r in made)
    results: dict[str, dict[str, Any]] = {}
    for name in encoders:
        per_photo = [samples[(name, p.name)] for p in jpegs]
        results[name] = {
            "wall_ms": _median([_median([t.wall_ms for t in ts]) for ts in per_photo]),
            "cpu_ms": _median([_median([t.cpu_ms for t in ts]) for ts in per_photo]),
            "bytes": sum(len(b) for b in bodies[name]) / len(jpegs),
        }
    first, second = (bodies[name] for name in encoders)
    results["identical"] = {"files": first == second}
    return results


def _ssim(reference: np.ndarray, body: bytes) -> float:
    from skimage.metrics import structural_similarity

    decoded = np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))
    return float(structural_similarity(reference, decoded, channel_axis=2, data_range=255))


def avif_speeds(photos: list[Photo], repeats: int) -> dict[int, dict[str, float]]:
    """AVIF at our quality and each speed: ms for the 3 sizes of a photo, bytes and SSIM of the 1080."""
    jpegs = [p for p in photos if p.kind == "jpeg"]
    sizes_of = {p.name: resized(decode(p.data, MAX_PIXELS, LARGEST)) for p in jpegs}
    results: dict[int, dict[str, float]] = {}
    for speed_setting in AVIF_SPEEDS:
        walls, cpus, sizes, ssims = [], [], [], []
        with _constants(AVIF_SPEED=speed_setting):
            for photo in jpegs:
                timings = [_timed(partial(render.render, sizes_of[photo.name], ("avif",))) for _ in range(repeats)]
                walls.append(_median([t.wall_ms for t, _ in timings]))
                cpus.append(_median([t.cpu_ms for t, _ in timings]))
                large = next(r for r in timings[0][1] if r.size == "1080")
                sizes.append(len(large.body))
                ssims.append(_ssim(np.asarray(sizes_of[photo.name]["1080"]), large.body))
        results[speed_setting] = {
            "wall_ms": _median(walls),
            "cpu_ms": _median(cpus),
            "bytes_1080": statistics.mean(sizes),
            "ssim_1080": statistics.mean(ssims),
        }
    return results


def _probe(reference: Image.Image, pixels: np.ndarray, fmt: str, quality: int) -> Probe:
    with _constants(**{QUALITY_CONSTANT[fmt]: quality}):
        body = render.encode(reference, fmt)
    return Probe(quality, len(body), _ssim(pixels, body))


def lowest_passing(reference: Image.Image, fmt: str) -> Probe:
    """The lowest quality whose SSIM against the reference is at least SSIM_FLOOR, by bisection over 1..100.

    Bisection assumes SSIM rises with quality; where it wobbles by a step the answer is a boundary, not
    necessarily the very lowest passing quality, which is within the noise of this comparison.
    """
    pixels = np.asarray(reference)
    best = _probe(reference, pixels, fmt, 100)
    if best.ssim < SSIM_FLOOR:
        return best  # even 100 does not reach the floor; reported as is
    low, high = 1, 100
    while low < high:
        middle = (low + high) // 2
        probe = _probe(reference, pixels, fmt, middle)
        if probe.ssim >= SSIM_FLOOR:
            best, high = probe, middle
        else:
            low = middle + 1
    return best


def bytes_at_matched_ssim(photos: list[Photo]) -> dict[str, dict[str, Any]]:
    """Per size and format: bytes at the lowest quality reaching SSIM_FLOOR, and bytes and SSIM at ours.

    AVIF is also searched one speed step faster than ours, to show what that speed would cost in bytes.
    """
    jpegs = [p for p in photos if p.kind == "jpeg"]
    configured = {fmt: getattr(render, QUALITY_CONSTANT[fmt]) for fmt in FORMATS}
    matched: dict[tuple[str, str], list[Probe]] = {}
    ours_at: dict[tuple[str, str], list[Probe]] = {}
    faster: dict[str, list[Probe]] = {}
    for photo in jpegs:
        for size, reference in resized(decode(photo.data, MAX_PIXELS, LARGEST)).items():
            pixels = np.asarray(reference)
            for fmt in FORMATS:
                matched.setdefault((size, fmt), []).append(lowest_passing(reference, fmt))
                ours_at.setdefault((size, fmt), []).append(_probe(reference, pixels, fmt, configured[fmt]))
            with _constants(AVIF_SPEED=render.AVIF_SPEED + 1):
                faster.setdefault(size, []).append(lowest_passing(reference, "avif"))
    results: dict[str, dict[str, Any]] = {}
    for size in SIZES:
        row: dict[str, Any] = {}
        for fmt in FORMATS:
            row[fmt] = {
                "matched_bytes": statistics.mean(p.size for p in matched[(size, fmt)]),
                "matched_quality": sorted(p.quality for p in matched[(size, fmt)]),
                "ours_bytes": statistics.mean(p.size for p in ours_at[(size, fmt)]),
                "ours_ssim": min(p.ssim for p in ours_at[(size, fmt)]),
            }
        row["faster_avif_bytes"] = statistics.mean(p.size for p in faster[size])
        row["avif_share"] = row["avif"]["matched_bytes"] / row["jpeg"]["matched_bytes"]
        row["faster_avif_share"] = row["faster_avif_bytes"] / row["jpeg"]["matched_bytes"]
        row["avif_share_ours"] = row["avif"]["ours_bytes"] / row["jpeg"]["ours_bytes"]
        results[size] = row
    jpeg_total = sum(results[s]["jpeg"]["matched_bytes"] for s in SIZES)
    ours_total = {fmt: sum(results[s][fmt]["ours_bytes"] for s in SIZES) for fmt in ("jpeg", "avif")}
    results["all"] = {
        "avif_share": sum(results[s]["avif"]["matched_bytes"] for s in SIZES) / jpeg_total,
        "faster_avif_share": sum(results[s]["faster_avif_bytes"] for s in SIZES) / jpeg_total,
        "avif_share_ours": ours_total["avif"] / ours_total["jpeg"],
    }
    return results


# --- memory, in a fresh process per pipeline ----------------------------------------------------------------


def _rss_mb() -> float:
    """This process's peak RSS so far (VmHWM), in MiB.

    Not ru_maxrss: Linux carries the parent's high-water mark into a forked and exec'd child, so a child of this
    benchmark would report at least the parent's peak. VmHWM belongs to the child's own address space.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status: peak RSS needs Linux")


def rss_probe(pipeline: str, spec_file: str) -> None:
    """In a child process: the peak RSS of one pipeline over the given files, and the baseline before them."""
    jobs = json.loads(Path(spec_file).read_text())
    run = PIPELINES[pipeline]
    Image.init()
    pillow_heif.register_heif_opener()
    if pipeline == "pyvips":
        import pyvips

        pyvips.version(0)
    baseline = _rss_mb()
    for job in jobs:
        run(Path(job["path"]).read_bytes(), {size: (w, h) for size, (w, h) in job["geometry"].items()})
    print(json.dumps({"baseline_mb": baseline, "peak_mb": _rss_mb()}))


def memory(photos: list[Photo], pipelines: list[str], folder: Path) -> dict[tuple[str, str], dict[str, float]]:
    results: dict[tuple[str, str], dict[str, float]] = {}
    for kind in sorted({p.kind for p in photos}, key=["jpeg", "heic"].index):
        spec = folder / f"rss-{kind}.json"
        jobs = [{"path": str(p.path), "geometry": p.geometry} for p in photos if p.kind == kind]
        spec.write_text(json.dumps(jobs))
        for pipeline in pipelines:
            child = subprocess.run(
                [sys.executable, "-m", "bench.media", "--rss-probe", pipeline, str(spec)],
                capture_output=True,
                text=True,
                check=True,
            )
            results[(kind, pipeline)] = json.loads(child.stdout.strip().splitlines()[-1])
    return results


# --- reporting -----------------------------------------------------------------------------------------------


def _version(distribution: str) -> str:
    from importlib.metadata import version

    return version(distribution)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import pyvips

    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}; "
        f"Pillow {Image.__version__} (libavif {features.version('avif')}, "
        f"libjpeg-turbo {features.version('libjpeg_turbo')}, libwebp {features.version('webp')}), "
        f"pillow-heif {_version('pillow-heif')}, "
        f"pyvips {_version('pyvips')} on libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"
    )


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 photo, 1 repeat, no 50 MP case")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per photo and pipeline (default 3)")
    parser.add_argument("--rss-probe", nargs=2, metavar=("PIPELINE", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_probe:
        rss_probe(*args.rss_probe)
        return
    names = PHOTOS[:1] if args.quick else PHOTOS
    repeats = 1 if args.quick else args.repeats
    started = time.perf_counter()
    Image.init()
    production_avif = Image.SAVE["AVIF"].__module__

    print("# Media pipeline benchmark\n")
    print(f"Machine: {_machine()}")
    print(f"Load average at start: {os.getloadavg()[0]:.2f} (other work on the machine skews wall times)")
    print(
        f"Settings: JPEG q{render.JPEG_QUALITY}, WebP q{render.WEBP_QUALITY} method {render.WEBP_METHOD}, "
        f"AVIF q{render.AVIF_QUALITY} speed {render.AVIF_SPEED} (AVIF encoder in use: {production_avif}); "
        f"naive AVIF speed {NAIVE_AVIF_SPEED}"
    )
    with tempfile.TemporaryDirectory(prefix="aperture-bench-") as temporary:
        folder = Path(temporary)
        photos = corpus(names, folder)
        print(
            f"Photos: {', '.join(names)} from scikit-image, upscaled to {PHONE_SIZE[0]}x{PHONE_SIZE[1]} "
            f"(LANCZOS), saved as JPEG q{PHONE_JPEG_QUALITY} and HEIC q{PHONE_HEIC_QUALITY}; "
            f"{', '.join(sorted(PORTRAIT & set(names))) or 'none'} stored sideways with EXIF orientation 6. "
            f"{repeats} timed repeat(s) after a warm-up; medians."
        )

        timings = speed(photos, repeats)
        print("\n## Speed: all 9 renditions of one photo (3 sizes x JPEG, WebP, AVIF) + blurhash\n")
        rows = []
        for (kind, name), figures in timings.items():
            mine = timings[(kind, "ours")]
            rows.append(
                [
                    f"{kind.upper()} 12 MP",
                    name,
                    f"{figures['wall_ms']:.0f}",
                    f"{figures['cpu_ms']:.0f}",
                    f"{figures['bytes'] / 1024:.0f}",
                    f"{mine['wall_ms'] / figures['wall_ms']:.2f}",
                    f"{mine['cpu_ms'] / figures['cpu_ms']:.2f}",
                ]
            )
        print(
            _table(
                ["input", "pipeline", "wall ms", "CPU ms", "KiB out", "ours/this wall", "ours/this CPU"],
                rows,
            )
        )

        breakdown = stages(photos, repeats)
        print("\n## Where the time goes (JPEG input, median ms per photo; each format = its 3 sizes)\n")
        columns = ["decode", "resize", "decode + resize", "blurhash", *FORMATS]
        rows = []
        for row, steps in breakdown.items():
            if "decode" in steps:
                steps["decode + resize"] = steps["decode"] + steps["resize"]
            cells = [f"{steps[c]:.0f}" if c in steps else "-" for c in columns]
            total = sum(steps[c] for c in ("decode + resize", "blurhash", *FORMATS))
            rows.append([row, *cells, f"{total:.0f}"])
        print(_table(["pipeline, ms", *columns, "sum"], rows))

        encoders = avif_encoders(photos, repeats)
        identical = encoders.pop("identical")["files"]
        print(f"\n## AVIF encoders at q{render.AVIF_QUALITY} speed {render.AVIF_SPEED}, our 3 sizes of a photo\n")
        print(
            _table(
                ["encoder", "wall ms", "CPU ms", "bytes"],
                [[n, f"{e['wall_ms']:.0f}", f"{e['cpu_ms']:.0f}", f"{e['bytes']:.0f}"] for n, e in encoders.items()],
            )
        )
        (native, native_figures), (plugin, plugin_figures) = encoders.items()
        gap = plugin_figures["cpu_ms"] / native_figures["cpu_ms"] - 1
        if abs(gap) < ENCODER_NOISE:
            decision = f"within {ENCODER_NOISE:.0%}, a tie: keep {native}, which needs no extra import"
        else:
            decision = f"use {plugin if gap < 0 else native}"
        print(f"\nByte-identical output: {identical}. pillow-avif-plugin CPU vs Pillow's: {gap:+.1%}; {decision}.")

        sweep = avif_speeds(photos, repeats)
        print(f"\n## AVIF speed at q{render.AVIF_QUALITY} (3 sizes of a photo; bytes and SSIM of the 1080)\n")
        print(
            _table(
                ["speed", "wall ms", "CPU ms", "1080 bytes", "1080 SSIM"],
                [
                    [s, f"{f['wall_ms']:.0f}", f"{f['cpu_ms']:.0f}", f"{f['bytes_1080']:.0f}", f"{f['ssim_1080']:.4f}"]
                    for s, f in sweep.items()
                ],
            )
        )

        quality = bytes_at_matched_ssim(photos)
        print(
            f"\n## Bytes per rendition at matched SSIM >= {SSIM_FLOOR} "
            "(lowest quality reaching it, mean over photos) and at our settings\n"
        )
        rows = []
        for size in SIZES:
            of_size = quality[size]
            for fmt in FORMATS:
                figures = of_size[fmt]
                rows.append(
                    [
                        size,
                        fmt,
                        "/".join(str(q) for q in figures["matched_quality"]),
                        f"{figures['matched_bytes']:.0f}",
                        f"{figures['matched_bytes'] / of_size['jpeg']['matched_bytes']:.2f}",
                        f"{figures['ours_bytes']:.0f}",
                        f"{figures['ours_ssim']:.4f}",
                    ]
                )
        print(
            _table(
                ["size", "format", "quality at floor", "bytes", "of JPEG", "bytes at ours", "min SSIM at ours"],
                rows,
            )
        )
        shares = ", ".join(f"{size} {quality[size]['avif_share']:.2f}" for size in SIZES)
        print(f"\nAVIF/JPEG bytes at matched SSIM: {shares}; all sizes {quality['all']['avif_share']:.2f}.")
        shares = ", ".join(f"{size} {quality[size]['faster_avif_share']:.2f}" for size in SIZES)
        print(
            f"The same at AVIF speed {render.AVIF_SPEED + 1}: {shares}; "
            f"all sizes {quality['all']['faster_avif_share']:.2f}."
        )
        print(
            f"At our settings (SSIM not matched): AVIF/JPEG bytes, all sizes {quality['all']['avif_share_ours']:.2f}."
        )

        rss = memory(photos, list(PIPELINES), folder)
        limit_rss: dict[tuple[str, str], dict[str, float]] = {}
        limit_photos: list[Photo] = []
        if not args.quick:
            limit_photos = [_photo(p) for p in _phone_files("chelsea", LIMIT_SIZE, folder, portrait=True)]
            limit_rss = memory(limit_photos, ["ours"], folder)
        print("\n## Peak RSS (fresh process per pipeline and input kind; max over its photos)\n")
        labels = {kind: f"{kind.upper()} 12 MP" for kind in ("jpeg", "heic")}
        for photo in limit_photos:
            size_mb = len(photo.data) / 2**20
            labels[f"limit {photo.kind}"] = f"{photo.kind.upper()} {LIMIT_SIZE[0]}x{LIMIT_SIZE[1]} ({size_mb:.1f} MiB)"
        measured = [(labels[k], n, r) for (k, n), r in rss.items()]
        measured += [(labels[f"limit {k}"], n, r) for (k, n), r in limit_rss.items()]
        rows = [
            [label, name, f"{r['baseline_mb']:.0f}", f"{r['peak_mb']:.0f}", f"{r['peak_mb'] - r['baseline_mb']:.0f}"]
            for label, name, r in measured
        ]
        print(_table(["input", "pipeline", "baseline MB", "peak MB", "delta MB"], rows))

    mine = timings[("jpeg", "ours")]
    # Up to publishing the post: the steps before AVIF. CPU time, which other load on this machine hardly moves.
    publish_ms = sum(breakdown["ours CPU"][step] for step in ("decode", "resize", "blurhash", *render.FAST_FORMATS))
    print(
        "\n## Lambda estimate for ours on a 12 MP JPEG "
        f"(CPU ms scaled by the vCPU share: one full vCPU at {LAMBDA_FULL_VCPU_MB} MB)\n"
    )
    rows = []
    for memory_mb in (512, LAMBDA_MEMORY_MB, LAMBDA_FULL_VCPU_MB):
        share = min(1.0, memory_mb / LAMBDA_FULL_VCPU_MB)
        seconds = mine["cpu_ms"] / share / 1000
        rows.append(
            [
                f"{memory_mb}" + (" (now)" if memory_mb == LAMBDA_MEMORY_MB else ""),
                f"{share:.2f}",
                f"{publish_ms / share:.0f}",
                f"{seconds * 1000:.0f}",
                f"{seconds * memory_mb / 1024:.3f}",
            ]
        )
    print(
        _table(["memory MB", "vCPU share", "ms to publish (JPEG + WebP)", "ms for all 9", "CPU GB-s per photo"], rows)
    )

    versus_naive = timings[("jpeg", "ours")]["wall_ms"] / timings[("jpeg", "naive")]["wall_ms"]
    versus_pyvips = timings[("jpeg", "ours")]["wall_ms"] / timings[("jpeg", "pyvips")]["wall_ms"]
    cpu_versus_pyvips = timings[("jpeg", "ours")]["cpu_ms"] / timings[("jpeg", "pyvips")]["cpu_ms"]
    peak = rss[("jpeg", "ours")]["peak_mb"]
    share = quality["all"]["avif_share"]
    print("\n## Targets (JPEG input, this run)\n")
    print(
        _table(
            ["target", "measured", "verdict"],
            [
                [
                    f"ours/naive wall <= {1 / MIN_SPEEDUP_OVER_NAIVE:.2f}",
                    f"{versus_naive:.2f} ({1 / versus_naive:.1f}x faster)",
                    _verdict(versus_naive <= 1 / MIN_SPEEDUP_OVER_NAIVE),
                ],
                [
                    f"ours/pyvips wall <= {MAX_SHARE_OF_PYVIPS:.2f}",
                    f"{versus_pyvips:.2f} (CPU {cpu_versus_pyvips:.2f})",
                    _verdict(versus_pyvips <= MAX_SHARE_OF_PYVIPS),
                ],
                [
                    f"AVIF/JPEG bytes at SSIM >= {SSIM_FLOOR} <= {MAX_AVIF_SHARE_OF_JPEG:.2f}",
                    f"{share:.2f}",
                    _verdict(share <= MAX_AVIF_SHARE_OF_JPEG),
                ],
                [f"peak RSS < {MAX_RSS_MB} MB", f"{peak:.0f} MB", _verdict(peak < MAX_RSS_MB)],
            ],
        )
    )
    print(f"\nFinished in {time.perf_counter() - started:.0f} s; load average at the end {os.getloadavg()[0]:.2f}.")


if __name__ == "__main__":
    main()
