"""One exception tree. Every error carries a machine-readable `reason` (logs, metrics,
out-arguments) and a human-readable message."""

from __future__ import annotations


class ActivityError(Exception):
    reason = "error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class AuthError(ActivityError):
    """The caller is not who it claims to be (401)."""

    reason = "unauthorized"


class InvalidInput(ActivityError):
    """The configuration or the contact's data is wrong; the message says which field and why."""

    reason = "invalid"


class WebhookMalformed(InvalidInput):
    """A Rokt webhook body we cannot read or store; the message says which part and why."""

    reason = "malformed_webhook"


class NotConfigured(ActivityError):
    """The business unit has no Rokt settings."""

    reason = "not_configured"


class StorageUnavailable(ActivityError):
    """Work could not be made durable (503, JB retries)."""

    reason = "storage_unavailable"


class RoktError(ActivityError):
    """A call to Rokt Calendar failed."""

    reason = "rokt_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message, reason=reason)
        self.status = status
        self.retry_after = retry_after
        # The call may have reached Rokt and been acted on although we got no answer saying
        # so (a timeout, a dropped connection, most 5xx): a repeat must check first.
        self.maybe_delivered = False


class RoktRetryable(RoktError):
    """429, 5xx, timeouts and network errors: try again later."""

    reason = "rokt_retryable"


class RoktRejected(RoktError):
    """A 4xx other than 401/429: the request itself is wrong."""

    reason = "rokt_rejected"


class RoktNotFound(RoktRejected):
    """404: Rokt knows no such account code, event or subscription."""

    reason = "not_found"


class RoktAuthFailed(RoktError):
    """The token endpoint refused the client credentials."""

    reason = "rokt_auth_failed"


class SfmcError(ActivityError):
    """A call to Marketing Cloud's auth server failed; `error` is its OAuth error code."""

    reason = "sfmc_error"

    def __init__(
        self, message: str, *, status: int | None = None, error: str = "", reason: str | None = None
    ) -> None:
        super().__init__(message, reason=reason)
        self.status = status
        self.error = error


class SfmcUnavailable(SfmcError):
    """Unreachable, timed out, 429 or 5xx: try again later."""

    reason = "sfmc_unavailable"


class SfmcGrantRefused(SfmcError):
    """invalid_grant: the code or refresh token is used, expired or revoked. For a stored
    connection this means an admin must sign in again."""

    reason = "sfmc_invalid_grant"
