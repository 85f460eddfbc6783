"""Rokt OAuth2 client-credentials tokens: fetched once per account, reused until shortly
before they expire, refreshed by one task at a time."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
from cachetools import TLRUCache

from activity import remote_json
from activity.errors import RoktAuthFailed, RoktError, RoktRetryable
from activity.rokt.retry import is_retryable, parse_retry_after

if TYPE_CHECKING:
    from activity.admin.settings_service import RoktAccount
    from activity.ops.metrics import Metrics

# Rokt documents five-minute tokens but asks clients to use `expires_in`.
DEFAULT_EXPIRES_IN = 300.0
# Refresh this early: 10 % of the lifetime, at most a minute.
EARLY_FRACTION = 0.1
EARLY_MAX_SECONDS = 60.0
AUTH_FAILED_STATUSES = frozenset({400, 401, 403})


@dataclass(frozen=True)
class TokenGrant:
    access_token: str = field(repr=False)
    expires_in: float


def credentials(client_id: str, client_secret: str) -> tuple[dict[str, str], dict[str, str]]:
    """(form fields, headers) of a client-credentials grant.

    Basic auth as the design asks (seed 002 line 48), except for a client ID containing ':':
    Basic cannot carry one (RFC 7617 section 2 splits at the first colon), so those go in the
    form body, the variant seed 002 documents for requests without the header (lines 38-52).
    """
    form = {"grant_type": "client_credentials"}
    headers = {"Accept": "application/json"}
    if ":" in client_id:
        form |= {"client_id": client_id, "client_secret": client_secret}
    else:
        pair = f"{client_id}:{client_secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    return form, headers


def token_url(api_url: str) -> str:
    return f"{api_url.rstrip('/')}/oauth2/token"


async def fetch_token(
    http: aiohttp.ClientSession,
    api_url: str,
    client_id: str,
    client_secret: str,
    *,
    request_timeout: float | None = None,
) -> TokenGrant:
    """One client-credentials grant. Raises RoktAuthFailed when Rokt refuses the
    credentials, RoktRetryable when it cannot be reached, RoktError for anything else."""
    kwargs: dict[str, Any] = {}
    if request_timeout is not None:
        kwargs["timeout"] = aiohttp.ClientTimeout(total=request_timeout)
    form, headers = credentials(client_id, client_secret)
    try:
        async with http.post(token_url(api_url), data=form, headers=headers, **kwargs) as resp:
            status = resp.status
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            raw = await remote_json.read_capped(resp.content)
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise RoktRetryable(
            f"Rokt unreachable: token request failed ({type(exc).__name__})"
        ) from None
    fits = len(raw) <= remote_json.MAX_ANSWER_BYTES
    body = remote_json.loads(raw) if status == 200 and fits else None
    if status in AUTH_FAILED_STATUSES:
        raise RoktAuthFailed(
            f"invalid credentials: Rokt refused client ID {client_id!r} (HTTP {status})",
            status=status,
        )
    if is_retryable(status):
        raise RoktRetryable(
            f"Rokt unreachable: the token endpoint answered HTTP {status}",
            status=status,
            retry_after=retry_after,
        )
    if status != 200 or not isinstance(body, dict) or not body.get("access_token"):
        raise RoktError(
            f"unexpected answer from {token_url(api_url)} (HTTP {status}); check ROKT_API_URL",
            status=status,
        )
    try:
        expires_in = float(body.get("expires_in", DEFAULT_EXPIRES_IN))
    except (TypeError, ValueError):
        expires_in = DEFAULT_EXPIRES_IN
    return TokenGrant(str(body["access_token"]), expires_in)


def usable_for(expires_in: float) -> float:
    """How long a token is handed out: its lifetime minus the early-refresh margin."""
    return max(0.0, expires_in - min(EARLY_MAX_SECONDS, EARLY_FRACTION * expires_in))


@dataclass(frozen=True)
class _Cached:
    token: str = field(repr=False)
    usable_for: float


class TokenCache:
    """Access tokens keyed by (account code, client ID). A 401 from Rokt calls `invalidate`,
    so the next `get` fetches a fresh one."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        api_url: str,
        *,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.monotonic,
        request_timeout: float | None = None,
    ) -> None:
        self._http = http
        self._api_url = api_url
        self._metrics = metrics
        self._timeout = request_timeout
        self._tokens: TLRUCache[tuple[str, str], _Cached] = TLRUCache(
            maxsize=4096, ttu=lambda _key, value, now: now + value.usable_for, timer=clock
        )
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    def _cached(self, key: tuple[str, str]) -> str | None:
        found = self._tokens.get(key)
        return found.token if found is not None else None

    async def get(self, account: RoktAccount) -> str:
        key = account.credentials_key
        token = self._cached(key)
        if token is not None:
            return token
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            token = self._cached(key)  # another task may have refreshed it while we waited
            if token is not None:
                return token
            started = time.monotonic()
            try:
                grant = await fetch_token(
                    self._http,
                    self._api_url,
                    account.client_id,
                    account.client_secret,
                    request_timeout=self._timeout,
                )
            except RoktError as exc:
                self._observe(str(exc.status or "error"), started)
                raise
            self._observe("200", started)
            if self._metrics is not None:
                self._metrics.token_grants.inc()
            self._tokens[key] = _Cached(grant.access_token, usable_for(grant.expires_in))
            return grant.access_token

    def _observe(self, status: str, started: float) -> None:
        # Token calls count among Rokt calls, so a token endpoint outage shows on dashboards.
        if self._metrics is not None:
            self._metrics.rokt_calls.labels(endpoint="token", status=status).inc()
            self._metrics.rokt_seconds.labels(endpoint="token").observe(time.monotonic() - started)

    def invalidate(self, account: RoktAccount, token: str) -> None:
        """Forget `token` unless it was already replaced by a fresher one."""
        key = account.credentials_key
        if self._cached(key) == token:
            self._tokens.pop(key, None)
