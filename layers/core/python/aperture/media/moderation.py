"""Moderation: Rekognition's labels and a perceptual-hash blocklist, behind one port."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from PIL import Image

from aperture.errors import InvalidInputError, NotFoundError, PostNotFoundError

BLOCK_BASIS = ("640", "jpeg")  # the rendition a blocked post is hashed from: the size uploads are hashed at


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str | None = None

    @classmethod
    def allow(cls) -> Verdict:
        return cls(True)


class Moderator(Protocol):
    def review(self, image: Image.Image, jpeg: bytes) -> Verdict:
        """Whether a decoded upload may be published; `jpeg` is a rendition of it for services that want bytes."""
        ...


def perceptual_hash(image: Image.Image) -> int:
    """A 64-bit difference hash: survives re-encoding, resizing and slight crops; differs for other photos."""
    gray = image.convert("L").resize((9, 8), Image.Resampling.LANCZOS).tobytes()
    bits = 0
    for row in range(8):
        for col in range(8):
            bits = (bits << 1) | (gray[row * 9 + col] > gray[row * 9 + col + 1])
    return bits


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


class BlocklistStore(Protocol):
    def hashes(self) -> list[int]: ...


class HashBlocklist:
    """Refuses images within `max_distance` bits of a blocked hash. The list is re-read at most every minute."""

    def __init__(
        self,
        store: BlocklistStore,
        max_distance: int,
        refresh_seconds: float = 60.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._max_distance = max_distance
        self._refresh = refresh_seconds
        self._now = now
        self._hashes: list[int] = []
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def _current(self) -> list[int]:
        with self._lock:
            if self._loaded_at is None or self._now() - self._loaded_at >= self._refresh:
                self._hashes = self._store.hashes()
                self._loaded_at = self._now()
            return self._hashes

    def forget(self) -> None:
        """Re-read the list on next use (after a moderator added to it in this process)."""
        with self._lock:
            self._loaded_at = None

    def review(self, image: Image.Image, jpeg: bytes) -> Verdict:
        found = perceptual_hash(image)
        if any(hamming(found, blocked) <= self._max_distance for blocked in self._current()):
            return Verdict(False, "the image matches one removed by moderators")
        return Verdict.allow()


class RekognitionModerator:
    """Amazon Rekognition DetectModerationLabels: refuses an image with a blocked label at the confidence asked."""

    def __init__(self, client: Any, min_confidence: float, blocked_labels: Iterable[str]) -> None:
        self._rekognition = client
        self._min_confidence = min_confidence
        self._blocked = frozenset(label.strip() for label in blocked_labels if label.strip())

    def review(self, image: Image.Image, jpeg: bytes) -> Verdict:
        response = self._rekognition.detect_moderation_labels(Image={"Bytes": jpeg}, MinConfidence=self._min_confidence)
        hits = sorted(
            {
                label["Name"]
                for label in response.get("ModerationLabels", [])
                if label.get("Confidence", 0) >= self._min_confidence
                and ({label.get("Name"), label.get("ParentName")} & self._blocked)
            }
        )
        if hits:
            return Verdict(False, f"the image was refused by moderation ({', '.join(hits)})")
        return Verdict.allow()


class ModerationChain:
    """Every moderator in turn; the first refusal decides."""

    def __init__(self, moderators: Sequence[Moderator]) -> None:
        self._moderators = tuple(moderators)

    def review(self, image: Image.Image, jpeg: bytes) -> Verdict:
        for moderator in self._moderators:
            verdict = moderator.review(image, jpeg)
            if not verdict.allowed:
                return verdict
        return Verdict.allow()


class PostImages(Protocol):
    def get(self, post_id: int) -> Any: ...


class ImageReader(Protocol):
    def read(self, key: str) -> bytes: ...


class BlocklistWriter(Protocol):
    def add(self, image_hash: int, post_id: int, reason: str, added_by: int, at_ms: int) -> bool: ...


@dataclass(frozen=True, kw_only=True)
class BlockPorts:
    posts: PostImages
    stories: PostImages
    images: ImageReader
    blocklist: BlocklistWriter
    hashes: HashBlocklist  # this process's copy of the list, re-read after a change
    now_ms: Callable[[], int]


class ImageBlocker:
    """Moderators block a post's or a story's image: re-uploads of it (or of a near copy) are then refused."""

    def __init__(self, ports: BlockPorts) -> None:
        self.ports = ports

    def block_post(self, post_id: int, reason: str, moderator_id: int) -> int:
        """Add a post's images to the blocklist (every photo of a carousel). Returns the (first photo's) hash."""
        import io

        post = self.ports.posts.get(post_id)
        if post is None:
            raise PostNotFoundError(f"post {post_id} does not exist")
        size, fmt = BLOCK_BASIS
        keys = [photo.images.get(size, {}).get(fmt) for photo in post.photos()]
        if not all(keys):
            raise InvalidInputError(f"post {post_id} has no {size} {fmt} rendition to hash")
        hashes = []
        for key in keys:
            with Image.open(io.BytesIO(self.ports.images.read(key))) as image:
                hashes.append(self._add(perceptual_hash(image), post_id, reason, moderator_id))
        return hashes[0]

    def block_story(self, story_id: int, reason: str, moderator_id: int) -> int:
        """Add a story's image to the blocklist. Returns the hash.

        Uploads are hashed in post shape (stories taller than that are checked in that shape too), so the story's
        image is hashed as the 640 a post of it would have: the same photo is then refused as a post or a story.
        """
        import io

        from aperture.media.render import resized

        story = self.ports.stories.get(story_id)
        if story is None or story.deleted:
            raise NotFoundError(f"story {story_id} does not exist")
        key = story.images.get("1080", {}).get("jpeg")
        if not key:
            raise InvalidInputError(f"story {story_id} has no 1080 jpeg rendition to hash")
        with Image.open(io.BytesIO(self.ports.images.read(key))) as image:
            image_hash = perceptual_hash(resized(image.convert("RGB"), "post")["640"])
        return self._add(image_hash, story_id, reason, moderator_id)

    def _add(self, image_hash: int, item_id: int, reason: str, moderator_id: int) -> int:
        self.ports.blocklist.add(image_hash, item_id, reason, moderator_id, self.ports.now_ms())
        self.ports.hashes.forget()
        return image_hash
