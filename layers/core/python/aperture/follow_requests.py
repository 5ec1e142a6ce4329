"""Private accounts and follow requests: asking to follow, withdrawing, approving, declining, and approving every
pending request when an account goes public.

Each change is one DynamoDB transaction holding its event (the outbox), so a notification or a timeline merge
exists exactly when the change does. Approving a request is the follow a public account gets at once: the edge,
both counts and a FollowChanged (marked `approved`, so the requester hears "follow_accepted" and the owner no
"follow"). An account going public records AccountPrivacyChanged; the relay approves its pending requests a bounded
batch per round, each round's last act writing the next round's event, so no request and no Lambda run is unbounded.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from redis.exceptions import RedisError

from aperture.adapters.dynamo.follow_requests import FollowRequestRepository, PrivacyRepository
from aperture.adapters.dynamo.graph import FollowRepository
from aperture.adapters.dynamo.users import UserRepository
from aperture.errors import FollowRequestNotFoundError, UserNotFoundError
from aperture.graph import Graph
from aperture.models.api import FollowRequestDecision, FollowResponse, Page, UserRef
from aperture.models.events import AccountPrivacyChanged, FollowChanged, FollowRequested
from aperture.observability import logger


@dataclass(frozen=True, kw_only=True)
class FollowRequestPorts:
    requests: FollowRequestRepository
    privacy: PrivacyRepository
    users: UserRepository
    follows: FollowRepository


class FollowRequests:
    def __init__(self, *, ports: FollowRequestPorts, graph: Graph, now_ms: Callable[[], int], batch_size: int) -> None:
        self._requests = ports.requests
        self._privacy = ports.privacy
        self._users = ports.users
        self._follows = ports.follows
        self._graph = graph
        self._now_ms = now_ms
        self._batch_size = batch_size  # requests approved per round when an account goes public

    # The requester's side

    def follow(self, follower_id: int, followee_id: int) -> FollowResponse:
        """Follow a public account at once; ask to follow a private one (202 requested). Repeating gives the same
        answer and changes nothing."""
        followee = self._graph.followable(follower_id, followee_id)
        if not followee.private or self._follows.is_following(follower_id, followee_id, consistent=True):
            return FollowResponse(following=self._graph.set_following(follower_id, followee_id, True))
        event = FollowRequested(
            event_id=uuid.uuid4().hex,
            occurred_at=self._now_ms(),
            follower_id=follower_id,
            followee_id=followee_id,
            requested=True,
        )
        if not self._requests.request(follower_id, followee_id, event.occurred_at, event) and (
            self._follows.is_following(follower_id, followee_id, consistent=True)
        ):
            return FollowResponse(following=True)  # approved between our two reads
        return FollowResponse(following=False, requested=True)

    def unfollow(self, follower_id: int, followee_id: int) -> FollowResponse:
        """Stop following, or withdraw a pending request (telling nobody); repeating changes nothing."""
        self._graph.followable(follower_id, followee_id, following=False)
        event = FollowRequested(
            event_id=uuid.uuid4().hex,
            occurred_at=self._now_ms(),
            follower_id=follower_id,
            followee_id=followee_id,
            requested=False,
        )
        self._requests.withdraw(follower_id, followee_id, event)
        return FollowResponse(following=self._graph.set_following(follower_id, followee_id, False))

    # The owner's side

    def pending(self, owner_id: int, limit: int, cursor: str | None) -> Page[UserRef]:
        """Who asks to follow the owner, a page at a time (nobody in a block relation: a block removes requests)."""
        ids, next_cursor = self._requests.page(owner_id, limit, cursor)
        hidden = self._graph.hidden_from(owner_id)
        found = self._users.get_many([i for i in ids if i not in hidden])
        items = [UserRef(user_id=str(i), username=found[i].username) for i in ids if i in found]
        return Page[UserRef](items=items, next_cursor=next_cursor)

    def approve(self, owner_id: int, requester_id: int) -> FollowRequestDecision:
        """The request becomes a follow, as a follow of a public account would (timelines merged); the requester
        is told. A retry after it committed finds the follow and answers the same."""
        event = FollowChanged(
            event_id=uuid.uuid4().hex,
            occurred_at=self._now_ms(),
            follower_id=requester_id,
            followee_id=owner_id,
            following=True,
            approved=True,
        )
        if self._requests.approve(owner_id, requester_id, event.occurred_at, event):
            try:
                self._graph.after(event)
            except RedisError as error:
                # Committed with its event: the relay merges the timeline when Redis is back.
                logger.warning("follow approved; timelines wait for the relay", extra={"error": repr(error)})
        elif self._follows.is_following(requester_id, owner_id, consistent=True):
            # Approved before (a retry), or followed meanwhile: a request left behind goes, so no round meets it again
            self._requests.decline(owner_id, requester_id)
        else:
            raise FollowRequestNotFoundError(f"user {requester_id} has not asked to follow you")
        return FollowRequestDecision(user_id=str(requester_id), following=True)

    def decline(self, owner_id: int, requester_id: int) -> FollowRequestDecision:
        """Remove a request silently; declining again answers the same."""
        if self._users.get(requester_id) is None:
            raise UserNotFoundError(f"user {requester_id} does not exist")
        self._requests.decline(owner_id, requester_id)
        following = self._follows.is_following(requester_id, owner_id, consistent=True)
        return FollowRequestDecision(user_id=str(requester_id), following=following)

    # Privacy

    def set_private(self, user_id: int, private: bool) -> bool:
        """Make the account private or public (with its event); False if it was already so."""
        event = AccountPrivacyChanged(
            event_id=uuid.uuid4().hex, occurred_at=self._now_ms(), user_id=user_id, private=private
        )
        changed = self._privacy.set_private(user_id, private, event)
        # Dropped even when nothing changed: a retry after a death between the commit and this drop finishes it
        # (and the relay drops it again from the event).
        self.forget_privacy(user_id)
        return changed

    def forget_privacy(self, user_id: int) -> None:
        try:
            self._graph.forget_privacy(user_id)
        except RedisError as error:
            logger.warning("privacy stored; the cached flag waits for the relay", extra={"error": repr(error)})

    def approve_all(self, event: AccountPrivacyChanged) -> int:
        """The relay's side of a privacy change: the cached flag dropped; and for an account gone public, a batch of
        its pending requests approved, and if more may remain the next round's event recorded. Safe to repeat:
        approving is conditional on the request, and a round's event id is fixed by the first round's, so a replay
        writes no second next round. Returns how many this call approved."""
        if event.round == 0:
            self._graph.forget_privacy(event.user_id)  # (a failure fails the record, which is retried)
        if event.private:
            return 0
        owner = self._users.get_consistent(event.user_id)  # (a stale "public" must not approve anyone)
        if owner is None or owner.private:
            return 0  # gone, or private again meanwhile: the requests stay pending
        requesters, more = self._requests.page(event.user_id, self._batch_size, None, consistent=True)
        approved = 0
        for requester_id in requesters:
            try:
                self.approve(event.user_id, requester_id)
                approved += 1
            except FollowRequestNotFoundError:
                # Withdrawn or declined meanwhile, or its requester is gone (the follow cannot be made): dropped,
                # so the next round does not meet it again
                self._requests.decline(event.user_id, requester_id)
        if more is not None:
            root = event.event_id.split(":", 1)[0]
            self._privacy.record(
                event.model_copy(
                    update={
                        "event_id": f"{root}:{event.round + 1}",
                        "occurred_at": self._now_ms(),
                        "round": event.round + 1,
                    }
                )
            )
        return approved
