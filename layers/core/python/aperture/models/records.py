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
