"""The fake Marketing Cloud's state: business units, the signed-in user, OAuth grants, the
request record and scripted failures. Pure bookkeeping; the route modules turn HTTP into calls
on a `FakeSfmc`.

The rules follow Salesforce's public Marketing Cloud docs ("authorization-code",
"access-token-app", "refresh-token", "access-token-s2s", "get-user-info"); each rule names
where it comes from, or says "unconfirmed" when no public source settles it.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from activity.devtools.recorded import matching

DEMO_CLIENT_ID = "demo-sfmc-client"
DEMO_CLIENT_SECRET = "demo-sfmc-secret"  # noqa: S105 - a development fake's well-known secret
DEFAULT_TSSD = "fake-tenant"
# Observed expires_in of a Marketing Cloud access token (marketing-cloud-and-webhooks.md §2).
ACCESS_TOKEN_TTL = 1079.0
# How long an authorization code may wait for its exchange: unconfirmed; short, as codes are.
CODE_TTL = 600.0
ENDPOINTS = ("authorize", "token", "userinfo")


@dataclass(frozen=True)
class BusinessUnit:
    mid: str
    eid: str
    name: str
    tssd: str = DEFAULT_TSSD


@dataclass(frozen=True)
class User:
    sub: str
    email: str
    name: str


@dataclass(frozen=True)
class Grant:
    """Who a code, refresh token or access token speaks for."""

    client_id: str
    unit: BusinessUnit
    user: User | None  # None for client credentials
    scope: str
    redirect_uri: str = ""
    expires_at: float = 0.0


@dataclass(frozen=True)
class RecordedRequest:
    endpoint: str
    method: str
    path: str
    tssd: str
    body: Any  # the JSON or form body, client_secret removed
    status: int
    at: float
    query: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "method": self.method,
            "path": self.path,
            "tssd": self.tssd,
            "body": self.body,
            "status": self.status,
            "at": self.at,
            "query": self.query,
        }


@dataclass(frozen=True)
class Failure:
    """One scripted answer: `status` with `body` (0 drops the connection), after `delay`.
    For "authorize", `error` sends the browser back with `error=` instead."""

    status: int = 500
    body: dict[str, Any] | None = None
    delay: float = 0.0
    error: str = ""


class FakeSfmc:
    """One Marketing Cloud stack in memory. Tests steer it with `fail()`, `units`, `user`,
    `authorize_error`, `revoke_refresh_tokens()` and read `requests`."""

    def __init__(
        self,
        client_id: str = DEMO_CLIENT_ID,
        client_secret: str = DEMO_CLIENT_SECRET,
        *,
        units: Iterable[BusinessUnit] = (),
        user: User | None = None,
        redirect_uris: Iterable[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clients: dict[str, str] = {client_id: client_secret}
        self.units: dict[str, BusinessUnit] = {
            u.mid: u
            for u in (
                list(units)
                or [
                    BusinessUnit("100000001", "100000000", "Acme Parent"),
                    BusinessUnit("100000002", "100000000", "Acme Child"),
                ]
            )
        }
        self.user = user or User("fake-user-1", "admin@example.com", "Alex Admin")
        # Empty: any redirect URI. The real Web App integration only accepts registered ones.
        self.redirect_uris = set(redirect_uris)
        self.clock = clock
        self.base_url = ""  # set when served; the instance URLs point back at this server
        self.codes: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.access_tokens: dict[str, Grant] = {}
        self.requests: list[RecordedRequest] = []
        self.access_ttl = ACCESS_TOKEN_TTL
        self._failures: dict[str, deque[Failure]] = {}

    # --- steering -------------------------------------------------------------------------

    def add_client(self, client_id: str, client_secret: str) -> None:
        self.clients[client_id] = client_secret

    def add_unit(self, mid: str, eid: str = "", name: str = "", tssd: str = DEFAULT_TSSD) -> None:
        self.units[mid] = BusinessUnit(mid, eid or mid, name or f"Business unit {mid}", tssd)

    def fail(self, endpoint: str, failures: Iterable[Failure]) -> None:
        """Answer the next requests to `endpoint` (see ENDPOINTS, or a module's own name, or
        "*") with `failures`, in order, then normally again."""
        self._failures.setdefault(endpoint, deque()).extend(failures)

    def next_failure(self, endpoint: str) -> Failure | None:
        for key in (endpoint, "*"):
            queue = self._failures.get(key)
            if queue:
                return queue.popleft()
        return None

    def revoke_refresh_tokens(self) -> None:
        """As an admin removing the integration's access would: every refresh is refused."""
        self.refresh_tokens.clear()

    def expire_access_tokens(self) -> None:
        self.access_tokens.clear()

    # --- OAuth ----------------------------------------------------------------------------

    def client_ok(self, client_id: str, client_secret: object) -> bool:
        expected = self.clients.get(client_id)
        return (
            expected is not None
            and isinstance(client_secret, str)
            and secrets.compare_digest(expected.encode(), client_secret.encode())
        )

    def issue_code(self, client_id: str, unit: BusinessUnit, scope: str, redirect_uri: str) -> str:
        code = secrets.token_urlsafe(24)
        expires = self.clock() + CODE_TTL
        self.codes[code] = Grant(client_id, unit, self.user, scope, redirect_uri, expires)
        return code

    def redeem_code(self, code: str, client_id: str, redirect_uri: str) -> Grant | None:
        """A code works once, for the client and redirect URI it was issued to (RFC 6749
        §4.1.3; SFMC "access-token-app" requires the same redirect_uri)."""
        grant = self.codes.pop(code, None)
        if grant is None or grant.expires_at <= self.clock():
            return None
        if grant.client_id != client_id or grant.redirect_uri != redirect_uri:
            return None
        return grant

    def rotate_refresh_token(self, token: str, client_id: str) -> Grant | None:
        """A refresh token is single-use: SFMC returns a new one with every refresh
        ("refresh-token" doc; treated as rotating, marketing-cloud-and-webhooks.md §2)."""
        grant = self.refresh_tokens.get(token)
        if grant is None or grant.client_id != client_id:
            return None
        del self.refresh_tokens[token]
        return grant

    def tokens_for(self, grant: Grant, *, with_refresh: bool) -> dict[str, Any]:
        access = secrets.token_urlsafe(32)
        self.access_tokens[access] = Grant(
            grant.client_id,
            grant.unit,
            grant.user,
            grant.scope,
            expires_at=self.clock() + self.access_ttl,
        )
        answer: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(self.access_ttl),
            "scope": grant.scope,
            "soap_instance_url": self.instance_url(grant.unit, "soap"),
            "rest_instance_url": self.instance_url(grant.unit, "rest"),
        }
        # Without the `offline` scope there is no refresh token ("access-token-app").
        if with_refresh and "offline" in grant.scope.split():
            refresh = secrets.token_urlsafe(32)
            self.refresh_tokens[refresh] = grant
            answer["refresh_token"] = refresh
        return answer

    def instance_url(self, unit: BusinessUnit, kind: str) -> str:
        # Real ones look like https://{tssd}.rest.marketingcloudapis.com/; the fake serves
        # REST and SOAP itself, so both point back here (with a trailing slash, like SFMC's).
        return f"{self.base_url}/"

    def access_grant(self, token: str) -> Grant | None:
        """The grant behind a Bearer (or SOAP fueloauth) token, unless unknown or expired."""
        grant = self.access_tokens.get(token)
        if grant is None or grant.expires_at <= self.clock():
            return None
        return grant

    def userinfo(self, grant: Grant) -> dict[str, Any]:
        """Shaped like SFMC's /v2/userinfo answer ("get-user-info" doc)."""
        unit, user = grant.unit, grant.user
        return {
            "exp": int(grant.expires_at),
            "iss": f"{self.base_url}/{unit.tssd}",
            "user": {
                "sub": user.sub if user else "",
                "name": user.name if user else "",
                "preferred_username": user.email if user else "",
                "email": user.email if user else "",
                "locale": "en-US",
                "zoneinfo": "America/Los_Angeles",
                "timezone": {"longName": "(GMT-08:00) Pacific Time", "shortName": "GMT-8"},
            },
            "organization": {
                "member_id": int(unit.mid) if unit.mid.isdigit() else unit.mid,
                "enterprise_id": int(unit.eid) if unit.eid.isdigit() else unit.eid,
                "enterprise_name": unit.name,
                "account_type": "enterprise_2",
                "stack_key": "S50",
                "region": "NA1",
                "locale": "en-US",
                "zoneinfo": "America/Los_Angeles",
            },
            "rest": {
                "rest_instance_url": self.instance_url(unit, "rest"),
                "soap_instance_url": self.instance_url(unit, "soap"),
            },
            "application": {"id": "fake-app", "name": "Rokt Calendar (fake)"},
            "permissions": [],
        }

    # --- the record -----------------------------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        self.requests.append(request)

    def calls(
        self, endpoint: str | None = None, status: int | None = None
    ) -> list[RecordedRequest]:
        return matching(self.requests, endpoint, status)
