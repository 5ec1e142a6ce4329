"""Uploads: handing out presigned POSTs and reporting how far an upload has got."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from aperture.adapters.dynamo.uploads import UploadRepository
from aperture.adapters.dynamo.users import UserRepository
from aperture.captions import mentioned_usernames, post_hashtags
from aperture.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from aperture.models.api import CreateUploadRequest, CreateUploadResponse, PresignedUpload, UploadStatusResponse
from aperture.models.records import Upload, UploadItem
from aperture.ports import ImageStore
from aperture.resources import UPLOAD_PREFIX
from aperture.settings import Settings

ACCEPTED_TYPES = frozenset({"image/jpeg", "image/png", "image/heic", "image/heif"})


def upload_key(user_id: int, upload_id: int, item: int | None = None) -> str:
    """Where a client sends a one-photo upload, or (with `item`) one photo of a carousel."""
    key = f"{UPLOAD_PREFIX}{user_id}/{upload_id}"
    return key if item is None else f"{key}/{item}"


def parse_upload_key(key: str) -> tuple[int, int]:
    """(user_id, upload_id) from a one-photo upload's object key, or InvalidInputError for anything else."""
    user_id, upload_id, item = parse_item_key(key)
    if item is not None:
        raise InvalidInputError(f"{key!r} is not a one-photo upload key")
    return user_id, upload_id


def parse_item_key(key: str) -> tuple[int, int, int | None]:
    """(user_id, upload_id, item) from an upload's object key (item None for a one-photo upload), or
    InvalidInputError for anything else."""
    parts = key.removeprefix(UPLOAD_PREFIX).split("/")
    if not key.startswith(UPLOAD_PREFIX) or len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise InvalidInputError(f"{key!r} is not an upload key")
    return int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) == 3 else None


def upload_correlation_id(key: str) -> str:
    """The correlation id of an upload's processing (aperture.observability): `upload-<upload_id>`, which every
    photo of a carousel shares and the client has from POST /uploads; the key itself for an object that is no
    upload's."""
    try:
        return f"upload-{parse_item_key(key)[1]}"
    except InvalidInputError:
        return key


class UploadGrants:
    """Uploads as a client sees them: a presigned POST granted for one photo, then its status until it is ready."""

    def __init__(
        self,
        uploads: UploadRepository,
        users: UserRepository,
        store: ImageStore,
        now: Callable[[], float],
        settings: Settings,
    ) -> None:
        self._uploads = uploads
        self._users = users
        self._store = store
        self._now = now
        self._settings = settings

    def grant(self, user_id: int, request: CreateUploadRequest, new_id: Callable[[], int]) -> CreateUploadResponse:
        """A presigned POST for one upload; the same ids (a client's retry, see aperture.idempotency) grant the same
        upload again."""
        if request.kind == "post" and request.audience != "everyone":
            raise InvalidInputError("audience is for stories; a post is seen by everyone who may see your posts")
        settings = self._settings
        if request.items is None:
            declared = [UploadItem(content_type=request.content_type or "", content_length=request.content_length or 0)]
        else:
            declared = [UploadItem.model_validate(i.model_dump()) for i in request.items]
        items = tuple(self._checked(item) for item in declared)
        upload_id, target_id = new_id(), new_id()
        started = self._now()
        upload = Upload(
            upload_id=upload_id,
            user_id=user_id,
            kind=request.kind,
            target_id=target_id,
            content_type=items[0].content_type,
            content_length=items[0].content_length,
            caption=request.caption,
            location=request.location,
            hashtags=post_hashtags(request.hashtags, request.caption),
            mentioned_ids=self._mentioned(user_id, request) if request.kind == "post" else (),
            audience=request.audience,
            created_at=int(started * 1000),
            expires_at=int(started) + settings.upload_record_ttl_seconds,
            alt_text=request.alt_text,
            items=items if request.items is not None else (),
            remaining=len(items) if request.items is not None else None,
        )
        if not self._uploads.create(upload) and self._uploads.get(upload_id).user_id != user_id:
            raise ConflictError("this upload id is taken")  # (a retried request finds its own upload: granted again)
        keys = [upload_key(user_id, upload_id)] if request.items is None else []
        keys += [upload_key(user_id, upload_id, i) for i in range(len(request.items or ()))]
        ttl = settings.upload_url_ttl_seconds
        posts = [
            self._store.presigned_post(key, item.content_type, settings.max_upload_bytes, ttl)
            for key, item in zip(keys, items, strict=True)
        ]
        expires_at = datetime.fromtimestamp(started + settings.upload_url_ttl_seconds, tz=UTC)
        return CreateUploadResponse(
            upload_id=str(upload_id),
            target_id=str(target_id),
            url=posts[0].url,
            fields=posts[0].fields,
            expires_at=expires_at.isoformat().replace("+00:00", "Z"),
            uploads=None if request.items is None else [PresignedUpload(url=p.url, fields=p.fields) for p in posts],
        )

    def _checked(self, item: UploadItem) -> UploadItem:
        """The item with its content type normalised, or 415/413 for a type or size the platform refuses."""
        limit = self._settings.max_upload_bytes
        content_type = item.content_type.lower().split(";")[0].strip()
        if content_type not in ACCEPTED_TYPES:
            accepted = ", ".join(sorted(ACCEPTED_TYPES))
            raise UnsupportedMediaTypeError(
                f"{item.content_type!r} is not accepted; send JPEG, PNG or HEIC ({accepted})"
            )
        if item.content_length > limit:
            raise PayloadTooLargeError(f"the file is {item.content_length} bytes; the limit is {limit} bytes")
        return item.model_copy(update={"content_type": content_type})

    def _mentioned(self, user_id: int, request: CreateUploadRequest) -> tuple[int, ...]:
        """The existing users a caption's @usernames name (at most 20), the author aside."""
        named = (self._users.get_by_username(name) for name in mentioned_usernames(request.caption))
        return tuple(u.user_id for u in named if u is not None and u.user_id != user_id)

    def status(self, user_id: int, upload_id: int) -> UploadStatusResponse:
        upload = self._uploads.get(upload_id)
        if upload.user_id != user_id:
            raise ForbiddenError("this upload belongs to someone else")
        return UploadStatusResponse(
            upload_id=str(upload.upload_id),
            kind=upload.kind,
            status=upload.status,
            reason=upload.reason,
            target_id=str(upload.target_id),
            item=upload.refused_item,
        )
