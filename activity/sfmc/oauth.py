"""Marketing Cloud's OAuth 2.0 endpoints, as a client: code exchange, refresh, client
credentials and userinfo (Salesforce docs "access-token-app", "refresh-token",
"access-token-s2s", "get-user-info").

No aiohttp.web here; the session views and the sync worker both call it. Nothing it raises
or returns prints a token: the secrets are `repr=False` and error messages carry only
Marketing Cloud's error code and a bounded description.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp

from activity import remote_json
from activity.claims import claim, section
from activity.config import TSSD_PATTERN
from activity.errors import SfmcError, SfmcGrantRefused, SfmcUnavailable

TIMEOUT_SECONDS = 10.0
MAX_ANSWER_BYTES = 64 * 1024
MAX_DESCRIPTION = 200
MAX_SCOPE = 1000
MAX_URL = 2000


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    expires_in: float
    refresh_token: str = field(default="", repr=False)  # "" without the offline scope
    scope: str = ""
    rest_instance_url: str = ""
    soap_instance_url: str = ""


@dataclass(frozen=True)
class UserInfo:
    mid: str
    enterprise_id: str
    user_id: str
    email: str
    name: str = ""


def auth_base(template: str, tssd: str) -> str:
    """The tenant's auth base URL: `{tssd}` in SFMC_AUTH_URL replaced by the subdomain.

    tssd arrives in the callback's query string, so anyone can put anything there: only a
    DNS label is accepted, or the service could be sent to a host of the caller's choosing.
    """
    if "{tssd}" not in template:
        return template.rstrip("/")
    if not TSSD_PATTERN.match(tssd):
        raise SfmcError("the tenant subdomain (tssd) is not a valid name", reason="bad_tssd")
    return template.replace("{tssd}", tssd.lower()).rstrip("/")


def _description(body: Any) -> tuple[str, str]:
    if not isinstance(body, dict):
        return "", ""
    error = body.get("error") or body.get("errorcode") or ""
    text = body.get("error_description") or body.get("message") or ""
    return remote_json.plain_text(str(error))[:64], remote_json.plain_text(str(text))[
        :MAX_DESCRIPTION
    ]


async def _call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    json_body: dict[str, Any] | None = None,
    bearer: str = "",
    what: str,
) -> dict[str, Any]:
    headers = {"Accept": "application/json"}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    try:
        async with http.request(
            method, url, json=json_body, headers=headers, timeout=timeout, allow_redirects=False
        ) as resp:
            raw = await remote_json.read_capped(resp.content, MAX_ANSWER_BYTES)
            status = resp.status
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise SfmcUnavailable(
            f"Marketing Cloud's {what} could not be reached ({type(exc).__name__})"
        ) from None
    body = remote_json.loads(raw) if len(raw) <= MAX_ANSWER_BYTES else None
    if status == 429 or status >= 500:
        raise SfmcUnavailable(f"Marketing Cloud's {what} answered {status}", status=status)
    if status != 200 or not isinstance(body, dict):
        error, text = _description(body)
        detail = f"{error}: {text}" if text else error or "no reason given"
        cls = SfmcGrantRefused if error == "invalid_grant" else SfmcError
        raise cls(
            f"Marketing Cloud's {what} refused ({status}, {detail})",
            status=status,
            error=error,
            reason=error if error in ("invalid_client", "access_denied") else None,
        )
    return body


def _tokens(body: dict[str, Any]) -> TokenSet:
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise SfmcError("Marketing Cloud's token answer has no access_token", reason="bad_answer")
    expires = body.get("expires_in")
    refresh = body.get("refresh_token")
    return TokenSet(
        access_token=access,
        expires_in=float(expires) if isinstance(expires, int | float) and expires > 0 else 0.0,
        refresh_token=refresh if isinstance(refresh, str) else "",
        scope=remote_json.plain_text(str(body.get("scope", "")))[:MAX_SCOPE],
        rest_instance_url=_url(body.get("rest_instance_url")),
        soap_instance_url=_url(body.get("soap_instance_url")),
    )


def _url(value: object) -> str:
    """An instance URL as stored and called: http(s), printable, no spaces, bounded."""
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        return ""
    return value if len(value) <= MAX_URL and value.isprintable() and " " not in value else ""


async def exchange_code(
    http: aiohttp.ClientSession,
    base: str,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
) -> TokenSet:
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client_id,
        "client_secret": client_secret,
        "redirect_uri": redirect_uri,
    }
    return _tokens(await _call(http, "POST", f"{base}/v2/token", json_body=body, what="token"))


async def refresh(
    http: aiohttp.ClientSession,
    base: str,
    *,
    client_id: str,
    client_secret: str,
    refresh_token: str,
) -> TokenSet:
    """A new access token and a new refresh token: the old one must not be used again."""
    body = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client_id,
        "client_secret": client_secret,
    }
    return _tokens(await _call(http, "POST", f"{base}/v2/token", json_body=body, what="token"))


async def client_credentials(
    http: aiohttp.ClientSession,
    base: str,
    *,
    client_id: str,
    client_secret: str,
    account_id: str,
    scope: str = "",
) -> TokenSet:
    body = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": client_secret,
        "account_id": account_id,
    }
    if scope:
        body["scope"] = scope
    return _tokens(await _call(http, "POST", f"{base}/v2/token", json_body=body, what="token"))


def user_info_from(body: dict[str, Any]) -> UserInfo:
    """Read MID, enterprise and user from a /v2/userinfo answer; SfmcError if no MID."""
    organization, user = section(body, "organization"), section(body, "user")
    info = UserInfo(
        mid=claim(organization.get("member_id")),
        enterprise_id=claim(organization.get("enterprise_id")),
        user_id=claim(user.get("sub")),
        email=claim(user.get("email")),
        name=claim(user.get("name")),
    )
    if not info.mid.isdigit():
        raise SfmcError("Marketing Cloud's userinfo names no business unit", reason="missing_mid")
    return info


async def userinfo(http: aiohttp.ClientSession, base: str, access_token: str) -> UserInfo:
    body = await _call(http, "GET", f"{base}/v2/userinfo", bearer=access_token, what="userinfo")
    return user_info_from(body)
