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


NotificationType = Literal["like", "comment", "follow", "mention"]


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
