"""Helpers for the Marketing Cloud client tests: an access token from the fake."""

from __future__ import annotations

import time

import aiohttp

from activity.sfmc import oauth
from activity.sfmc.tokens import Access

MID = "100000001"


async def access_for(http: aiohttp.ClientSession, url: str, mid: str = MID) -> Access:
    tokens = await oauth.client_credentials(
        http, url, client_id="sfmc-cid", client_secret="sfmc-csecret", account_id=mid
    )
    return Access(mid, tokens.access_token, f"{url}/", f"{url}/", time.monotonic() + 600)
