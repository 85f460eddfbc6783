"""Rokt OAuth token cache (placeholder until the delivery issue lands)."""

from __future__ import annotations

from typing import Any

import aiohttp


class TokenCache:
    def __init__(self, http: aiohttp.ClientSession, api_url: str, *, metrics: Any = None) -> None:
        self._http = http
        self._api_url = api_url
