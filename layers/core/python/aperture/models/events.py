"""Schemas of every event that travels on the Kinesis streams."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str
    occurred_at: int  # unix milliseconds


class PostReady(_Event):
    """Every rendition of an upload is stored; the post can be written and fanned out."""

    type: Literal["post_ready"] = "post_ready"
    upload_id: int
    post_id: int
    author_id: int
    kind: Literal["post", "story"]
    caption: str = ""
    location: str | None = None
    hashtags: tuple[str, ...] = ()
    width: int
    height: int
    blurhash: str | None = None
    # size -> format -> object key under images/
    images: dict[str, dict[str, str]]

    @property
    def partition_key(self) -> str:
        return str(self.author_id)


class FollowChanged(_Event):
    """A follow edge appeared or went away."""

    type: Literal["follow_changed"] = "follow_changed"
    follower_id: int
    followee_id: int
    following: bool

    @property
    def partition_key(self) -> str:
        return str(self.followee_id)


DomainEvent = Annotated[PostReady | FollowChanged, Field(discriminator="type")]
DOMAIN_EVENT: TypeAdapter[PostReady | FollowChanged] = TypeAdapter(DomainEvent)


def parse_event(data: bytes | str) -> PostReady | FollowChanged:
    return DOMAIN_EVENT.validate_json(data)
