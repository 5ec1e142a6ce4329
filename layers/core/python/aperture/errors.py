"""Domain errors. Each knows its HTTP status and code; handlers map them to responses in one place."""

from __future__ import annotations


class ApertureError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInputError(ApertureError):
    status = 422
    code = "invalid_input"


class InvalidCursorError(InvalidInputError):
    code = "invalid_cursor"


class UnauthorizedError(ApertureError):
    status = 401
    code = "unauthorized"


class MfaRequiredError(UnauthorizedError):
    """The password was right and the account has a second factor: the answer carries the challenge's session."""

    code = "mfa_required"

    def __init__(self, message: str, session: str) -> None:
        super().__init__(message)
        self.session = session


class ForbiddenError(ApertureError):
    status = 403
    code = "forbidden"


class WrongPasswordError(ForbiddenError):
    code = "wrong_password"


class PrivateAccountError(ForbiddenError):
    code = "private_account"


class NotFoundError(ApertureError):
    status = 404
    code = "not_found"


class UserNotFoundError(NotFoundError):
    code = "user_not_found"


class PostNotFoundError(NotFoundError):
    code = "post_not_found"


class UploadNotFoundError(NotFoundError):
    code = "upload_not_found"


class CommentNotFoundError(NotFoundError):
    code = "comment_not_found"


class FollowRequestNotFoundError(NotFoundError):
    code = "follow_request_not_found"


class ExportNotFoundError(NotFoundError):
    code = "export_not_found"


class DeviceNotFoundError(NotFoundError):
    code = "device_not_found"


class IdempotencyKeyReusedError(InvalidInputError):
    code = "idempotency_key_reused"


class ConflictError(ApertureError):
    status = 409
    code = "conflict"


class IdempotencyKeyInUseError(ConflictError):
    code = "idempotency_key_in_use"


class UsernameTakenError(ConflictError):
    code = "username_taken"


class PayloadTooLargeError(ApertureError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaTypeError(ApertureError):
    status = 415
    code = "unsupported_media_type"


class TooManyRequestsError(ApertureError):
    status = 429
    code = "too_many_requests"


class RateLimitedError(TooManyRequestsError):
    """Over a per-user (or per-address) rate limit: the request was refused before anything was written."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # whole seconds, sent as the Retry-After header


class RejectedMediaError(ApertureError):
    """The upload breaks a rule (type, size, pixels, content): status `rejected`, the client's to fix."""

    status = 422
    code = "media_rejected"


class ServiceUnavailableError(ApertureError):
    """A dependency is down and there is no honest answer without it; the client should retry later."""

    status = 503
    code = "service_unavailable"


class NotificationMissingError(RuntimeError):
    """A like joined a grouped notification whose first like's delivery has not written it yet: the record is
    retried (the first delivery's own retry writes it)."""


class AccountDisabledError(UnauthorizedError):
    """The caller's account is suspended or being erased: its tokens are refused."""

    code = "account_disabled"


class OwnContentError(InvalidInputError):
    """A report of the reporter's own account or content."""

    code = "cannot_report_own"


class NotRemovableError(InvalidInputError):
    """A moderator's `remove` of an account (accounts are suspended, not removed)."""

    code = "not_removable"


class ReportNotFoundError(NotFoundError):
    code = "report_not_found"
