"""Notifications: from like, comment, follow and mention events to an in-app feed and push messages.

Each delivery (an event, a recipient, a type) is claimed, done, then marked done (aperture.idempotency): a
redelivered record notifies nobody twice, and a delivery that failed part way is done again on the retry. Redone,
it writes the same notification (its id derives from the event), so nothing is doubled. Likes of one post within
a window share one notification ("alice and 12 others"). Floods are bounded: one follow (or follow request)
notification per pair within a window (a day), however often the follow is toggled, and at most `max_mentions`
users notified by one comment or caption (the text keeps every @name). Nobody is notified of their own act, or of
the acts of someone they block or who blocks them. Push is at least once: a crash between sending and marking the
delivery done sends again (the in-app notification is still one).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from aperture.adapters.dynamo.notifications import DeviceRepository, NotificationRepository
from aperture.adapters.dynamo.users import UserRepository
from aperture.captions import MAX_MENTIONS_NOTIFIED
from aperture.clock import iso
from aperture.errors import DeviceNotFoundError, InvalidInputError
from aperture.idempotency import Once
from aperture.ids import derived_id
from aperture.models.api import DeviceView, NotificationPage, NotificationView, UserRef
from aperture.models.events import (
    AnyEvent,
    CommentCreated,
    FollowChanged,
    FollowRequested,
    LikeChanged,
    PostEdited,
    PostPublished,
)
from aperture.models.records import Device, Notification, NotificationType
from aperture.observability import count, logger
from aperture.ports import PushService

ACTORS_KEPT = 5


@dataclass(frozen=True)
class Intent:
    """One notification an event calls for."""

    recipient: int
    type: NotificationType
    actor: int
    post_id: int | None = None
    comment_id: int | None = None


# Notifications of which one per (recipient, actor) pair is sent per window: toggling a follow (or a follow request)
# notifies once, not at every toggle
ONCE_PER_PAIR = frozenset({"follow", "follow_request"})


def intents(event: AnyEvent, max_mentions: int = MAX_MENTIONS_NOTIFIED) -> list[Intent]:
    """Who an event notifies, before blocks and dedupe; self-actions notify nobody; the first `max_mentions`
    users a text names are told of it, the others not."""
    found: list[Intent] = []
    if isinstance(event, FollowChanged) and event.following and event.approved:
        # The owner approved it (and heard of the request already): the requester is told instead.
        found.append(Intent(event.follower_id, "follow_accepted", event.followee_id))
    elif isinstance(event, FollowChanged) and event.following:
        found.append(Intent(event.followee_id, "follow", event.follower_id))
    elif isinstance(event, FollowRequested) and event.requested:
        found.append(Intent(event.followee_id, "follow_request", event.follower_id))
    elif isinstance(event, LikeChanged) and event.liked:
        found.append(Intent(event.post_author_id, "like", event.user_id, event.post_id))
    elif isinstance(event, PostPublished | PostEdited):  # an edit's event names only the newly mentioned
        named = [m for m in event.mentioned_ids if m != event.author_id][:max_mentions]
        found.extend(Intent(m, "mention", event.author_id, event.post_id) for m in named)
    elif isinstance(event, CommentCreated):
        found.append(Intent(event.post_author_id, "comment", event.author_id, event.post_id, event.comment_id))
        named = [m for m in event.mentioned_ids if m != event.author_id][:max_mentions]
        found.extend(
            Intent(m, "mention", event.author_id, event.post_id, event.comment_id)
            for m in named
            if m != event.post_author_id  # the post's author hears of it as a comment already
        )
    return [i for i in found if i.recipient != i.actor]


MESSAGES = {
    "follow": "{actor} started following you",
    "like": "{actor} liked your post",
    "comment": "{actor} commented on your post",
    "mention": "{actor} mentioned you in a comment",
    "post_mention": "{actor} mentioned you in a post",
    "follow_request": "{actor} asked to follow you",
    "follow_accepted": "{actor} accepted your follow request",
}


class Notifier:
    def __init__(
        self,
        *,
        repo: NotificationRepository,
        users: UserRepository,
        devices: DeviceRepository,
        push: PushService,
        hidden_from: Callable[[int], set[int]],
        once: Once,
        ttl_days: int,
        group_window_seconds: int,
        post_exists: Callable[[int], bool] = lambda post_id: True,
        pair_window_seconds: int = 86_400,
        max_mentions: int = MAX_MENTIONS_NOTIFIED,
    ) -> None:
        self._pair_window_ms = pair_window_seconds * 1000
        self._max_mentions = max_mentions
        self._post_exists = post_exists  # a like or comment delivered after its post was deleted notifies nobody
        self._repo = repo
        self._users = users
        self._devices = devices
        self._push = push
        self._hidden_from = hidden_from
        self._once = once
        self._ttl_seconds = ttl_days * 86_400
        self._window_ms = group_window_seconds * 1000

    def handle(self, event: AnyEvent) -> int:
        """Deliver what an event calls for; returns how many notifications it created or grew."""
        delivered = 0
        found = intents(event, self._max_mentions)
        post_ids = {i.post_id for i in found if i.post_id}
        if post_ids and not all(self._post_exists(p) for p in post_ids):
            return 0
        for intent in found:
            if intent.actor in self._hidden_from(intent.recipient):
                continue
            key = f"notify:{event.event_id}:{intent.recipient}:{intent.type}"
            delivered += self._once(key, functools.partial(self._deliver, intent, event, key))
        return delivered

    def _deliver(self, intent: Intent, event: AnyEvent, key: str) -> int:
        notification_id = derived_id(event.occurred_at, key)
        expires_at = event.occurred_at // 1000 + self._ttl_seconds
        if intent.type == "like":
            window = event.occurred_at // self._window_ms
            group = f"likes:{intent.recipient}:{intent.post_id}:{window}"
            existing = self._repo.claim_key(group, notification_id, expires_at)
            # Another like's notification leads the group: join it while it is unread (no second push).
            if (
                existing is not None
                and existing != notification_id
                and existing > self._repo.read_marker(intent.recipient)
            ):
                self._repo.add_actor(intent.recipient, existing, intent.actor, ACTORS_KEPT)
                return 1
        elif intent.type in ONCE_PER_PAIR:
            # The first of a pair's follows in the window is told; the window runs from it, not from the calendar
            # Hashed: the marker names neither user, so an erased account leaves no id behind in it (it expires
            # with its window)
            digest = hashlib.sha256(f"{intent.recipient}:{intent.actor}".encode()).hexdigest()[:32]
            pair = f"{intent.type}:{digest}"
            until_s = (event.occurred_at + self._pair_window_ms) // 1000
            existing = self._repo.claim_key_until(pair, notification_id, until_s, event.occurred_at // 1000)
            if existing is not None and existing != notification_id:
                return 0  # told of this pair's follow within the window already: no second notification or push
        self._repo.create(
            Notification(
                user_id=intent.recipient,
                notification_id=notification_id,
                type=intent.type,
                actor_id=intent.actor,
                actor_ids=(intent.actor,),
                post_id=intent.post_id,
                comment_id=intent.comment_id,
                created_at=event.occurred_at,
                expires_at=expires_at,
            )
        )
        self._push_to(intent)
        count("NotificationsSent")  # (a new notification, pushed; not a like joining its group's, nor a replay)
        return 1

    def _push_to(self, intent: Intent) -> None:
        actor = self._users.get(intent.actor)
        kind = "post_mention" if intent.type == "mention" and intent.comment_id is None else intent.type
        body = MESSAGES[kind].format(actor=actor.username if actor else "someone")
        data = {"type": intent.type, **({"post_id": str(intent.post_id)} if intent.post_id else {})}
        for device in self._devices.of_user(intent.recipient):
            # A phone signed in as someone else since keeps its endpoint for them: this user's record is stale.
            if self._push.owner(device.endpoint_arn) != intent.recipient or not self._push.send(
                device.endpoint_arn, "Aperture", body, data
            ):
                logger.info("forgetting a device push no longer reaches", extra={"device_id": device.device_id})
                self._devices.delete(device.user_id, device.device_id)


class Inbox:
    """What a user reads: their notifications, the unread count, the read marker, and their devices."""

    def __init__(
        self,
        *,
        repo: NotificationRepository,
        users: UserRepository,
        devices: DeviceRepository,
        push: PushService,
        now_ms: Callable[[], int],
        hidden_from: Callable[[int], set[int]] = lambda user_id: set(),
        existing_posts: Callable[[set[int]], set[int]] = lambda post_ids: post_ids,
    ) -> None:
        self._repo = repo
        self._users = users
        self._devices = devices
        self._push = push
        self._now_ms = now_ms
        self._hidden_from = hidden_from  # users in a block relation with the reader, either way
        # Which of these posts still exist: a notification about a deleted post is not shown, even one written
        # by a late delivery after the deletion cascade removed the others
        self._existing_posts = existing_posts

    def page(self, user_id: int, limit: int, cursor: str | None) -> NotificationPage:
        """A page of the reader's notifications, newest first; those whose actor is now in a block relation with
        them (blocked after notifying) are left out."""
        notifications, next_cursor = self._repo.page(user_id, limit, cursor)
        marker = self._repo.read_marker(user_id)
        hidden = self._hidden_from(user_id)
        actors = self._users.get_many({n.actor_id for n in notifications} - hidden)
        about = {n.post_id for n in notifications if n.post_id}
        gone = about - self._existing_posts(about) if about else set()
        items = [
            NotificationView(
                notification_id=str(n.notification_id),
                type=n.type,
                actor=UserRef(user_id=str(n.actor_id), username=actors[n.actor_id].username),
                post_id=str(n.post_id) if n.post_id else None,
                comment_id=str(n.comment_id) if n.comment_id else None,
                others_count=max(0, n.actor_count - 1),
                created_at=iso(n.created_at),
                read=n.notification_id <= marker,
            )
            for n in notifications
            if n.actor_id in actors and n.post_id not in gone
        ]
        return NotificationPage(items=items, next_cursor=next_cursor, unread_count=self._repo.unread_count(user_id))

    def mark_read(self, user_id: int, up_to: int) -> int:
        """Mark `up_to` and everything older read. An id past the newest notification marks only what exists:
        notifications that arrive later stay unread."""
        newest, _ = self._repo.page(user_id, 1, None)
        if newest:
            self._repo.mark_read(user_id, min(up_to, newest[0].notification_id))
        return self._repo.unread_count(user_id)

    def register_device(self, user_id: int, platform: Literal["apns", "fcm"], token: str) -> DeviceView:
        if not self._push.supports(platform):
            raise InvalidInputError(f"push to {platform} is not configured on this deployment")
        device_id = hashlib.sha256(f"{platform}:{token}".encode()).hexdigest()[:24]
        existing = self._devices.get(user_id, device_id)
        device = existing or Device(
            user_id=user_id,
            device_id=device_id,
            platform=platform,
            endpoint_arn=self._push.register(platform, token, user_id),
            created_at=self._now_ms(),
        )
        if existing is None:
            self._devices.put(device)
        return DeviceView(device_id=device.device_id, platform=device.platform, created_at=iso(device.created_at))

    def remove_device(self, user_id: int, device_id: str) -> None:
        device = self._devices.get(user_id, device_id)
        if device is None:
            raise DeviceNotFoundError(f"you have no device {device_id!r}")
        self._push.unregister(device.endpoint_arn)
        self._devices.delete(user_id, device_id)
