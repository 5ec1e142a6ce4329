"""The notifications, notify_keys and devices tables: each user's inbox, its grouping keys, and push devices."""

from __future__ import annotations

from typing import Any

from aperture.adapters.dynamo.common import (
    Key,
    delete_keys,
    plain,
    put_new,
    query_page,
    query_pages,
    update_if,
    write_if,
)
from aperture.errors import ConflictError, NotificationMissingError
from aperture.models.records import Device, Notification


class NotificationRepository:
    """Each user's notifications, newest first, with a per-user 'read up to' marker on the users table; those
    about a post are found through the sparse by_post index."""

    def __init__(self, table: Any, keys_table: Any, users_table: Any) -> None:
        self._table = table
        self._keys = keys_table
        self._users = users_table

    def claim_key(self, key: str, value: int, expires_at: int) -> int | None:
        """Record `key` once; None if it was new, else the value stored by whoever recorded it first."""
        if put_new(self._keys, {"key": key, "value": value, "expires_at": expires_at}, "key"):
            return None
        item = self._keys.get_item(Key={"key": key}, ConsistentRead=True).get("Item") or {}
        return int(item.get("value", 0))

    def claim_key_until(self, key: str, value: int, expires_at: int, now_s: int) -> int | None:
        """Record `key` until `expires_at` (Unix seconds) unless it is held (recorded, and not expired at `now_s`:
        TTL deletes an item only eventually); None if recorded, else the value of whoever holds it."""
        claimed = write_if(
            self._keys.put_item,
            Item={"key": key, "value": value, "expires_at": expires_at},
            ConditionExpression="attribute_not_exists(#k) OR expires_at <= :now",
            ExpressionAttributeNames={"#k": "key"},
            ExpressionAttributeValues={":now": now_s},
        )
        if claimed is not None:
            return None
        item = self._keys.get_item(Key={"key": key}, ConsistentRead=True).get("Item") or {}
        return int(item.get("value", 0))

    def create(self, notification: Notification) -> bool:
        """Write a notification unless it is there already (work redone writes the same id); True if written."""
        item = {k: v for k, v in notification.model_dump().items() if v is not None}
        item["actor_ids"] = list(notification.actor_ids)
        return put_new(self._table, item, "notification_id")

    def add_actor(self, user_id: int, notification_id: int, actor_id: int, keep: int, attempts: int = 8) -> bool:
        """Another like joins a grouped notification: one more actor, the newest first among those kept. Redone for
        the same actor, it changes nothing; concurrent joins each count (optimistic, on the count). False if the
        actor was there already; NotificationMissingError if the notification is not written yet."""
        key = {"user_id": user_id, "notification_id": notification_id}
        for _ in range(attempts):
            current = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
            if not current:
                raise NotificationMissingError(f"notification {notification_id} of {user_id} is not written yet")
            kept = [int(a) for a in current.get("actor_ids", [])]
            if actor_id in kept:
                return False
            count = int(current.get("actor_count", 1))
            values = {":a": [actor_id, *kept][:keep], ":first": actor_id, ":next": count + 1, ":seen": count}
            update = "SET actor_ids = :a, actor_id = :first, actor_count = :next"
            if update_if(self._table, key, update, "actor_count = :seen", values):
                return True
        raise ConflictError("the notification kept changing; the like is retried")

    def page(self, user_id: int, limit: int, cursor: str | None) -> tuple[list[Notification], str | None]:
        items, next_cursor = query_page(
            self._table,
            ("user_id", "notification_id"),
            limit,
            cursor,
            KeyConditionExpression=Key("user_id").eq(user_id),
            ScanIndexForward=False,
        )
        return [Notification.model_validate(item) for item in items], next_cursor

    def forget_post(self, post_id: int) -> int:
        """Delete every notification about a (deleted) post, in every user's inbox; returns how many."""
        pages = query_pages(
            self._table,
            IndexName="by_post",
            KeyConditionExpression=Key("post_id").eq(post_id),
            ProjectionExpression="user_id, notification_id",
        )
        return sum(
            delete_keys(self._table, ({"user_id": i["user_id"], "notification_id": i["notification_id"]} for i in page))
            for page in pages
        )

    def read_marker(self, user_id: int) -> int:
        item = self._users.get_item(Key={"user_id": user_id}, ProjectionExpression="notifications_read_up_to")
        return int((item.get("Item") or {}).get("notifications_read_up_to", 0))

    def mark_read(self, user_id: int, up_to: int) -> None:
        """Move the marker forward to `up_to`; never back."""
        update_if(
            self._users,
            {"user_id": user_id},
            "SET notifications_read_up_to = :m",
            "attribute_exists(user_id) AND "
            "(attribute_not_exists(notifications_read_up_to) OR notifications_read_up_to < :m)",
            {":m": up_to},
        )

    def unread_count(self, user_id: int, limit: int = 100) -> int:
        """Notifications newer than the marker, counted up to `limit` (clients show "99+")."""
        response = self._table.query(
            KeyConditionExpression=Key("user_id").eq(user_id) & Key("notification_id").gt(self.read_marker(user_id)),
            Select="COUNT",
            Limit=limit,
        )
        return int(response.get("Count", 0))


class DeviceRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def put(self, device: Device) -> None:
        self._table.put_item(Item=device.model_dump())

    def get(self, user_id: int, device_id: str) -> Device | None:
        item = self._table.get_item(Key={"user_id": user_id, "device_id": device_id}).get("Item")
        return Device.model_validate(plain(item)) if item else None

    def delete(self, user_id: int, device_id: str) -> None:
        self._table.delete_item(Key={"user_id": user_id, "device_id": device_id})

    def of_user(self, user_id: int) -> list[Device]:
        response = self._table.query(KeyConditionExpression=Key("user_id").eq(user_id))
        return [Device.model_validate(plain(item)) for item in response.get("Items", [])]
