"""Erasing an account: everything its owner made or caused is deleted, in bounded rounds, after the account was
switched off for everyone (aperture.standing).

`DELETE /me` re-checks the password, then writes the account's disabled record and an AccountErasureRequested
event in one transaction: from that moment its tokens are refused and its content is hidden from every read path.
The outbox's stream hands the event to the `erasure` function, which runs the steps below in order. Each step
finds at most `batch` of its records by key (aperture.adapters.dynamo.erasure) and deletes them through the same
code that deletes them one by one (the counts follow: a post's likes and comments, the other users' follower and
following counts), so what a step deleted is simply not found again. A step that found a full batch may have more:
the round then writes the next round's event (its id fixed by the first round's, so a replayed round writes no
second one) and ends; the next round starts again from the top, where finished steps find nothing. A round that
dies anywhere is retried by the stream and finds only what is left; nothing is counted twice, because every
counted delete is conditional on the record it removes.

The steps: posts (each through the post deletion cascade, aperture.cascade: its comments, likes, saves,
notifications, timeline entries, explore entries, images and CDN copies) and stories and highlights (the story
cascade), then the user's comments, likes, saves, follows both ways, blocks, mutes, close friends and follow
requests both ways, notifications to and from them, devices (and their SNS endpoints), story views and uploads;
then, in a round that found nothing left, the objects under the user's prefixes, the search index, the Redis keys
and traces, the activity log's records naming them (queued and in S3), the Cognito user, the profile and last the
disabled record, so the account stays hidden until nothing of it is left.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from redis.exceptions import RedisError

from aperture.activity_flush import ActivityErasure
from aperture.adapters.cognito import IdentityProvider
from aperture.adapters.dynamo.close_friends import CloseFriendRepository
from aperture.adapters.dynamo.erasure import ErasureRecords
from aperture.adapters.dynamo.graph import FollowRepository
from aperture.adapters.dynamo.notifications import DeviceRepository
from aperture.adapters.dynamo.posts import PostRepository
from aperture.adapters.dynamo.reports import ReportRepository
from aperture.adapters.dynamo.saves import SaveRepository
from aperture.adapters.dynamo.users import UserRepository
from aperture.adapters.redis_store.erasure import RedisTraces
from aperture.adapters.redis_store.graph import RelationshipCache
from aperture.adapters.redis_store.search import UserSearchIndex
from aperture.adapters.redis_store.stories import StoryCache
from aperture.close_friends import Audiences
from aperture.comments import Comments
from aperture.errors import (
    CommentNotFoundError,
    MfaRequiredError,
    NotFoundError,
    UnauthorizedError,
    WrongPasswordError,
)
from aperture.graph import Graph
from aperture.likes import Likes
from aperture.models.events import AccountErasureRequested, FollowChanged
from aperture.observability import logger
from aperture.ports import ImageStore
from aperture.posts import Posts
from aperture.resources import EXPORT_PREFIX, IMAGE_PREFIX, UPLOAD_PREFIX
from aperture.search import fold, indexed_names
from aperture.stories import Stories


class Disabler(Protocol):
    def disable(
        self, user_id: int, reason: Literal["suspended", "erased"], event: AccountErasureRequested | None = None
    ) -> bool: ...


class ErasureRequests:
    """`DELETE /me`: the password checked again (403 wrong_password, nothing erased), then the account switched
    off with the event that starts its erasure, in one transaction (the foundation's disabled record)."""

    def __init__(self, identity: IdentityProvider, standing: Disabler, now_ms: Callable[[], int]) -> None:
        self._identity = identity
        self._standing = standing
        self._now_ms = now_ms

    def request(self, user_id: int, username: str, password: str) -> None:
        try:
            self._identity.authenticate(username, password)
        except MfaRequiredError:
            pass  # Cognito asks for the second factor only once the password was right: that is the check
        except UnauthorizedError as error:
            raise WrongPasswordError("that is not your password; nothing was erased") from error
        event = AccountErasureRequested(
            event_id=uuid.uuid4().hex, occurred_at=self._now_ms(), user_id=user_id, username=username
        )
        self._standing.disable(user_id, "erased", event)


@dataclass(frozen=True)
class ErasurePorts:
    records: ErasureRecords
    users: UserRepository
    posts: Posts  # a post taken down as its author does, with its cascade
    post_records: PostRepository
    stories: Stories
    comments: Comments
    likes: Likes
    saves: SaveRepository
    follows: FollowRepository
    graph: Graph  # a follow's timelines and caches in step (Graph.after)
    relationships: RelationshipCache
    story_cache: StoryCache
    close_friends: CloseFriendRepository
    audiences: Audiences
    devices: DeviceRepository
    push_owner: Callable[[str], int | None]  # whom an SNS endpoint belongs to now (None: gone)
    push_unregister: Callable[[str], None]
    images: ImageStore
    user_index: UserSearchIndex
    traces: RedisTraces
    model_generation: Callable[[], str | None]  # explore's current model, whose user vectors name the user
    activity: ActivityErasure  # the ranking loop's impressions and engagements naming the user
    delete_identity: Callable[[str], object]  # the Cognito user (missing already: nothing to do)
    reports: ReportRepository  # the reports they filed, and those of them or their content
    record_next: Callable[[AccountErasureRequested], bool]  # the next round's event, alone in the outbox
    forget_disabled: Callable[[int], object]  # the disabled record, last
    now_ms: Callable[[], int]
    like_window_ms: int  # likes of one post within it share a notification (aperture.notifications)


@dataclass
class ErasureOutcome:
    done: dict[str, int] = field(default_factory=dict)  # step -> records deleted this round
    more: bool = False  # a next round was recorded
    finished: bool = False  # the account is gone


class Erasure:
    def __init__(self, ports: ErasurePorts, batch: int) -> None:
        self.ports = ports
        self._batch = batch

    def steps(self) -> list[tuple[str, Callable[[int], int]]]:
        """Each batched step: its name, and a call deleting up to a batch of the user's records (how many)."""
        return [
            ("posts", self._posts),
            ("stories", self._stories),
            ("highlights", self._highlights),
            ("comments", self._comments),
            ("likes", self._likes),
            ("saves", self._saves),
            ("following", self._following),
            ("followers", self._followers),
            ("blocks", self._blocks),
            ("mutes", self._mutes),
            ("close_friends", self._close_friends),
            ("follow_requests", self._follow_requests),
            ("inbox", self._inbox),
            ("acted", self._acted),
            ("devices", self._devices),
            ("story_views", self._story_views),
            ("uploads", self._uploads),
            ("reports_filed", self._reports_filed),
            ("reports_about", self._reports_about),
        ]

    def erase(self, event: AccountErasureRequested) -> ErasureOutcome:
        outcome = ErasureOutcome()
        worked = False
        for name, step in self.steps():
            count = step(event.user_id)
            outcome.done[name] = count
            worked = worked or count > 0
            if count >= self._batch:
                break  # a full batch: there may be more of it, and later steps wait for it
        if worked:
            # Something was deleted: another round looks again (and the last round, which finds nothing, finishes,
            # so the events this one wrote are ahead of the final sweep)
            outcome.more = True
            self.ports.record_next(self._next(event))
            return outcome
        self._finish(event)
        outcome.finished = True
        return outcome

    def _next(self, event: AccountErasureRequested) -> AccountErasureRequested:
        root = event.event_id.split(":", 1)[0]
        return event.model_copy(
            update={
                "event_id": f"{root}:{event.round + 1}",
                "occurred_at": self.ports.now_ms(),
                "round": event.round + 1,
            }
        )

    # -- what they made -----------------------------------------------------------------------------------------

    def _posts(self, user_id: int) -> int:
        p = self.ports
        ids = p.records.post_ids(user_id, self._batch)
        for post_id in ids:
            record = p.post_records.get(post_id, consistent=True)
            if record is None:
                continue
            # The keys grouping likes of it into one notification name the user; found from that notification,
            # which the post's cascade deletes
            p.records.forget_like_groups(user_id, post_id, p.like_window_ms)
            with contextlib.suppress(NotFoundError):  # (deleted meanwhile: its own cascade runs)
                p.posts.take_down(record)  # its event starts the post's cascade
        return len(ids)

    def _stories(self, user_id: int) -> int:
        p = self.ports
        found = p.records.stories(user_id, self._batch)
        for story in found:
            if not story.deleted:
                with contextlib.suppress(NotFoundError):
                    p.stories.take_down(story)  # its event starts the story's cascade (views, trays, images)
            # The taken-down record is kept only against a redelivered 'ready' reviving it; the uploads step below
            # deletes the upload that event would name, and the user has no profile to publish under any more
            p.records.delete_story_record(story.story_id)
        return len(found)

    def _highlights(self, user_id: int) -> int:
        p = self.ports
        found = p.records.highlights(user_id, self._batch)
        for kept in found:  # (their story records are gone: the step above took those down with their highlight)
            with contextlib.suppress(NotFoundError):
                p.stories.take_down(kept)
        return len(found)

    def _comments(self, user_id: int) -> int:
        p = self.ports
        found = p.records.comments(user_id, self._batch)
        for post_id, comment_id in found:
            post = p.post_records.get(post_id, consistent=True)
            if post is None:
                p.records.delete_comment(post_id, comment_id)  # (the post's cascade would; no count is left)
                continue
            with contextlib.suppress(CommentNotFoundError):
                p.comments.delete(post, comment_id, user_id)  # the post's count and cached preview follow
        return len(found)

    def _likes(self, user_id: int) -> int:
        p = self.ports
        post_ids = p.records.liked_post_ids(user_id, self._batch)
        for post_id in post_ids:
            # Out of the post's like notifications first, while the like still says which post to look at
            for notification in p.records.about_post(post_id):
                if user_id in notification.actor_ids or notification.actor_id == user_id:
                    p.records.drop_actor(notification, user_id)
            post = p.post_records.get(post_id, consistent=True)
            if post is None:
                p.records.delete_like(post_id, user_id)
            else:
                p.likes.set_liked(post, user_id, False)  # DynamoDB's count and Redis's live count follow
        return len(post_ids)

    def _saves(self, user_id: int) -> int:
        p = self.ports
        post_ids = p.records.saved_post_ids(user_id, self._batch)
        for post_id in post_ids:
            p.saves.remove(user_id, post_id)
        return len(post_ids)

    def _reports_filed(self, user_id: int) -> int:
        """The reports they filed, each taken out of its target's count with it (nobody is told who reported)."""
        p = self.ports
        targets = next(iter(p.reports.filed_by(user_id)), [])[: self._batch]
        for target in targets:
            if not p.reports.withdraw(target, user_id):
                p.reports.delete_report(target, user_id)  # its entry went with an erasure of the one reported
        return len(targets)

    def _reports_about(self, user_id: int) -> int:
        """Reports of them or their content, and the queue entries: nothing is left for a moderator to act on."""
        p = self.ports
        targets = p.reports.about_account(user_id, self._batch)
        for target in targets:
            p.reports.forget_target(target)
        return len(targets)

    # -- their relations ----------------------------------------------------------------------------------------

    def _unfollow(self, follower_id: int, followee_id: int) -> None:
        p = self.ports
        event = FollowChanged(
            event_id=uuid.uuid4().hex,
            occurred_at=p.now_ms(),
            follower_id=follower_id,
            followee_id=followee_id,
            following=False,
        )
        p.follows.unfollow(follower_id, followee_id, event)  # both counts with it (False: gone already)
        # The follower's timeline loses the followee's posts, their caches go (the relay does it again)
        p.graph.after(event)

    def _following(self, user_id: int) -> int:
        found = self.ports.records.following(user_id, self._batch)
        for followee_id in found:
            self._unfollow(user_id, followee_id)
        return len(found)

    def _followers(self, user_id: int) -> int:
        found = self.ports.records.followers(user_id, self._batch)
        for follower_id in found:
            self.ports.traces.forget_followed(follower_id, user_id)  # explore's "followed since" of the follower
            self._unfollow(follower_id, user_id)
        return len(found)

    def _blocks(self, user_id: int) -> int:
        p = self.ports
        pairs = p.records.block_pairs(user_id, self._batch)
        for blocker_id, blocked_id in pairs:
            # The other side's cached sets dropped before and after: a retry after the delete no longer finds the
            # pair, and their cache still names the user
            p.relationships.forget_blocks(blocker_id, blocked_id)
            p.records.delete_block(blocker_id, blocked_id)
            p.relationships.forget_blocks(blocker_id, blocked_id)
        return len(pairs)

    def _mutes(self, user_id: int) -> int:
        p = self.ports
        pairs = p.records.mute_pairs(user_id, self._batch)
        for muter_id, muted_id in pairs:
            p.relationships.forget_mutes(muter_id)  # (before and after, as blocks)
            p.records.delete_mute(muter_id, muted_id)
            p.relationships.forget_mutes(muter_id)
            p.story_cache.forget_trays([muter_id])
        return len(pairs)

    def _close_friends(self, user_id: int) -> int:
        p = self.ports
        pairs = p.records.close_friend_pairs(user_id, self._batch)
        for owner_id, friend_id in pairs:
            p.audiences.changed(friend_id)  # (before and after, as blocks)
            p.close_friends.remove(owner_id, friend_id)  # both tables, in one transaction
            p.audiences.changed(friend_id)
        return len(pairs)

    def _follow_requests(self, user_id: int) -> int:
        p = self.ports
        pairs = p.records.request_pairs(user_id, self._batch)
        for owner_id, requester_id in pairs:
            p.records.delete_request(owner_id, requester_id)
        return len(pairs)

    # -- what they caused ---------------------------------------------------------------------------------------

    def _inbox(self, user_id: int) -> int:
        p = self.ports
        return p.records.delete_notifications(p.records.inbox_keys(user_id, self._batch))

    def _acted(self, user_id: int) -> int:
        """Notifications in others' inboxes whose latest actor is the user: gone, or (a grouped like) without
        them."""
        p = self.ports
        keys = p.records.acted_keys(user_id, self._batch)
        for notification in p.records.notifications(keys):
            p.records.drop_actor(notification, user_id)
        return len(keys)

    def _devices(self, user_id: int) -> int:
        p = self.ports
        devices = p.devices.of_user(user_id)[: self._batch]
        for device in devices:
            # An endpoint another account has taken over since (the same phone) is theirs now: left alone
            if p.push_owner(device.endpoint_arn) == user_id:
                p.push_unregister(device.endpoint_arn)
            p.devices.delete(user_id, device.device_id)
        return len(devices)

    def _story_views(self, user_id: int) -> int:
        p = self.ports
        return p.records.delete_views(user_id, p.records.viewed_story_ids(user_id, self._batch))

    def _uploads(self, user_id: int) -> int:
        p = self.ports
        return p.records.delete_uploads(p.records.upload_ids(user_id, self._batch))

    # -- the end ------------------------------------------------------------------------------------------------

    def _finish(self, event: AccountErasureRequested) -> None:
        """Nothing batched is left: the objects, the index entries and Redis traces, the identity, the profile,
        and last the disabled record. Each part deletes what is there, so a retry finishes it."""
        p = self.ports
        user_id = event.user_id
        # What the cascades have not deleted (a failed upload's renditions, raw uploads): the CDN is told
        p.images.delete_unserved(f"{UPLOAD_PREFIX}{user_id}/")
        p.images.delete_under(f"{IMAGE_PREFIX}{user_id}/", forget_cached=True)
        p.images.delete_unserved(f"{EXPORT_PREFIX}{user_id}/")  # their data exports (never served by the CDN)
        p.records.delete_exports(user_id)
        profile = p.users.get_consistent(user_id)
        names = [fold(event.username), *(indexed_names(profile) if profile else [])]
        p.user_index.replace(user_id, names, [])
        p.traces.forget_engagement(user_id, p.model_generation())
        p.traces.forget_affinities(user_id)
        p.traces.forget_keys(user_id)
        # The activity log: the streams first, so the flush writes none of them to S3 again, then S3 itself
        p.activity.drop_queued(user_id)
        p.activity.rewrite_objects(user_id)
        p.delete_identity(event.username)
        p.records.delete_profile(user_id)
        try:
            # A cache holding the profile's caches of others about this user went with its keys above; what is
            # left to do is the record that kept the account hidden
            p.forget_disabled(user_id)
        except RedisError as error:  # (the record is gone; the cached set lapses)
            logger.warning("erased; the cached disabled set lapses", extra={"error": repr(error)})
