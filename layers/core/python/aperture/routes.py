"""The one route table: which function serves which HTTP route, and whether it needs a token."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway syntax: /users/{user_id}/follow
    function: str
    auth: bool = True

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


# Requests that match no route (on AWS, API Gateway's $default route) go to this function, whose resolver answers
# 404 {"error": {"code": "route_not_found"}} as the local gateway does, rather than API Gateway's bare body.
UNMATCHED_FUNCTION = "health"

ROUTES: tuple[Route, ...] = (
    Route("GET", "/health", "health", auth=False),
    Route("POST", "/auth/signup", "auth", auth=False),
    Route("POST", "/auth/token", "auth", auth=False),
    Route("POST", "/auth/refresh", "auth", auth=False),
    Route("GET", "/me", "users"),
    Route("PATCH", "/me", "users"),
    Route("GET", "/users/{username}", "users"),
    Route("PUT", "/users/{user_id}/follow", "users"),
    Route("DELETE", "/users/{user_id}/follow", "users"),
    Route("GET", "/users/{user_id}/followers", "users"),
    Route("GET", "/users/{user_id}/following", "users"),
    Route("GET", "/users/{user_id}/relationship", "users"),
    Route("PUT", "/users/{user_id}/block", "users"),
    Route("DELETE", "/users/{user_id}/block", "users"),
    Route("PUT", "/users/{user_id}/mute", "users"),
    Route("DELETE", "/users/{user_id}/mute", "users"),
    Route("POST", "/uploads", "uploads"),
    Route("GET", "/uploads/{upload_id}", "uploads"),
    Route("GET", "/posts/{post_id}", "posts"),
    Route("DELETE", "/posts/{post_id}", "posts"),
    Route("PATCH", "/posts/{post_id}", "posts"),
    Route("GET", "/users/{user_id}/posts", "posts"),
    Route("GET", "/feed", "feed"),
    Route("PUT", "/posts/{post_id}/like", "interactions"),
    Route("DELETE", "/posts/{post_id}/like", "interactions"),
    Route("GET", "/posts/{post_id}/likes", "interactions"),
    Route("PUT", "/posts/{post_id}/save", "interactions"),
    Route("DELETE", "/posts/{post_id}/save", "interactions"),
    Route("GET", "/me/saved", "interactions"),
    Route("POST", "/posts/{post_id}/comments", "interactions"),
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
