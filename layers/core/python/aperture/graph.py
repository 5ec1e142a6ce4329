"""The social graph: follows both ways, blocks, mutes, relationships, and who may see whom."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable

from redis.exceptions import RedisError

from aperture.adapters.dynamo.follow_requests import FollowRequestRepository
from aperture.adapters.dynamo.graph import BlockRepository, FollowRepository, MuteRepository
from aperture.adapters.dynamo.users import UserRepository
from aperture.adapters.redis_store.client import PipelineBatch, Slot
from aperture.adapters.redis_store.graph import RelationshipCache
from aperture.adapters.redis_store.privacy import PrivacyCache
from aperture.errors import ForbiddenError, InvalidInputError, PrivateAccountError, UserNotFoundError
from aperture.models.api import FullRelationship, Profile, Relationship, UserRef
from aperture.models.events import FollowChanged
from aperture.models.records import User
from aperture.observability import logger
from aperture.standing import AccountStanding

USERNAME = re.compile(r"[a-z0-9._]{3,30}")


class Graph:
    def __init__(
        self,
        *,
        users: UserRepository,
        follows: FollowRepository,
        blocks: BlockRepository,
        mutes: MuteRepository,
        cache: RelationshipCache,
        now_ms: Callable[[], int],
        on_follow: Callable[[int, int, bool], None] = lambda follower, followee, following: None,
        on_mute: Callable[[int], None] = lambda muter: None,
        requests: FollowRequestRepository | None = None,
        privacy: PrivacyCache | None = None,
        standing: AccountStanding | None = None,
    ) -> None:
        self._standing = standing  # disabled accounts (suspended or being erased): hidden from everyone
        self._requests = requests  # pending follow requests to private accounts (a block removes them)
        self._privacy = privacy  # "is this account private", cached for the read paths that check authors
        self._on_follow = on_follow  # keeps timelines in step: merge a followee's posts in, or take them out
        self._on_mute = on_mute  # drops the muter's precomputed views (their stories tray)
        self._users = users
        self._follows = follows
        self._blocks = blocks
        self._mutes = mutes
        self._cache = cache
        self._now_ms = now_ms

    # Who may see whom

    def hidden_from(self, viewer_id: int) -> set[int]:
        """Users whose content is not shown to the viewer: those in a block relation with them, either way, and
        every disabled account (suspended, or being erased)."""
        blocked = self._cache.blocked(viewer_id, lambda: self._blocks.blocked_either_way(viewer_id))
        return blocked | self._standing.disabled() if self._standing is not None else blocked

    def queue_hidden(self, batch: PipelineBatch, viewer_id: int) -> Slot[set[int] | None]:
        """hidden_from's cached answer read as part of a batch (None when either part must be loaded)."""
        blocked = self._cache.queue_blocked(batch, viewer_id)
        cache = self._standing.cached() if self._standing is not None else None
        if cache is None:
            return blocked
        disabled = cache.queue(batch)

        def hidden(_: list[object]) -> set[int] | None:
            if blocked.value is None or disabled.value is None:
                return None
            return blocked.value | AccountStanding.saw(disabled.value)

        return batch.queue(lambda pipe: 0, hidden)

    def _disabled(self, user_id: int) -> bool:
        return self._standing is not None and user_id in self._standing.disabled()

    def muted_by(self, viewer_id: int) -> set[int]:
        """Users the viewer mutes: their posts and stories stay out of the viewer's feed, tray and explore, and
        nowhere else (their profile, posts opened directly, comments and notifications are unchanged)."""
        return self._cache.muted(viewer_id, lambda: self._mutes.muted_by(viewer_id))

    def queue_muted(self, batch: PipelineBatch, viewer_id: int) -> Slot[set[int] | None]:
        """muted_by's cached answer read as part of a batch (None when it must be loaded)."""
        return self._cache.queue_muted(batch, viewer_id)

    def visible_user(self, viewer_id: int, user_id: int) -> User:
        """The user, unless missing or in a block relation with the viewer: then 404, so nothing leaks."""
        user = self._users.get(user_id)
        if user is None or user_id in self.hidden_from(viewer_id):
            raise UserNotFoundError(f"user {user_id} does not exist")
        return user

    def approved(self, viewer_id: int, user: User) -> bool:
        """Whether the viewer may see the user's posts, stories and lists: a public account, its owner, or an
        approved follower of a private one."""
        return not user.private or viewer_id == user.user_id or self.follows(viewer_id, user.user_id)

    def require_approved(self, viewer_id: int, user: User) -> None:
        """403 private_account unless the viewer may see the user's content (their profile stays visible)."""
        if not self.approved(viewer_id, user):
            raise PrivateAccountError(f"{user.username} is a private account: follow them to see their posts")

    def visible_content_owner(self, viewer_id: int, user_id: int) -> User:
        """A user whose content the viewer may see: 404 if missing or blocked either way, 403 if private."""
        user = self.visible_user(viewer_id, user_id)
        self.require_approved(viewer_id, user)
        return user

    def unapproved(self, viewer_id: int, author_ids: Iterable[int]) -> set[int]:
        """Among these authors, the private accounts the viewer does not follow (read now, so an account that
        has just gone private is left out at once)."""
        wanted = set(author_ids) - {viewer_id}
        if not wanted:
            return set()
        if self._privacy is None:
            private = {u.user_id for u in self._users.get_many(wanted).values() if u.private}
        else:
            private = self._privacy.private_among(wanted, self._load_privacy)
        return {u for u in private if not self.follows(viewer_id, u)}

    def _load_privacy(self, user_ids: list[int]) -> dict[int, bool]:
        return {u.user_id: u.private for u in self._users.get_many(user_ids).values()}

    def forget_privacy(self, user_id: int) -> None:
        """Drop the cached privacy flag (the account went private or public)."""
        if self._privacy is not None:
            self._privacy.forget(user_id)

    def requested(self, requester_id: int, owner_id: int) -> bool:
        return self._requests is not None and self._requests.is_pending(requester_id, owner_id)

    def follows(self, follower_id: int, followee_id: int) -> bool:
        return self._cache.follows(
            follower_id, followee_id, lambda: self._follows.is_following(follower_id, followee_id)
        )

    # Follows

    def set_following(self, follower_id: int, followee_id: int, following: bool) -> bool:
        """Follow or unfollow; repeating the same call changes nothing and gives the same answer."""
        self.followable(follower_id, followee_id, following)
        # The event is written with the edge (the outbox), so it exists exactly when the change does.
        event = FollowChanged(
            event_id=uuid.uuid4().hex,
            occurred_at=self._now_ms(),
            follower_id=follower_id,
            followee_id=followee_id,
            following=following,
        )
        if following:
            changed = self._follows.follow(follower_id, followee_id, event.occurred_at, event)
        else:
            changed = self._follows.unfollow(follower_id, followee_id, event)
        try:
            self._cache.forget_follow(follower_id, followee_id)
            if changed:
                self.after(event)
        except RedisError as error:
            # Committed with its event: the relay brings timelines and caches in step when Redis is back.
            logger.warning("follow committed; timelines wait for the relay", extra={"error": repr(error)})
        return following

    def followable(self, follower_id: int, followee_id: int, following: bool = True) -> User:
        """The user to follow (or unfollow): never yourself, nobody you block, nobody blocked either way (404)."""
        if follower_id == followee_id:
            raise InvalidInputError("you cannot follow yourself")
        if following and self._blocks.is_blocking(follower_id, followee_id):
            raise ForbiddenError("you block this user; unblock them first")
        return self.visible_user(follower_id, followee_id)

    def after(self, event: FollowChanged) -> None:
        """Timelines and caches in step with a committed follow or unfollow. Safe to repeat: the request that made
        it and the relay that publishes its event both do it."""
        self._cache.forget_follow(event.follower_id, event.followee_id)
        self._on_follow(event.follower_id, event.followee_id, event.following)

    def reconcile(self, event: FollowChanged) -> None:
        """The relay's `after`: only if the edge is still as the event says (a later change has its own event)."""
        if self._follows.is_following(event.follower_id, event.followee_id, consistent=True) == event.following:
            self.after(event)

    def _people(self, ids: list[int]) -> list[UserRef]:
        found = self._users.get_many(ids)
        return [UserRef(user_id=str(i), username=found[i].username) for i in ids if i in found]

    def following(
        self, viewer_id: int, user_id: int, limit: int, cursor: str | None
    ) -> tuple[list[UserRef], str | None]:
        self.visible_content_owner(viewer_id, user_id)
        ids, next_cursor = self._follows.page_following(user_id, limit, cursor)
        hidden = self.hidden_from(viewer_id)
        return self._people([i for i in ids if i not in hidden]), next_cursor

    def followers(
        self, viewer_id: int, user_id: int, limit: int, cursor: str | None
    ) -> tuple[list[UserRef], str | None]:
        self.visible_content_owner(viewer_id, user_id)
        ids, next_cursor = self._follows.page_followers(user_id, limit, cursor)
        hidden = self.hidden_from(viewer_id)
        return self._people([i for i in ids if i not in hidden]), next_cursor

    # Blocks

    def set_blocking(self, blocker_id: int, blocked_id: int, blocking: bool) -> bool:
        """Block (removing follows both ways) or unblock; repeating changes nothing."""
        if blocker_id == blocked_id:
            raise InvalidInputError("you cannot block yourself")
        if self._users.get(blocked_id) is None:
            raise UserNotFoundError(f"user {blocked_id} does not exist")
        if blocking:
            self._blocks.block(blocker_id, blocked_id, self._now_ms())
        else:
            self._blocks.unblock(blocker_id, blocked_id)
        self._cache.forget_blocks(blocker_id, blocked_id)
        for follower, followee in ((blocker_id, blocked_id), (blocked_id, blocker_id)):
            self._cache.forget_follow(follower, followee)
            if blocking:
                self._on_follow(follower, followee, False)
        return blocking

    # Mutes

    def set_muting(self, muter_id: int, muted_id: int, muting: bool) -> bool:
        """Mute or unmute; repeating changes nothing. The muted user is not told, and sees no difference."""
        if muter_id == muted_id:
            raise InvalidInputError("you cannot mute yourself")
        self.visible_user(muter_id, muted_id)
        if muting:
            self._mutes.mute(muter_id, muted_id, self._now_ms())
        else:
            self._mutes.unmute(muter_id, muted_id)
        try:
            self._cache.forget_mutes(muter_id)
            self._on_mute(muter_id)
        except RedisError as error:
            # The mute is stored; reads ask DynamoDB while Redis is away. A set Redis kept meanwhile is dropped by
            # the client's retry or the next mute, and lapses with its TTL at the latest.
            logger.warning("mute stored; cached mutes left to lapse", extra={"error": repr(error)})
        return muting

    def relationship(self, viewer_id: int, user_id: int) -> FullRelationship:
        blocking = self._blocks.is_blocking(viewer_id, user_id)
        blocked_by = self._blocks.is_blocking(user_id, viewer_id)
        if blocked_by or self._disabled(user_id) or self._users.get(user_id) is None:
            raise UserNotFoundError(f"user {user_id} does not exist")
        return FullRelationship(
            following=self.follows(viewer_id, user_id),
            followed_by=self.follows(user_id, viewer_id),
            blocking=blocking,
            blocked_by=False,
            muting=self._mutes.is_muting(viewer_id, user_id),
            requested=self.requested(viewer_id, user_id),
        )

    @staticmethod
    def own_profile(user: User) -> Profile:
        """Your own profile, settings included."""
        return _profile(user, Relationship(), own=True)

    def profile(self, username: str, viewer_id: int) -> Profile:
        if not USERNAME.fullmatch(username):
            raise UserNotFoundError(f"no user is called {username[:40]!r}")
        user = self._users.get_by_username(username)
        # A blocker still sees whom they block (to unblock them); a disabled account nobody sees
        if (
            user is None
            or self._disabled(user.user_id)
            or (user.user_id in self.hidden_from(viewer_id) and not self._blocks.is_blocking(viewer_id, user.user_id))
        ):
            raise UserNotFoundError(f"no user is called {username!r}")
        if user.user_id == viewer_id:
            return self.own_profile(user)
        relationship = Relationship(
            following=self.follows(viewer_id, user.user_id),
            followed_by=self.follows(user.user_id, viewer_id),
            blocking=self._blocks.is_blocking(viewer_id, user.user_id),
            muting=self._mutes.is_muting(viewer_id, user.user_id),
            requested=self.requested(viewer_id, user.user_id),
        )
        return _profile(user, relationship, own=False)


def _profile(user: User, relationship: Relationship, own: bool) -> Profile:
    """A profile as shown; settings (region, highlights) only on your own."""
    return Profile(
        user_id=str(user.user_id),
        username=user.username,
        display_name=user.display_name,
        bio=user.bio,
        follower_count=max(user.follower_count, 0),
        following_count=max(user.following_count, 0),
        post_count=max(user.post_count, 0),
        relationship=relationship,
        region=user.region if own else None,
        highlights_enabled=user.highlights_enabled if own else None,
        private=user.private,
    )
