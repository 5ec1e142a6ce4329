"""The one route table: which function serves which HTTP route, and whether it needs a token."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Throttle:
    """API Gateway's throttle of one route: requests per second, steady and in a burst, for all callers together."""

    rate: int
    burst: int


# The stage's throttle, for every route without one of its own (per account and region, all callers together)
STAGE_THROTTLE = Throttle(rate=200, burst=400)


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway syntax: /users/{user_id}/follow
    function: str
    auth: bool = True
    # A route a flood would aim at gets a throttle of its own under the stage's, so flooding it (sign-in guessing,
    # scripted sign-ups, a write storm) exhausts that route alone and not the whole API. Per user, the limits of
    # aperture.limits refuse far earlier; these bound what reaches the functions at all (docs/security.md).
    throttle: Throttle | None = None

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


# Requests that match no route (on AWS, API Gateway's $default route) go to this function, whose resolver answers
# 404 {"error": {"code": "route_not_found"}} as the local gateway does, rather than API Gateway's bare body.
UNMATCHED_FUNCTION = "health"

ROUTES: tuple[Route, ...] = (
    Route("GET", "/health", "health", auth=False),
    # The strictest: unauthenticated, and what password guessing and scripted sign-ups go through
    Route("POST", "/auth/signup", "auth", auth=False, throttle=Throttle(rate=2, burst=5)),
    Route("POST", "/auth/token", "auth", auth=False, throttle=Throttle(rate=10, burst=20)),
    Route("POST", "/auth/refresh", "auth", auth=False, throttle=Throttle(rate=20, burst=40)),
    # Answering sign-in's second step: as strict as sign-in (a code is six digits)
    Route("POST", "/auth/token/totp", "auth", auth=False, throttle=Throttle(rate=10, burst=20)),
    Route("POST", "/auth/signout", "auth"),
    Route("POST", "/me/mfa/totp", "auth"),
    Route("POST", "/me/mfa/totp/verify", "auth"),
    Route("GET", "/me", "users"),
    Route("PATCH", "/me", "users"),
    Route("DELETE", "/me", "users"),
    Route("GET", "/users/{username}", "users"),
    Route("PUT", "/users/{user_id}/follow", "users", throttle=Throttle(rate=50, burst=100)),
    Route("DELETE", "/users/{user_id}/follow", "users"),
    Route("GET", "/users/{user_id}/followers", "users"),
    Route("GET", "/users/{user_id}/following", "users"),
    Route("GET", "/users/{user_id}/relationship", "users"),
    Route("PUT", "/users/{user_id}/block", "users"),
    Route("DELETE", "/users/{user_id}/block", "users"),
    Route("PUT", "/users/{user_id}/mute", "users"),
    Route("DELETE", "/users/{user_id}/mute", "users"),
    Route("POST", "/uploads", "uploads", throttle=Throttle(rate=50, burst=100)),
    Route("GET", "/uploads/{upload_id}", "uploads"),
    Route("GET", "/posts/{post_id}", "posts"),
    Route("DELETE", "/posts/{post_id}", "posts"),
    Route("PATCH", "/posts/{post_id}", "posts"),
    Route("GET", "/users/{user_id}/posts", "posts"),
    Route("GET", "/feed", "feed"),
    Route("PUT", "/posts/{post_id}/like", "interactions", throttle=Throttle(rate=100, burst=200)),
    Route("DELETE", "/posts/{post_id}/like", "interactions"),
    Route("GET", "/posts/{post_id}/likes", "interactions"),
    Route("PUT", "/posts/{post_id}/save", "interactions"),
    Route("DELETE", "/posts/{post_id}/save", "interactions"),
    Route("GET", "/me/saved", "interactions"),
    Route("POST", "/posts/{post_id}/comments", "interactions", throttle=Throttle(rate=50, burst=100)),
    Route("GET", "/posts/{post_id}/comments", "interactions"),
    Route("DELETE", "/posts/{post_id}/comments/{comment_id}", "interactions"),
    Route("GET", "/notifications", "notifications"),
    Route("POST", "/notifications/read", "notifications"),
    Route("POST", "/devices", "notifications"),
    Route("DELETE", "/devices/{device_id}", "notifications"),
    Route("POST", "/admin/blocklist", "moderation"),
    Route("POST", "/reports", "moderation"),
    Route("GET", "/admin/reports", "moderation"),
    Route("POST", "/admin/reports/{report_id}/resolve", "moderation"),
    Route("GET", "/stories/tray", "stories"),
    Route("GET", "/users/{user_id}/stories", "stories"),
    Route("GET", "/users/{user_id}/highlights", "stories"),
    Route("POST", "/stories/{story_id}/views", "stories"),
    Route("GET", "/stories/{story_id}/viewers", "stories"),
    Route("DELETE", "/stories/{story_id}", "stories"),
    Route("GET", "/explore", "explore"),
    Route("PUT", "/me/close_friends/{user_id}", "users"),
    Route("DELETE", "/me/close_friends/{user_id}", "users"),
    Route("GET", "/me/close_friends", "users"),
    Route("GET", "/me/follow_requests", "users"),
    Route("POST", "/me/follow_requests/{user_id}/approve", "users"),
    Route("POST", "/me/follow_requests/{user_id}/decline", "users"),
    Route("GET", "/search/users", "search"),
    Route("GET", "/search/hashtags", "search"),
    Route("GET", "/hashtags/{tag}/posts", "search"),
    Route("POST", "/me/export", "exports"),
    Route("GET", "/me/exports/{export_id}", "exports"),
)
