"""Reports and the moderation queue: anyone reports what they can see; moderators dismiss, remove or suspend.

A report is one transaction: the reporter's item (conditional on reporter and target, so reporting again files
nothing and answers with the first report's id) and the target's queue entry (count, reasons, first and last
time), which moderators read most reported first. Reporters are never shown to anyone but the stored record: no
route returns who reported what (docs/security.md).

A resolution is a sequence of steps each of which does nothing the second time, so a retry after a failure anywhere
finishes the work exactly once: `remove` blocks the image (a conditional put), then deletes the content through the
author's own deletion path (one transaction with its event; gone already is done), then marks the entry resolved;
`suspend` and `restore` switch the account through AccountStanding (a conditional write, True only when it changed
something), then mark the entry. Nothing is published by a resolution that its own committed write does not carry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aperture.adapters.dynamo.comments import CommentRepository
from aperture.adapters.dynamo.posts import PostRepository
from aperture.adapters.dynamo.reports import STATUSES, ReportRepository
from aperture.adapters.dynamo.stories import StoryRepository
from aperture.adapters.dynamo.users import UserRepository
from aperture.cdn import image_urls
from aperture.clock import iso
from aperture.comments import Comments
from aperture.errors import (
    CommentNotFoundError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    NotRemovableError,
    OwnContentError,
    PrivateAccountError,
    ReportNotFoundError,
)
from aperture.graph import Graph
from aperture.media.moderation import ImageBlocker
from aperture.models.api import (
    ModerationEntry,
    ReportedPreview,
    ReportReceipt,
    ReportRequest,
    ReportTarget,
    UserRef,
)
from aperture.observability import logger
from aperture.posts import Posts, PostViews
from aperture.standing import AccountStanding
from aperture.stories import Stories


@dataclass(frozen=True, kw_only=True)
class ReportPorts:
    repo: ReportRepository
    graph: Graph
    post_views: PostViews
    stories: Callable[[], Stories]  # built on first use: only the routes that need stories build them
    posts: Callable[[], Posts]
    comments: Callable[[], Comments]
    post_records: PostRepository
    comment_records: CommentRepository
    story_records: StoryRepository
    users: UserRepository
    blocker: Callable[[], ImageBlocker]
    standing: Callable[[], AccountStanding]
    now_ms: Callable[[], int]
    cdn_base: str


def target_key(target: ReportTarget) -> str:
    """The queue's key of a target: post:<id>, comment:<post id>:<comment id>, story:<id>, user:<id>."""
    if target.comment_id is not None:
        return f"comment:{target.post_id}:{target.comment_id}"
    return f"{target.kind}:{target.post_id or target.story_id or target.user_id}"


class Reports:
    def __init__(self, ports: ReportPorts) -> None:
        self.ports = ports

    # Reporting

    def file(self, reporter_id: int, request: ReportRequest, new_id: Callable[[], int]) -> ReportReceipt:
        """File a report of something the reporter can see now (else 404, as if it did not exist)."""
        target = request.target
        try:
            account_id = self._owner_seen_by(reporter_id, target)
        except PrivateAccountError as error:  # the content of an account they may not see: not there, for them
            raise NotFoundError(f"there is no such {target.kind}") from error
        if account_id == reporter_id:
            raise OwnContentError("you cannot report yourself or your own content")
        ids = {k: v for k, v in target.model_dump().items() if v is not None}
        filed = self.ports.repo.file(
            target_key(target),
            ids,
            account_id,
            reporter_id,
            new_id(),
            request.reason,
            request.note,
            self.ports.now_ms(),
        )
        logger.info("report filed", extra={"target": target_key(target), "new": filed.created})
        return ReportReceipt(report_id=str(filed.report_id), created=filed.created)

    def _owner_seen_by(self, viewer_id: int, target: ReportTarget) -> int:
        """Whose the target is, if the viewer may see it (the read paths' own checks)."""
        p = self.ports
        if target.kind == "user":
            return p.graph.visible_user(viewer_id, int(str(target.user_id))).user_id
        if target.kind == "story":
            return p.stories().visible(viewer_id, int(str(target.story_id))).author_id
        post = p.post_views.visible(viewer_id, int(str(target.post_id)))
        if target.kind == "post":
            return post.author_id
        comment = p.comment_records.get(post.post_id, int(str(target.comment_id)))
        if comment is None or comment.author_id in p.graph.hidden_from(viewer_id):
            raise CommentNotFoundError(f"comment {target.comment_id} does not exist")
        return comment.author_id

    # The queue

    def queue(self, status: str, limit: int, cursor: str | None) -> tuple[list[ModerationEntry], str | None]:
        """Entries in a status, most reported first, with a preview of what each is (while it exists)."""
        if status not in STATUSES:
            raise InvalidInputError(f"status is one of {', '.join(STATUSES)}")
        items, next_cursor = self.ports.repo.page(status, limit, cursor)
        disabled = self.ports.standing().disabled() if items else frozenset()
        return [self._entry(item, disabled) for item in items], next_cursor

    def _entry(self, item: dict[str, Any], disabled: frozenset[int]) -> ModerationEntry:
        return ModerationEntry(
            report_id=str(item["report_id"]),
            target=dict(item["ids"]),
            reasons=sorted(item.get("reasons", ())),
            report_count=int(item["report_count"]),
            first_reported_at=iso(int(item["first_reported_at"])),
            last_reported_at=iso(int(item["last_reported_at"])),
            status=item["status"],
            action=item.get("action"),
            resolved_at=iso(int(item["resolved_at"])) if item.get("resolved_at") else None,
            account_id=str(item["account_id"]),
            account=_ref(self.ports.users.get(int(item["account_id"]))),
            suspended=int(item["account_id"]) in disabled,
            preview=self._preview(item["kind"], item["ids"]),
        )

    def _preview(self, kind: str, ids: dict[str, str]) -> ReportedPreview | None:
        """What the moderator needs to decide, read from the records (whoever blocks whom)."""
        p = self.ports
        if kind == "user":
            user = p.users.get(int(ids["user_id"]))
            return ReportedPreview(author=_ref(user), bio=user.bio) if user else None
        if kind == "story":
            story = p.story_records.get(int(ids["story_id"]))
            if story is None or story.deleted:
                return None
            return ReportedPreview(author=_ref(p.users.get(story.author_id)), image_url=self._image(story.images))
        return self._post_preview(kind, ids)

    def _post_preview(self, kind: str, ids: dict[str, str]) -> ReportedPreview | None:
        p = self.ports
        post = p.post_records.get(int(ids["post_id"]))
        if post is None:
            return None
        if kind == "post":
            return ReportedPreview(
                author=_ref(p.users.get(post.author_id)), caption=post.caption, image_url=self._image(post.images)
            )
        comment = p.comment_records.get(post.post_id, int(ids["comment_id"]))
        if comment is None:
            return None
        return ReportedPreview(
            author=_ref(p.users.get(comment.author_id)), text=comment.text, image_url=self._image(post.images)
        )

    def _image(self, images: dict[str, dict[str, str]]) -> str | None:
        urls = image_urls(images, self.ports.cdn_base)
        for size in ("640", "1080", "150"):
            if "jpeg" in urls.get(size, {}):
                return urls[size]["jpeg"]
        return None

    # Resolving

    def resolve(self, moderator_id: int, report_id: int, action: str) -> ModerationEntry:
        """Carry out a moderator's decision on a queue entry; repeating it changes nothing more."""
        p = self.ports
        item = p.repo.entry(report_id)
        if item is None:
            raise ReportNotFoundError(f"there is no report {report_id}")
        kind, ids, account_id = item["kind"], item["ids"], int(item["account_id"])
        if action == "remove":
            self._remove(kind, ids, moderator_id, f"report {report_id}: {', '.join(sorted(item['reasons']))}")
        elif action == "suspend":
            if p.standing().disable(account_id, "suspended"):
                logger.info("account suspended", extra={"user_id": account_id, "moderator": moderator_id})
        elif action == "restore":
            if p.standing().reason(account_id) == "erased":
                raise ConflictError("the account was erased by its owner; there is nothing to restore")
            if p.standing().restore(account_id):
                logger.info("account restored", extra={"user_id": account_id, "moderator": moderator_id})
        now = p.now_ms()
        p.repo.resolve(item["target"], action, moderator_id, now)
        resolved = {**item, "status": "resolved", "action": action, "resolved_at": now}
        return self._entry(resolved, p.standing().disabled())

    def _remove(self, kind: str, ids: dict[str, str], moderator_id: int, reason: str) -> None:
        """Block the image (while the content exists), then delete it through its author's own path."""
        p = self.ports
        if kind == "user":
            raise NotRemovableError("an account cannot be removed: suspend it")
        if kind == "comment":
            p.comments().remove(int(ids["post_id"]), int(ids["comment_id"]))
            return
        if kind == "story":
            story = p.story_records.get(int(ids["story_id"]))
            if story is None or story.deleted:
                return  # removed already (a retry), or by its author
            p.blocker().block_story(story.story_id, reason, moderator_id)
            p.stories().remove(story)
            return
        post_id = int(ids["post_id"])
        if p.post_records.get(post_id, consistent=True) is None:
            return
        p.blocker().block_post(post_id, reason, moderator_id)
        p.posts().remove(post_id)


def _ref(user: Any) -> UserRef | None:
    return UserRef(user_id=str(user.user_id), username=user.username) if user else None
