"""'Test connection': ask Rokt for a token and say, in words, what happened.

The token itself is thrown away; neither it nor the secret is logged or returned.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp

from activity.admin.settings_form import Credentials
from activity.errors import RoktAuthFailed, RoktError, RoktRetryable
from activity.rokt.token_cache import fetch_token

log = logging.getLogger("activity.settings")

SUCCESS = "success"
INVALID_CREDENTIALS = "invalid_credentials"
UNREACHABLE = "unreachable"
UNEXPECTED = "unexpected"


@dataclass(frozen=True)
class ConnectionResult:
    outcome: str
    headline: str
    detail: str

    @property
    def ok(self) -> bool:
        return self.outcome == SUCCESS


def _result(outcome: str, credentials: Credentials, api_url: str) -> ConnectionResult:
    which = (
        "the client secret you typed" if credentials.typed_secret else "the stored client secret"
    )
    if outcome == SUCCESS:
        return ConnectionResult(
            outcome,
            "Connection successful",
            f"Rokt Calendar accepted client ID {credentials.client_id} with {which}.",
        )
    if outcome == INVALID_CREDENTIALS:
        return ConnectionResult(
            outcome,
            "Invalid credentials",
            f"Rokt Calendar refused client ID {credentials.client_id} with {which}. "
            "Check the client ID and secret with your Rokt account manager.",
        )
    if outcome == UNREACHABLE:
        return ConnectionResult(
            outcome,
            "Rokt unreachable",
            f"Rokt Calendar at {api_url} did not answer. Try again in a few minutes; "
            "if it persists, ask your operator to check the service's network access "
            "and ROKT_API_URL.",
        )
    return ConnectionResult(
        outcome,
        "Unexpected answer from Rokt",
        "Rokt Calendar answered the token request in a way this service did not expect. "
        "Try again later, or contact calendar-support@rokt.com.",
    )


async def check_connection(
    http: aiohttp.ClientSession, api_url: str, credentials: Credentials, *, mid: str
) -> ConnectionResult:
    try:
        await fetch_token(http, api_url, credentials.client_id, credentials.client_secret)
        outcome = SUCCESS
    except RoktAuthFailed:
        outcome = INVALID_CREDENTIALS
    except (RoktRetryable, aiohttp.ClientError, TimeoutError):
        outcome = UNREACHABLE
    except RoktError:
        outcome = UNEXPECTED
    log.info("connection test", extra={"mid": mid, "outcome": outcome})
    return _result(outcome, credentials, api_url)
