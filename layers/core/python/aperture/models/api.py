"""Request and response shapes of the HTTP API (the contract in API.md)."""

from __future__ import annotations

from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Username = Annotated[str, StringConstraints(min_length=3, max_length=30, pattern=r"^[a-z0-9._]+$")]
Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]

T = TypeVar("T")


class _Model(BaseModel):
    # Each model's validator is built on first use, not at import: a function uses a few of these models, and
    # building all of them was a third of every API function's cold start (docs/benchmarks.md, cold starts).
    model_config = ConfigDict(extra="forbid", defer_build=True)


class _Request(_Model):
    """A request body: unknown fields refused, and no coercion (`true`, `"5"` or `5.0` is not an integer)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorBody(_Model):
    code: str
    message: str
    # Only with code "mfa_required" (POST /auth/token): answer it at POST /auth/token/totp.
    session: str | None = None


class ErrorResponse(_Model):
    error: ErrorBody


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class Health(_Model):
    status: Literal["ok"] = "ok"


class SignupRequest(_Request):
    username: Username
    password: Annotated[
        str,
        StringConstraints(min_length=8, max_length=256),
        Field(description="At least 8 characters, with an upper-case and a lower-case letter, a digit and a symbol"),
    ]
    email: Email


class SignupResponse(_Model):
    user_id: str
    username: str


class TokenRequest(_Request):
    username: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class TokenResponse(_Model):
    id_token: str
    access_token: str
    refresh_token: str
    expires_in: int


class RefreshRequest(_Request):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class RefreshResponse(_Model):
    id_token: str
    access_token: str
    expires_in: int


class TotpAnswerRequest(_Request):
    """The second step of signing in to an account with TOTP: the session from the 401 `mfa_required`."""

    username: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    session: Annotated[str, StringConstraints(min_length=20, max_length=4096)]  # Cognito's own bounds
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


class TotpStartRequest(_Request):
    # Cognito ties an authenticator to the access token's user; the API checks it is the caller's own.
    access_token: Annotated[str, StringConstraints(min_length=1, max_length=8192, pattern=r"^[A-Za-z0-9\-_=.]+$")]


class TotpStartResponse(_Model):
    secret: str
    otpauth_uri: str


class TotpVerifyRequest(_Request):
    access_token: Annotated[str, StringConstraints(min_length=1, max_length=8192, pattern=r"^[A-Za-z0-9\-_=.]+$")]
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


class TotpVerifyResponse(_Model):
    mfa_enabled: bool


class UserRef(_Model):
    user_id: str
    username: str


class Relationship(_Model):
    following: bool = False
    followed_by: bool = False
    blocking: bool = False
    muting: bool = Field(default=False, description="You mute this user (they are not told)")
    requested: bool = Field(default=False, description="You asked to follow this private account; not yet approved")


class Profile(_Model):
    user_id: str
    username: str
    display_name: str = ""
    bio: str = ""
    follower_count: int = 0
    following_count: int = 0
    post_count: int = 0
    relationship: Relationship = Field(default_factory=Relationship)
    # Your own settings; shown only on your own profile.
    region: str | None = None
    highlights_enabled: bool | None = None
    private: bool = Field(default=False, description="Only approved followers see its posts, stories and lists")


class UpdateProfileRequest(_Request):
    display_name: Annotated[str, StringConstraints(max_length=64)] | None = None
    bio: Annotated[str, StringConstraints(max_length=150)] | None = None
    region: Annotated[str, StringConstraints(pattern=r"^([A-Z]{2})?$")] | None = Field(
        default=None, description="ISO 3166-1 alpha-2 country code, or empty to clear"
    )
    highlights_enabled: bool | None = None
    private: bool | None = Field(default=None, description="Private account: new followers must be approved")


class EraseAccountRequest(_Request):
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        description="Your password, checked again before anything is erased"
    )


class ErasureAccepted(_Model):
    status: Literal["erasing"] = Field(
        default="erasing",
        description="The account is switched off now; everything of it is deleted within minutes",
    )


class FollowResponse(_Model):
    following: bool
    requested: bool = Field(default=False, description="A follow request to a private account awaits approval")


ContentType = Literal["image/jpeg", "image/png", "image/heic", "image/heif"]


AltText = Annotated[str, StringConstraints(max_length=1000)]


class UploadItemRequest(_Request):
    """One photo of a carousel."""

    content_type: str
    content_length: Annotated[int, Field(ge=1)]
    alt_text: AltText = ""


class CreateUploadRequest(_Request):
    """One photo (`content_type`, `content_length`) or, for a post, `items` (1..10 photos, a carousel)."""

    kind: Literal["post", "story"] = "post"
    content_type: str | None = None
    content_length: Annotated[int, Field(ge=1)] | None = None
    caption: Annotated[str, StringConstraints(max_length=2200)] = ""
    location: Annotated[str, StringConstraints(max_length=200)] | None = None
    hashtags: Annotated[
        list[Annotated[str, StringConstraints(pattern=r"^[\w]{1,100}$")]],
        Field(
            max_length=30,
            description="The post is filed under these and the caption's #tags (lowercase, the first 30), "
            "without repeats",
        ),
    ] = Field(default_factory=list)
    audience: Literal["everyone", "close_friends"] = Field(
        default="everyone", description="A story's audience: close_friends shows it only to your close friends"
    )
    alt_text: AltText = ""
    items: Annotated[list[UploadItemRequest], Field(min_length=1, max_length=10)] | None = None

    @model_validator(mode="after")
    def _one_photo_or_items(self) -> CreateUploadRequest:
        single = self.content_type is not None or self.content_length is not None
        if self.items is None and (self.content_type is None or self.content_length is None):
            raise ValueError("send content_type and content_length, or items")
        if self.items is not None and (single or self.alt_text):
            raise ValueError("send items, or content_type and content_length (and alt_text), not both")
        if self.items is not None and self.kind != "post":
            raise ValueError("only a post may have items")
        return self


class PresignedUpload(_Model):
    url: str
    fields: dict[str, str]


class CreateUploadResponse(_Model):
    upload_id: str
    target_id: str
    url: str  # the first photo's (the only one's, for a one-photo request)
    fields: dict[str, str]
    expires_at: str
    uploads: list[PresignedUpload] | None = None  # with `items`: one per item, in order


class UploadStatusResponse(_Model):
    upload_id: str
    kind: Literal["post", "story"]
    status: Literal["pending", "processing", "ready", "rejected", "failed"]
    reason: str | None = None
    target_id: str
    item: int | None = None  # a refused carousel: which photo (0-based) was refused


class ImageFormats(_Model):
    jpeg: str
    webp: str
    avif: str


class PostMedia(_Model):
    images: dict[str, ImageFormats]
    width: int
    height: int
    blurhash: str | None = None
    alt_text: str = ""


class Post(_Model):
    post_id: str
    author: UserRef
    caption: str
    location: str | None
    hashtags: list[str]
    created_at: str
    width: int
    height: int
    blurhash: str | None = None
    images: dict[str, ImageFormats]
    like_count: int = 0
    comment_count: int = 0
    liked_by_me: bool = False
    saved_by_me: bool = False  # only ever the viewer's own saves
    comment_preview: list[CommentView] = Field(default_factory=list)
    edited_at: int | None = Field(default=None, description="Unix ms of the last edit; null until edited")
    media: list[PostMedia] = Field(default_factory=list)  # every photo in order; the first is the top-level one


class BlockRequest(_Request):
    """Name exactly one of `post_id` and `story_id`."""

    post_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")] | None = None
    story_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")] | None = None
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]

    @model_validator(mode="after")
    def _one_target(self) -> BlockRequest:
        if (self.post_id is None) == (self.story_id is None):
            raise ValueError("name exactly one of post_id and story_id")
        return self


class BlockResponse(_Model):
    post_id: str | None = None
    story_id: str | None = None
    hash: str


class CommentView(_Model):
    comment_id: str
    post_id: str
    author: UserRef
    text: str
    created_at: str


class CommentRequest(_Request):
    text: Annotated[str, StringConstraints(min_length=1, max_length=2200)]


class LikeResponse(_Model):
    liked: bool
    like_count: int


class SaveResponse(_Model):
    saved: bool


class FullRelationship(_Model):
    following: bool
    followed_by: bool
    blocking: bool
    blocked_by: bool
    muting: bool = Field(description="You mute this user (they are not told)")
    requested: bool = Field(default=False, description="You asked to follow this private account; not yet approved")


class BlockStatus(_Model):
    blocking: bool


class MuteStatus(_Model):
    muting: bool


class NotificationView(_Model):
    notification_id: str
    type: Literal["like", "comment", "follow", "mention", "follow_request", "follow_accepted"]
    actor: UserRef
    post_id: str | None = None
    comment_id: str | None = None
    others_count: int = 0  # "alice and 12 others": how many besides `actor`
    created_at: str
    read: bool


class NotificationPage(Page[NotificationView]):
    unread_count: int


class MarkReadRequest(_Request):
    up_to: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")]


class UnreadCount(_Model):
    unread_count: int


class DeviceRequest(_Request):
    platform: Literal["apns", "fcm"]
    token: Annotated[str, StringConstraints(min_length=8, max_length=4096)]


class DeviceView(_Model):
    device_id: str
    platform: Literal["apns", "fcm"]
    created_at: str


class Story(_Model):
    story_id: str
    author: UserRef
    created_at: str
    expires_at: str
    width: int
    height: int
    blurhash: str | None = None
    images: dict[str, ImageFormats]
    seen: bool
    view_count: int | None = None  # the author's own stories only
    audience: Literal["everyone", "close_friends"] = "everyone"


class TrayEntry(_Model):
    user: UserRef
    has_unseen: bool
    latest_at: str
    story_count: int
    close_friends: bool = False  # some of the stories counted are for the author's close friends (a green ring)


class StoryViewer(_Model):
    user: UserRef
    viewed_at: str


class StoryViewers(Page[StoryViewer]):
    view_count: int


class EditPostRequest(_Request):
    """`PATCH /posts/{post_id}`: the fields to change, at least one (a field left out stays as it is)."""

    caption: Annotated[str, StringConstraints(max_length=2200)] | None = Field(
        default=None, description="The new caption (its #tags and @mentions are parsed again); not null"
    )
    location: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="The new location; null or empty removes it"
    )
    alt_texts: Annotated[list[AltText], Field(min_length=1, max_length=10)] | None = Field(
        default=None, description="One alt text per photo, in order (0..1000 characters each; empty removes one)"
    )

    @model_validator(mode="after")
    def _something_to_change(self) -> EditPostRequest:
        if not self.model_fields_set:
            raise ValueError("name at least one field to change: caption, location, alt_texts")
        for field in ("caption", "alt_texts"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self


class CloseFriendResponse(_Model):
    close_friend: bool


Post.model_rebuild()


class FollowRequestDecision(_Model):
    """The answer to approving or declining a follow request: whether that user now follows you."""

    user_id: str
    following: bool


class UserResult(_Model):
    """A person found by search."""

    user_id: str
    username: str
    display_name: str = ""
    follower_count: int = 0
    following: bool = False  # whether the caller follows them


class HashtagResult(_Model):
    """A hashtag found by search, with how many posts use it."""

    tag: str
    post_count: int


IdText = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")]
ReportReason = Literal["spam", "nudity", "violence", "harassment", "hate", "self_harm", "other"]
ReportStatus = Literal["open", "resolved"]
ModerationAction = Literal["dismiss", "remove", "suspend", "restore"]


class ReportTarget(_Request):
    """What is reported: one of `post_id`, `story_id` and `user_id`; a comment is `comment_id` with its `post_id`."""

    post_id: IdText | None = None
    comment_id: IdText | None = None
    story_id: IdText | None = None
    user_id: IdText | None = None

    @model_validator(mode="after")
    def _one_target(self) -> ReportTarget:
        named = [n for n in ("post_id", "story_id", "user_id") if getattr(self, n) is not None]
        if self.comment_id is not None:
            if named != ["post_id"]:
                raise ValueError("a comment is named by comment_id with its post_id, and nothing else")
        elif len(named) != 1:
            raise ValueError("name exactly one of post_id, comment_id (with its post_id), story_id and user_id")
        return self

    @property
    def kind(self) -> Literal["post", "comment", "story", "user"]:
        if self.comment_id is not None:
            return "comment"
        if self.post_id is not None:
            return "post"
        return "story" if self.story_id is not None else "user"


class ReportRequest(_Request):
    target: ReportTarget
    reason: ReportReason
    note: Annotated[str, StringConstraints(max_length=1000)] | None = None


class ReportResponse(_Model):
    report_id: str


class ReportReceipt(_Model):
    """What POST /reports answers, with its status (201 the first time, 200 after): what a retry under the same
    Idempotency-Key replays."""

    report_id: str
    created: bool


class ReportedPreview(_Model):
    """What a moderator sees of the reported thing, while it exists."""

    author: UserRef | None = None
    caption: str | None = None
    text: str | None = None  # a comment's
    image_url: str | None = None
    bio: str | None = None


class ModerationEntry(_Model):
    report_id: str
    target: dict[str, str]
    reasons: list[ReportReason]
    report_count: int
    first_reported_at: str
    last_reported_at: str
    status: ReportStatus
    action: ModerationAction | None = None  # the last resolution's
    resolved_at: str | None = None
    account_id: str  # whose content (or account) it is: the one a suspension switches off
    account: UserRef | None = None  # (while the account exists)
    suspended: bool = False
    preview: ReportedPreview | None = None


class ResolveRequest(_Request):
    action: ModerationAction


class ModerationPage(Page[ModerationEntry]):
    pass


class ExportStarted(_Model):
    export_id: str


class ExportProgress(_Model):
    stage: Literal["queued", "collecting", "photos", "uploading", "done"] = Field(
        description="queued, then collecting (the JSON files), photos (zipping them), uploading, done"
    )
    photos_done: int
    photos_total: int


class ExportStatusResponse(_Model):
    export_id: str
    status: Literal["pending", "ready", "failed"]
    requested_at: str
    progress: ExportProgress
    url: str | None = Field(default=None, description="Downloads the ZIP (a presigned GET), until expires_at")
    expires_at: str | None = Field(default=None, description="When the link and the ZIP go (a day after ready)")
    size_bytes: int | None = None
    reason: str | None = None
