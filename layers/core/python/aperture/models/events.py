"""Schemas of every event that travels on the Kinesis streams."""

from __future__ import annotations

import json
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from aperture.models.records import Photo
from aperture.observability import correlation_id


class _Correlated(BaseModel):
    """What every event and job carries: the correlation id of the request that caused it (aperture.observability),
    taken from where it is made, so a consumer's logs, and what it makes in turn, join the request's."""

    model_config = ConfigDict(frozen=True)

    # None in what was written before correlation ids existed, or made outside any handler (a script, a test)
    correlation_id: str | None = Field(default_factory=correlation_id)


class _Event(_Correlated):
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
    mentioned_ids: tuple[int, ...] = ()  # whom the caption names
    width: int
    height: int
    blurhash: str | None = None
    # size -> format -> object key under images/
    images: dict[str, dict[str, str]]
    audience: Literal["everyone", "close_friends"] = "everyone"  # a story's
    media: tuple[Photo, ...] = ()  # a post's photos in order (the first is the one above); empty from older producers

    @property
    def partition_key(self) -> str:
        return str(self.author_id)


class PostPublished(_Event):
    """A post was written (committed with it, through the outbox): whom its caption mentions hear of it."""

    type: Literal["post_published"] = "post_published"
    post_id: int
    author_id: int
    mentioned_ids: tuple[int, ...] = ()

    @property
    def partition_key(self) -> str:
        return str(self.post_id)


class FollowChanged(_Event):
    """A follow edge appeared or went away."""

    type: Literal["follow_changed"] = "follow_changed"
    follower_id: int
    followee_id: int
    following: bool
    approved: bool = False  # made by the owner approving a follow request: the requester hears of it, not the owner

    @property
    def partition_key(self) -> str:
        return str(self.followee_id)


class LikeChanged(_Event):
    """A like was added to or taken from a post."""

    type: Literal["like_changed"] = "like_changed"
    post_id: int
    post_author_id: int
    user_id: int
    liked: bool

    @property
    def partition_key(self) -> str:
        return str(self.post_id)


class CommentCreated(_Event):
    """A comment was written; `mentioned_ids` are the users its @mentions name."""

    type: Literal["comment_created"] = "comment_created"
    post_id: int
    post_author_id: int
    comment_id: int
    author_id: int
    excerpt: str
    mentioned_ids: tuple[int, ...] = ()

    @property
    def partition_key(self) -> str:
        return str(self.post_id)


class PostSaved(_Event):
    """Someone saved a post (committed with the save, through the outbox). Saves are private: no consumer tells
    anyone; it is the ranking loop's engagement (aperture.engagements)."""

    type: Literal["post_saved"] = "post_saved"
    post_id: int
    post_author_id: int
    user_id: int

    @property
    def partition_key(self) -> str:
        return str(self.post_id)


class StoryViewed(_Event):
    """Someone saw a story for the first time (on the story-views stream; one event per viewer and story)."""

    type: Literal["story_viewed"] = "story_viewed"
    story_id: int
    author_id: int
    viewer_id: int
    story_expires_at: int | None = None  # unix ms; the viewer list is kept a week past it

    @property
    def partition_key(self) -> str:
        # By viewer: one celebrity story's millions of views spread over every shard (writes are idempotent
        # per story and viewer, so no order is needed).
        return str(self.viewer_id)


class PostDeleted(_Event):
    """Its author deleted a post: the record is gone; what hangs off it (comments, likes, notifications, cached
    copies, timeline entries, images) goes in the cascade that follows (aperture.cascade)."""

    type: Literal["post_deleted"] = "post_deleted"
    post_id: int
    author_id: int
    upload_id: int
    hashtags: tuple[str, ...] = ()

    @property
    def partition_key(self) -> str:
        return str(self.post_id)


class StoryDeleted(_Event):
    """Its author took a story down (live or kept as a highlight): the cascade removes its images, views and
    cached copies."""

    type: Literal["story_deleted"] = "story_deleted"
    story_id: int
    author_id: int
    upload_id: int

    @property
    def partition_key(self) -> str:
        return str(self.story_id)


class PostEdited(_Event):
    """Its author edited a post (committed with the edit, through the outbox): the newly mentioned hear of it, and
    the relay brings the cached copy up to `version` (aperture.editing)."""

    type: Literal["post_edited"] = "post_edited"
    post_id: int
    author_id: int
    version: int
    mentioned_ids: tuple[int, ...] = ()  # only those the edit names for the first time
    hashtags: tuple[str, ...] = ()  # the post's hashtags after the edit
    previous_hashtags: tuple[str, ...] = ()

    @property
    def partition_key(self) -> str:
        return str(self.post_id)


class FollowRequested(_Event):
    """A follow request to a private account was made (`requested`) or withdrawn."""

    type: Literal["follow_requested"] = "follow_requested"
    follower_id: int
    followee_id: int
    requested: bool

    @property
    def partition_key(self) -> str:
        return str(self.followee_id)


class AccountPrivacyChanged(_Event):
    """An account went private or public. Going public approves its pending follow requests, a bounded batch per
    round: a round that leaves some writes the next round's event (`round` + 1) to the outbox."""

    type: Literal["account_privacy_changed"] = "account_privacy_changed"
    user_id: int
    private: bool
    round: int = 0

    @property
    def partition_key(self) -> str:
        return str(self.user_id)


class UserChanged(_Event):
    """A user signed up, or changed what search finds them by (display name) or their privacy: committed with the
    change, through the outbox. The previous names are those the change replaced, so the index drops them."""

    type: Literal["user_changed"] = "user_changed"
    user_id: int
    username: str
    display_name: str = ""
    private: bool = False
    previous_names: tuple[str, ...] = ()

    @property
    def partition_key(self) -> str:
        return str(self.user_id)


class ExportRequested(_Event):
    """A user asked for their data (committed with the export's record, through the outbox): the relay queues the
    build (aperture.exports)."""

    type: Literal["export_requested"] = "export_requested"
    user_id: int
    export_id: int

    @property
    def partition_key(self) -> str:
        return str(self.user_id)


class AccountErasureRequested(_Event):
    """Its owner asked for the account to be erased (committed with the account's disabled record, through the
    outbox): the erasure worker deletes what they made and caused, a bounded batch per round. A round that leaves
    some writes the next round's event (`round` + 1) to the outbox (aperture.erasure)."""

    type: Literal["account_erasure_requested"] = "account_erasure_requested"
    user_id: int
    username: str
    round: int = 0

    @property
    def partition_key(self) -> str:
        return str(self.user_id)


AnyEvent = (
    PostReady
    | PostPublished
    | FollowChanged
    | LikeChanged
    | CommentCreated
    | PostSaved
    | StoryViewed
    | PostDeleted
    | StoryDeleted
    | PostEdited
    | FollowRequested
    | AccountPrivacyChanged
    | UserChanged
    | ExportRequested
    | AccountErasureRequested
)
DomainEvent = Annotated[AnyEvent, Field(discriminator="type")]
DOMAIN_EVENT: TypeAdapter[AnyEvent] = TypeAdapter(DomainEvent)


KNOWN_TYPES = frozenset(str(kind.model_fields["type"].default) for kind in get_args(AnyEvent))


def parse_event(data: bytes | str) -> AnyEvent | None:
    """The event, or None for a type this code does not know yet (a newer producer): consumers skip those.

    Malformed data of a known type raises, so the record is reported as failed.
    """
    raw = json.loads(data)
    if not isinstance(raw, dict) or raw.get("type") not in KNOWN_TYPES:
        return None
    return DOMAIN_EVENT.validate_python(raw)


class FanoutJob(_Correlated):
    """Push one post to a slice of its author's followers (about a thousand)."""

    kind: Literal["post"] = "post"
    post_id: int
    author_id: int
    published_ms: int
    follower_ids: tuple[int, ...]


class CelebrityJob(_Correlated):
    """An author crossed the celebrity threshold: tell a slice of their followers where to find their posts."""

    kind: Literal["celebrity"] = "celebrity"
    author_id: int
    celebrity: bool
    follower_ids: tuple[int, ...]


AnyJob = Annotated[FanoutJob | CelebrityJob, Field(discriminator="kind")]
JOB: TypeAdapter[FanoutJob | CelebrityJob] = TypeAdapter(AnyJob)


class ExploreJob(_Correlated):
    """Rank the explore lists of a slice of active viewers (about a hundred) with the current model."""

    user_ids: tuple[int, ...]


class CdnInvalidation(_Correlated):
    """Forget the CDN's cached copies of every object under a key prefix (a deleted post's or story's images)."""

    # Under images/ (the only path the CDN caches), and never a wildcard of its own: the invalidation adds one.
    prefix: str = Field(pattern=r"^images/[^*]+$")


class ExportJob(_Correlated):
    """Build one user's data export (queued once per ExportRequested; a repeat finds it claimed or done)."""

    user_id: int
    export_id: int
