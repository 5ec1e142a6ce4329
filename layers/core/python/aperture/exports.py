"""Data exports (GDPR Art. 20): a user asks for their data, a job zips it to S3, and only they can download it.

A request writes the export's record, the per-user marker naming it pending, and an ExportRequested event in one
transaction (the outbox); a second request while one is pending answers with the pending one. The relay queues the
build (a job per event; a repeated job finds the export no longer pending). The builder writes profile.json,
posts.json, comments.json, likes.json, following.json, followers.json and stories.json a page at a time, then the
largest JPEG of every photo of every post, streamed from S3 into a ZIP spooled to /tmp, and uploads it under
exports/{user_id}/{export_id}.zip; then it marks the export ready, once (a condition on 'pending'). A build that
dies anywhere is done again by the job's retry: a ZIP already uploaded (S3 shows an object only once it is whole)
is not built again, and 'ready' is written once. The last attempt that fails marks the export failed.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aperture.adapters.dynamo.exports import AccountRecords, ExportRepository
from aperture.errors import ExportNotFoundError
from aperture.models.api import ExportProgress, ExportStatusResponse
from aperture.models.events import ExportJob, ExportRequested
from aperture.models.records import ExportRecord, ExportStage, Photo
from aperture.observability import logger
from aperture.ports import ArchiveStore
from aperture.resources import EXPORT_PREFIX

ZIP_TYPE = "application/zip"
RECORD_RETENTION_SECONDS = 7 * 86_400  # the record outlives its ZIP (a day) so the app can say it expired
SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024  # a small export never touches /tmp (a larger one spills to it)
COPY_CHUNK_BYTES = 1024 * 1024
PROGRESS_STEPS = 50  # at most this many progress writes while photos are zipped


def export_key(user_id: int, export_id: int) -> str:
    return f"{EXPORT_PREFIX}{user_id}/{export_id}.zip"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def largest_jpeg(photo: Photo) -> str | None:
    """The key of a photo's largest JPEG rendition (sizes are pixel widths: "150", "640", "1080")."""
    sizes = [size for size, formats in photo.images.items() if "jpeg" in formats and size.isdigit()]
    return photo.images[max(sizes, key=int)]["jpeg"] if sizes else None


def _photos(post: dict[str, Any]) -> list[Photo]:
    """A post item's photos in order (a record from before carousels has one, its top-level fields)."""
    media = post.get("media") or []
    if media:
        return [Photo.model_validate(m) for m in media]
    return [Photo(images=post.get("images") or {}, width=post.get("width", 0), height=post.get("height", 0))]


class Exports:
    """Starting an export and answering how far it got, for its owner alone."""

    def __init__(
        self,
        repository: ExportRepository,
        store: ArchiveStore,
        now_ms: Callable[[], int],
        link_seconds: int,
        stale_seconds: int,
    ) -> None:
        self._repository = repository
        self._store = store
        self._now_ms = now_ms
        self._link_seconds = link_seconds
        self._stale_ms = stale_seconds * 1000

    def start(self, user_id: int, new_id: Callable[[], int]) -> int:
        """A new export's id, or the id of the one still pending (a second request starts nothing)."""
        for _ in range(3):  # (a pending export finishing between the two reads below: try again)
            at = self._now_ms()
            export_id = new_id()
            record = ExportRecord(
                user_id=user_id,
                export_id=export_id,
                requested_at=at,
                purge_at=at // 1000 + RECORD_RETENTION_SECONDS,
            )
            event = ExportRequested(
                event_id=f"{user_id}:export:{export_id}", occurred_at=at, user_id=user_id, export_id=export_id
            )
            if self._repository.start(record, event, stale_before_ms=at - self._stale_ms):
                logger.info("export requested", extra={"user_id": user_id, "export_id": export_id})
                return export_id
            pending = self._repository.pending(user_id)
            if pending is not None:
                return pending
        raise RuntimeError("the user's pending export kept changing while a new one was requested")

    def status(self, user_id: int, export_id: int) -> ExportStatusResponse:
        """The caller's export: its stage, and once ready a download link. Anyone else's is 404 (it is looked up
        under the caller's own key, so another user's id finds nothing)."""
        record = self._repository.get(user_id, export_id)
        if record is None:
            raise ExportNotFoundError(f"you have no export {export_id}")
        now = self._now_ms()
        status, reason, url, expires_at = record.status, record.reason, None, None
        if status == "pending" and now - record.requested_at > self._stale_ms:
            # Its job was given up on without being marked (e.g. it is in the dead-letter queue)
            status, reason = "failed", "the export took too long; start a new one"
        if status == "ready" and record.ready_at is not None and record.key is not None:
            ends = record.ready_at + self._link_seconds * 1000
            expires_at = _iso(ends)
            if now < ends:
                url = self._store.presigned_get(record.key, max(1, (ends - now) // 1000))
            else:
                reason = "the link has expired and the file is deleted; start a new export"
        return ExportStatusResponse(
            export_id=str(record.export_id),
            status=status,
            requested_at=_iso(record.requested_at),
            progress=ExportProgress(
                stage=record.stage, photos_done=record.photos_done, photos_total=record.photos_total
            ),
            url=url,
            expires_at=expires_at,
            size_bytes=record.size_bytes,
            reason=reason,
        )


class _NoLongerPending(Exception):  # noqa: N818 - a signal, not an error
    """Another delivery of the job finished (or failed) the export while this one was building it."""


@dataclass(frozen=True)
class BuildOutcome:
    built: bool  # False: nothing to do (already ready or failed, or the ZIP was there from an earlier attempt)
    photos: int = 0
    size_bytes: int = 0


class ExportBuilder:
    """Builds one export's ZIP and marks it ready, resumably (see the module's docstring)."""

    def __init__(
        self,
        repository: ExportRepository,
        records: AccountRecords,
        images: ArchiveStore,
        now_ms: Callable[[], int],
    ) -> None:
        self._repository = repository
        self._records = records
        self._store = images
        self._now_ms = now_ms

    def run(self, job: ExportJob, final_attempt: bool = False) -> BuildOutcome:
        try:
            return self._run(job)
        except Exception:
            if final_attempt:
                self._repository.fail(job.user_id, job.export_id, "the export could not be built; start a new one")
                self._repository.release(job.user_id, job.export_id)
            raise

    def _run(self, job: ExportJob) -> BuildOutcome:
        user_id, export_id = job.user_id, job.export_id
        record = self._repository.get(user_id, export_id)
        if record is None or record.status != "pending":
            # Done (or given up) already: a repeated job. The marker may still name it if a run stopped after
            # marking it ready.
            self._repository.release(user_id, export_id)
            return BuildOutcome(built=False)
        key = export_key(user_id, export_id)
        size = self._store.size(key)
        outcome = BuildOutcome(built=False, size_bytes=size or 0)
        if size is None:
            try:
                outcome = self._build(user_id, export_id, key)
            except _NoLongerPending:
                self._repository.release(user_id, export_id)
                return BuildOutcome(built=False)
        self._repository.finish(user_id, export_id, key, outcome.size_bytes, self._now_ms())
        self._repository.release(user_id, export_id)
        logger.info("export ready", extra={"user_id": user_id, "export_id": export_id, **outcome.__dict__})
        return outcome

    def _build(self, user_id: int, export_id: int, key: str) -> BuildOutcome:
        records = self._records
        self._progress(user_id, export_id, "collecting", 0, 0)
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES) as spool:
            with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
                archive.writestr("profile.json", json.dumps(records.profile(user_id) or {}, indent=2))
                photos: list[tuple[str, str]] = []  # (name in the ZIP, rendition key)
                _write_list(archive, "posts.json", self._posts(records.posts(user_id), photos))
                _write_list(archive, "comments.json", _items(records.comments(user_id)))
                _write_list(archive, "likes.json", _items(records.likes(user_id)))
                _write_list(archive, "following.json", self._people(records.following(user_id), "followee_id"))
                _write_list(archive, "followers.json", self._people(records.followers(user_id), "follower_id"))
                stories = {
                    "stories": [s for s in _items(records.stories(user_id)) if not s.get("deleted")],
                    "highlights": list(_items(records.highlights(user_id))),
                }
                archive.writestr("stories.json", json.dumps(stories, indent=2))
                self._zip_photos(archive, user_id, export_id, photos)
            self._progress(user_id, export_id, "uploading", len(photos), len(photos))
            size = spool.tell()
            spool.seek(0)
            self._store.upload(key, spool, ZIP_TYPE, f"aperture-export-{export_id}.zip")
        return BuildOutcome(built=True, photos=len(photos), size_bytes=size)

    def _posts(self, pages: Iterator[list[dict[str, Any]]], photos: list[tuple[str, str]]) -> Iterator[dict[str, Any]]:
        """Each post as exported, naming its photos' files in the ZIP; collects (file, key) for every photo."""
        for post in _items(pages):
            files = []
            for index, photo in enumerate(_photos(post)):
                rendition = largest_jpeg(photo)
                if rendition is None:
                    continue
                name = f"photos/{post['post_id']}/{index}.jpg"
                files.append({"file": name, "alt_text": photo.alt_text, "width": photo.width, "height": photo.height})
                photos.append((name, rendition))
            shown = {k: v for k, v in post.items() if k not in {"images", "media", "blurhash", "upload_id"}}
            yield {**shown, "photos": files}

    def _people(self, pages: Iterator[list[dict[str, Any]]], field: str) -> Iterator[dict[str, Any]]:
        """Follow edges with the other person's username (looked up a page at a time)."""
        for page in pages:
            names = self._records.usernames([int(item[field]) for item in page])
            for item in page:
                other = int(item[field])
                yield {"user_id": other, "username": names.get(other), "since": item.get("created_at")}

    def _zip_photos(
        self, archive: zipfile.ZipFile, user_id: int, export_id: int, photos: list[tuple[str, str]]
    ) -> None:
        total = len(photos)
        step = max(1, total // PROGRESS_STEPS)
        self._progress(user_id, export_id, "photos", 0, total)
        for done, (name, rendition) in enumerate(photos, start=1):
            body = self._store.stream(rendition)
            if body is None:
                # Deleted since its post was read (the post's cascade runs behind the record): left out
                logger.warning("an exported post's photo is gone", extra={"key": rendition})
            else:
                # JPEGs are compressed already: stored as they are, streamed a chunk at a time
                with archive.open(zipfile.ZipInfo(name), "w", force_zip64=True) as entry:
                    shutil.copyfileobj(body, entry, COPY_CHUNK_BYTES)
            if done % step == 0 or done == total:
                self._progress(user_id, export_id, "photos", done, total)

    def _progress(self, user_id: int, export_id: int, stage: ExportStage, done: int, total: int) -> None:
        """Say where the build is; stop it if the export is no longer pending (a duplicate delivery of the job,
        running at the same time, finished it), so duplicates do not both build to the end."""
        if not self._repository.progress(user_id, export_id, stage, done, total):
            raise _NoLongerPending


def _items(pages: Iterable[list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for page in pages:
        yield from page


def _write_list(archive: zipfile.ZipFile, name: str, items: Iterable[dict[str, Any]]) -> None:
    """A JSON array written an item at a time: a list of any length never sits whole in memory."""
    with archive.open(name, "w", force_zip64=True) as entry:
        first = True
        entry.write(b"[")
        for item in items:
            entry.write((b"\n  " if first else b",\n  ") + json.dumps(item).encode())
            first = False
        entry.write(b"\n]\n" if not first else b"]\n")
