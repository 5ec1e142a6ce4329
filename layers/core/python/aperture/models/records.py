"""Records as stored in DynamoDB, independent of how the API shows them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

UploadState = Literal["pending", "processing", "ready", "rejected", "failed"]


class User(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: int
    username: str
    display_name: str = ""
    bio: str = ""
    follower_count: int = 0
    following_count: int = 0
    post_count: int = 0
    created_at: int = 0  # unix ms
    region: str = ""  # ISO 3166-1 alpha-2, or "" when unset
    highlights_enabled: bool = False  # expired stories are archived to highlights instead of deleted
    private: bool = False  # only the owner and approved followers see its posts, stories and lists


class UploadItem(BaseModel):
    """One photo of a carousel upload, as the client declared it."""

    model_config = ConfigDict(frozen=True)

    content_type: str
    content_length: int
    alt_text: str = ""


class Photo(BaseModel):
    """One photo of a post: its renditions (size -> format -> object key), shape, placeholder and alt text."""

    model_config = ConfigDict(frozen=True)

    images: dict[str, dict[str, str]]
    width: int
    height: int
    blurhash: str | None = None
    alt_text: str = ""


class Upload(BaseModel):
    model_config = ConfigDict(frozen=True)

    upload_id: int
    user_id: int
    kind: Literal["post", "story"]
    target_id: int
    content_type: str
    content_length: int
    status: UploadState = "pending"
    reason: str | None = None
    caption: str = ""
    location: str | None = None
    hashtags: tuple[str, ...] = ()
    mentioned_ids: tuple[int, ...] = ()  # the users a post's caption names (@username), known at upload
    created_at: int = 0  # unix ms
    expires_at: int = 0  # unix seconds (DynamoDB TTL)
    audience: Literal["everyone", "close_friends"] = "everyone"  # a story's (aperture.close_friends)
    alt_text: str = ""  # a one-photo upload's
    # A carousel (aperture.media.carousel): its photos as declared, how many are still unprocessed, each processed
    # photo by its index ("0".."9"), and which one was refused
    items: tuple[UploadItem, ...] = ()
    remaining: int | None = None
    photos: dict[str, Photo] = {}
    refused_item: int | None = None


class PostRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    post_id: int
    author_id: int
    upload_id: int
    caption: str = ""
    location: str | None = None
    hashtags: tuple[str, ...] = ()
    width: int
    height: int
    blurhash: str | None = None
    images: dict[str, dict[str, str]]  # size -> format -> object key
    created_at: int  # unix ms
    like_count: int = 0  # as last flushed from the live counter
    comment_count: int = 0
    # Edits (aperture.editing): each bumps `version`, which orders the cached copies; `mentioned_ids` are everyone
    # the caption has named and notified, so an edit notifies only the newly named
    version: int = 0
    edited_at: int | None = None  # unix ms, None until first edited
    mentioned_ids: tuple[int, ...] = ()
    media: tuple[Photo, ...] = ()  # every photo in order; empty in records written before carousels

    def photos(self) -> tuple[Photo, ...]:
        """Every photo in order (a record from before carousels has one, its top-level fields)."""
        if self.media:
            return self.media
        return (Photo(images=self.images, width=self.width, height=self.height, blurhash=self.blurhash),)

    def with_alt_texts(self, alt_texts: list[str]) -> PostRecord:
        """The record with one new alt text per photo, in order (ValueError if the count differs)."""
        photos = self.photos()
        if len(alt_texts) != len(photos):
            raise ValueError(f"send one alt text per photo ({len(photos)})")
        media = tuple(p.model_copy(update={"alt_text": a}) for p, a in zip(photos, alt_texts, strict=True))
        return self.model_copy(update={"media": media})


class StoryRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    story_id: int
    author_id: int
    upload_id: int
    width: int
    height: int
    blurhash: str | None = None
    images: dict[str, dict[str, str]]  # size -> format -> object key
    created_at: int  # unix ms
    expires_at: int  # unix ms
    deleted: bool = False  # by its author; the record stays until purged so redeliveries cannot revive it
    view_count: int | None = None  # the final count, kept when the story ends
    audience: Literal["everyone", "close_friends"] = "everyone"  # who may see it, decided at viewing time


class StoryView(BaseModel):
    model_config = ConfigDict(frozen=True)

    story_id: int
    viewer_id: int
    viewed_at: int  # unix ms


class Comment(BaseModel):
    model_config = ConfigDict(frozen=True)

    post_id: int
    comment_id: int
    author_id: int
    text: str
    mentioned_ids: tuple[int, ...] = ()
    created_at: int  # unix ms


NotificationType = Literal["like", "comment", "follow", "mention", "follow_request", "follow_accepted"]


class Notification(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: int  # who it is for
    notification_id: int
    type: NotificationType
    actor_id: int  # the latest actor
    actor_ids: tuple[int, ...] = ()  # the latest few actors, newest first (grouped likes)
    actor_count: int = 1
    post_id: int | None = None
    comment_id: int | None = None
    created_at: int  # unix ms
    expires_at: int  # unix seconds (DynamoDB TTL)


class Device(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: int
    device_id: str
    platform: Literal["apns", "fcm"]
    endpoint_arn: str
    created_at: int


ExportStatus = Literal["pending", "ready", "failed"]
ExportStage = Literal["queued", "collecting", "photos", "uploading", "done"]


class ExportRecord(BaseModel):
    """A user's data export: requested, built in stages (photos counted as they are zipped), then ready or failed."""

    model_config = ConfigDict(frozen=True)

    user_id: int
    export_id: int
    status: ExportStatus = "pending"
    stage: ExportStage = "queued"
    photos_done: int = 0
    photos_total: int = 0
    requested_at: int  # unix ms
    ready_at: int | None = None  # unix ms; the link (and the ZIP) last from then
    key: str | None = None  # the ZIP's object key, once written
    size_bytes: int | None = None
    reason: str | None = None  # why it failed
    purge_at: int = 0  # unix seconds (DynamoDB TTL)
