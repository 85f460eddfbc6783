"""Sends one RoktRequest with the account's token; turns every answer into success or an error
from the RoktError family."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import aiohttp

from activity import remote_json
from activity.errors import RoktAuthFailed, RoktError, RoktNotFound, RoktRejected, RoktRetryable
from activity.rokt.api_requests import UNSUBSCRIBE, RoktRequest
from activity.rokt.retry import is_retryable, parse_retry_after

if TYPE_CHECKING:
    from activity.admin.settings_service import RoktAccount
    from activity.ops.metrics import Metrics
    from activity.rokt.token_cache import TokenCache

SUCCESS = frozenset({200, 201, 202, 204})
# Deactivating a subscription Rokt no longer has leaves the state we asked for. A 404 on cancel
# or remove is RoktNotFound instead: the delivery worker decides (docs/rokt.md).
GONE_IS_DONE = frozenset({UNSUBSCRIBE})
# Answers that say the request was not acted on (a gateway's 502 means Rokt's service gave it
# no answer either); other 5xx (500, 504, ...) may come after Rokt did the work, so a repeat
# must check first.
NOT_ACTED_ON = frozenset({429, 502, 503})
MAX_REASON_CHARS = 300


def error_text(body: str) -> str:
    """Rokt's explanation from an error body (JSON when it can), on one short line."""
    text = body
    data = remote_json.loads(body)
    if isinstance(data, dict):
        parts = [str(data[k]) for k in ("message", "error", "error_description") if data.get(k)]
        said = "; ".join(parts)
        for err in data.get("errors") or []:
            detail = (err.get("reason") or err.get("message")) if isinstance(err, dict) else err
            if detail and str(detail) not in said:
                parts.append(str(detail))
        text = "; ".join(parts) or body
    text = remote_json.plain_text(text) or "(no details)"
    if len(text) > MAX_REASON_CHARS:
        return text[: MAX_REASON_CHARS - 1] + "…"
    return text


def failure(
    status: int,
    body: str,
    retry_after: str | None,
    request: RoktRequest | None = None,
    account_code: str = "",
) -> RoktError:
    """The error for a non-success answer: retryable (429, 5xx), not found (404) or rejected
    (other 4xx)."""
    reason = error_text(body)
    if is_retryable(status):
        error = RoktRetryable(
            f"Rokt answered HTTP {status}: {reason}",
            status=status,
            retry_after=parse_retry_after(retry_after),
        )
        error.maybe_delivered = status not in NOT_ACTED_ON
        return error
    if status == 404 and request is not None:
        # Seed 002 documents no 404 for these calls; a wrong account code answers 404.
        return RoktNotFound(
            f"Rokt answered HTTP 404 to {request.endpoint} ({request.method} {request.path}): "
            f"the account code {account_code!r} or the event is unknown to Rokt: {reason}",
            status=404,
        )
    return RoktRejected(f"Rokt answered HTTP {status}: {reason}", status=status)


class RoktClient:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        api_url: str,
        tokens: TokenCache,
        metrics: Metrics | None = None,
        *,
        request_timeout: float | None = None,
    ) -> None:
        self._http = http
        self._api_url = api_url.rstrip("/")
        self._tokens = tokens
        self._metrics = metrics
        self._timeout = (
            aiohttp.ClientTimeout(total=request_timeout) if request_timeout is not None else None
        )

    async def authorize(self, account: RoktAccount) -> None:
        """Has a token for `account` ready (granted now unless one is cached); raises like
        `send` when the grant fails. A grant never touches a calendar, so the worker gets one
        before it marks items as possibly sent."""
        await self._tokens.get(account)

    async def send(self, account: RoktAccount, request: RoktRequest) -> int:
        """Rokt's HTTP status once it accepted the request; raises RoktRetryable,
        RoktRejected or RoktAuthFailed otherwise."""
        status, body, retry_after = await self._authorized(account, request)
        if status in SUCCESS or (status == 404 and request.endpoint in GONE_IS_DONE):
            return status
        raise failure(status, body, retry_after, request, account.account_code)

    async def fetch(self, account: RoktAccount, request: RoktRequest) -> dict[str, Any]:
        """Rokt's JSON answer to a request that returns data (Create New Subscription);
        raises like `send`, and also when a 2xx body is not a JSON object or says
        `success: false` (then its `statusCode` decides retryable or rejected)."""
        status, body, retry_after = await self._authorized(account, request)
        if status not in SUCCESS:
            raise failure(status, body, retry_after, request, account.account_code)
        data = remote_json.loads(body)
        if not isinstance(data, dict):
            raise RoktRetryable(f"Rokt answered HTTP {status} without a JSON object", status=status)
        if data.get("success") is False:
            said = data.get("statusCode")
            inner = said if isinstance(said, int) and 400 <= said <= 599 else 502
            raise failure(inner, body, retry_after)
        return data

    async def _authorized(
        self, account: RoktAccount, request: RoktRequest
    ) -> tuple[int, str, str | None]:
        token = await self._tokens.get(account)
        status, body, retry_after = await self._call(token, request)
        if status == 401:
            self._tokens.invalidate(account, token)
            token = await self._tokens.get(account)
            status, body, retry_after = await self._call(token, request)
            if status == 401:
                raise RoktAuthFailed(
                    "Rokt refused a freshly granted access token (HTTP 401)", status=401
                )
        return status, body, retry_after

    async def _call(self, token: str, request: RoktRequest) -> tuple[int, str, str | None]:
        """(status, body, Retry-After header)."""
        kwargs: dict[str, Any] = {
            "headers": {"Authorization": f"Bearer {token}", "Accept": "application/json"},
        }
        if request.body is not None:
            kwargs["json"] = request.body
        if self._timeout is not None:
            kwargs["timeout"] = self._timeout
        started = time.monotonic()
        label = "error"
        try:
            async with self._http.request(
                request.method, f"{self._api_url}{request.path}", **kwargs
            ) as resp:
                raw = await remote_json.read_capped(resp.content)
                body = raw.decode("utf-8", errors="replace")
                label = str(resp.status)
                return resp.status, body, resp.headers.get("Retry-After")
        except TimeoutError:
            label = "timeout"
            error = RoktRetryable(f"Rokt did not answer {request.endpoint} in time")
            error.maybe_delivered = True
            raise error from None
        except aiohttp.ClientError as exc:
            error = RoktRetryable(
                f"Rokt unreachable during {request.endpoint}: {type(exc).__name__}"
            )
            # No connection, no request; a connection lost later may have carried it.
            error.maybe_delivered = not isinstance(exc, aiohttp.ClientConnectorError)
            raise error from None
        finally:
            if self._metrics is not None:
                self._metrics.rokt_calls.labels(endpoint=request.endpoint, status=label).inc()
                self._metrics.rokt_seconds.labels(endpoint=request.endpoint).observe(
                    time.monotonic() - started
                )
