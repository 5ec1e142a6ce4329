"""What an account's erasure finds of one user in DynamoDB, a bounded page at a time, and the plain deletes of
records that carry no count (aperture.erasure does the counted ones through their own repositories).

Every lookup is a Query of a table or an index by the user's id (no Scan): the erased account's posts, stories,
comments, likes, saves, follows, blocks, mutes, close friends, follow requests, notifications, story views and
uploads, each way round where the relation has two sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Key

from aperture.adapters.dynamo.common import delete_keys, plain, transact_unless_condition, update_if, write_if
from aperture.adapters.outbox import Event, Outbox
from aperture.models.records import Notification, StoryRecord


@dataclass(frozen=True)
class ErasureTables:
    users: Any
    posts: Any
    stories: Any
    highlights: Any
    comments: Any
    likes: Any
    saves: Any
    follows: Any
    blocks: Any
    mutes: Any
    close_friends: Any
    close_friend_of: Any
    follow_requests: Any
    notifications: Any
    story_views: Any
    uploads: Any
    notify_keys: Any
    exports: Any


def _query(
    table: Any, limit: int, key: str, value: int, index: str | None = None, **extra: Any
) -> list[dict[str, Any]]:
    request: dict[str, Any] = {"KeyConditionExpression": Key(key).eq(value), "Limit": limit, **extra}
    if index:
        request["IndexName"] = index
    return [plain(item) for item in table.query(**request).get("Items", [])]


class ErasureRecords:
    """One user's records, found by key, `limit` at a time. Each erasure step deletes what it is given, so the next
    call finds the rest: no cursor to keep, and a step that dies is finished by calling it again."""

    def __init__(self, tables: ErasureTables, outbox: Outbox) -> None:
        self._t = tables
        self._outbox = outbox

    @property
    def tables(self) -> ErasureTables:
        return self._t

    def post_ids(self, user_id: int, limit: int) -> list[int]:
        items = _query(self._t.posts, limit, "author_id", user_id, "by_author", ProjectionExpression="post_id")
        return [int(i["post_id"]) for i in items]

    def stories(self, user_id: int, limit: int) -> list[StoryRecord]:
        """Every story record of the author, live, expired or taken down (a taken-down one is kept until purged)."""
        items = _query(self._t.stories, limit, "author_id", user_id, "by_author")
        return [StoryRecord.model_validate(i) for i in items]

    def delete_story_record(self, story_id: int) -> None:
        self._t.stories.delete_item(Key={"story_id": story_id})

    def highlights(self, user_id: int, limit: int) -> list[StoryRecord]:
        items = _query(self._t.highlights, limit, "author_id", user_id, ConsistentRead=True)
        return [StoryRecord.model_validate(i) for i in items]

    def comments(self, user_id: int, limit: int) -> list[tuple[int, int]]:
        """(post_id, comment_id) of the user's comments, on anyone's posts."""
        items = _query(self._t.comments, limit, "author_id", user_id, "by_author")
        return [(int(i["post_id"]), int(i["comment_id"])) for i in items]

    def delete_comment(self, post_id: int, comment_id: int) -> None:
        """A comment whose post is gone (its count went with the post)."""
        self._t.comments.delete_item(Key={"post_id": post_id, "comment_id": comment_id})

    def liked_post_ids(self, user_id: int, limit: int) -> list[int]:
        items = _query(self._t.likes, limit, "user_id", user_id, "by_user", ProjectionExpression="post_id")
        return [int(i["post_id"]) for i in items]

    def delete_like(self, post_id: int, user_id: int) -> None:
        """A like whose post is gone (nothing to count any more)."""
        self._t.likes.delete_item(Key={"post_id": post_id, "user_id": user_id})

    def saved_post_ids(self, user_id: int, limit: int) -> list[int]:
        items = _query(self._t.saves, limit, "user_id", user_id, ConsistentRead=True, ProjectionExpression="post_id")
        return [int(i["post_id"]) for i in items]

    def following(self, user_id: int, limit: int) -> list[int]:
        items = _query(self._t.follows, limit, "follower_id", user_id, ConsistentRead=True)
        return [int(i["followee_id"]) for i in items]

    def followers(self, user_id: int, limit: int) -> list[int]:
        items = _query(self._t.follows, limit, "followee_id", user_id, "by_followee")
        return [int(i["follower_id"]) for i in items]

    def block_pairs(self, user_id: int, limit: int) -> list[tuple[int, int]]:
        """(blocker, blocked) pairs with the user on either side."""
        mine = _query(self._t.blocks, limit, "blocker_id", user_id, ConsistentRead=True)
        theirs = _query(self._t.blocks, limit, "blocked_id", user_id, "by_blocked")
        return [(int(i["blocker_id"]), int(i["blocked_id"])) for i in (*mine, *theirs)]

    def delete_block(self, blocker_id: int, blocked_id: int) -> None:
        self._t.blocks.delete_item(Key={"blocker_id": blocker_id, "blocked_id": blocked_id})

    def mute_pairs(self, user_id: int, limit: int) -> list[tuple[int, int]]:
        """(muter, muted) pairs with the user on either side."""
        mine = _query(self._t.mutes, limit, "muter_id", user_id, ConsistentRead=True)
        theirs = _query(self._t.mutes, limit, "muted_id", user_id, "by_muted")
        return [(int(i["muter_id"]), int(i["muted_id"])) for i in (*mine, *theirs)]

    def delete_mute(self, muter_id: int, muted_id: int) -> None:
        self._t.mutes.delete_item(Key={"muter_id": muter_id, "muted_id": muted_id})

    def close_friend_pairs(self, user_id: int, limit: int) -> list[tuple[int, int]]:
        """(owner, friend) pairs with the user on either side (each pair is in both tables)."""
        mine = _query(self._t.close_friends, limit, "owner_id", user_id, ConsistentRead=True)
        theirs = _query(self._t.close_friend_of, limit, "friend_id", user_id, ConsistentRead=True)
        return [(int(i["owner_id"]), int(i["friend_id"])) for i in (*mine, *theirs)]

    def request_pairs(self, user_id: int, limit: int) -> list[tuple[int, int]]:
        """(owner, requester) pairs of pending follow requests with the user on either side."""
        mine = _query(self._t.follow_requests, limit, "owner_id", user_id, ConsistentRead=True)
        theirs = _query(self._t.follow_requests, limit, "requester_id", user_id, "by_requester")
        return [(int(i["owner_id"]), int(i["requester_id"])) for i in (*mine, *theirs)]

    def delete_request(self, owner_id: int, requester_id: int) -> None:
        self._t.follow_requests.delete_item(Key={"owner_id": owner_id, "requester_id": requester_id})

    def inbox_keys(self, user_id: int, limit: int) -> list[dict[str, int]]:
        """The user's own notifications."""
        items = _query(self._t.notifications, limit, "user_id", user_id, ConsistentRead=True)
        return [{"user_id": int(i["user_id"]), "notification_id": int(i["notification_id"])} for i in items]

    def acted_keys(self, user_id: int, limit: int) -> list[dict[str, int]]:
        """Notifications in others' inboxes whose latest actor is the user."""
        items = _query(self._t.notifications, limit, "actor_id", user_id, "by_actor")
        return [{"user_id": int(i["user_id"]), "notification_id": int(i["notification_id"])} for i in items]

    def notifications(self, keys: list[dict[str, int]]) -> list[Notification]:
        found = (self._t.notifications.get_item(Key=key, ConsistentRead=True) for key in keys)
        return [Notification.model_validate(plain(r["Item"])) for r in found if "Item" in r]

    def forget_like_groups(self, user_id: int, post_id: int, window_ms: int) -> None:
        """The keys that group likes of the user's post into one notification (`likes:<recipient>:<post>:<window>`,
        aperture.notifications): each is found from the notification it leads, in the user's inbox."""
        for notification in self.about_post(post_id):
            if notification.user_id == user_id and notification.type == "like":
                window = notification.created_at // window_ms
                self._t.notify_keys.delete_item(Key={"key": f"likes:{user_id}:{post_id}:{window}"})

    def about_post(self, post_id: int) -> list[Notification]:
        """Every notification about a post (a grouped like may name the user among its earlier actors)."""
        keys = _query(self._t.notifications, 1_000, "post_id", post_id, "by_post")
        found = (self._t.notifications.get_item(Key={k: i[k] for k in ("user_id", "notification_id")}) for i in keys)
        return [Notification.model_validate(plain(r["Item"])) for r in found if "Item" in r]

    def drop_actor(self, notification: Notification, actor_id: int) -> None:
        """Take an actor out of a notification: the whole of it if they were its only one, else their name out of
        its list (and its count down), conditionally, so a repeat changes nothing."""
        key = {"user_id": notification.user_id, "notification_id": notification.notification_id}
        others = [a for a in notification.actor_ids if a != actor_id]
        if not others:
            self._t.notifications.delete_item(Key=key)
            return
        update_if(
            self._t.notifications,
            key,
            "SET actor_ids = :others, actor_id = :latest, actor_count = actor_count - :one",
            "contains(actor_ids, :gone)",
            {":others": others, ":latest": others[0], ":one": 1, ":gone": actor_id},
        )

    def delete_notifications(self, keys: list[dict[str, int]]) -> int:
        return delete_keys(self._t.notifications, keys)

    def viewed_story_ids(self, user_id: int, limit: int) -> list[int]:
        items = _query(self._t.story_views, limit, "viewer_id", user_id, "by_viewer")
        return [int(i["story_id"]) for i in items]

    def delete_views(self, user_id: int, story_ids: list[int]) -> int:
        return delete_keys(self._t.story_views, ({"story_id": s, "viewer_id": user_id} for s in story_ids))

    def upload_ids(self, user_id: int, limit: int) -> list[int]:
        items = _query(self._t.uploads, limit, "user_id", user_id, "by_user")
        return [int(i["upload_id"]) for i in items]

    def delete_uploads(self, upload_ids: list[int]) -> int:
        return delete_keys(self._t.uploads, ({"upload_id": u} for u in upload_ids))

    def record(self, event: Event) -> bool:
        """Write an event alone (the erasure's next round); False if it is there already (a replayed round)."""
        return transact_unless_condition(self._t.users, [self._outbox.entry(event)])

    def delete_exports(self, user_id: int) -> int:
        """The user's data export records (a few, in their own partition), with the pending-export marker."""
        items = _query(self._t.exports, 1000, "user_id", user_id, ProjectionExpression="user_id, export_id")
        return delete_keys(self._t.exports, ({"user_id": i["user_id"], "export_id": i["export_id"]} for i in items))

    def delete_profile(self, user_id: int) -> bool:
        """The profile record, last: its username is free again once it is gone (Cognito's user went before)."""
        return write_if(self._t.users.delete_item, Key={"user_id": user_id}) is not None
