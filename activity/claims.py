"""Who signed in, read out of claims we do not trust: a legacy SSO token's or Marketing
Cloud's userinfo answer. A claim is a short printable string or a number; anything else
reads as missing, so the caller's own check says what is missing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_CLAIM_LENGTH = 254  # the longest e-mail address there can be


def claim(value: object) -> str:
    """The claim as text, or "" when it is not a short printable string or number."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    text = str(value).strip()
    return text if len(text) <= MAX_CLAIM_LENGTH and text.isprintable() else ""


def section(claims: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The object under `key`, or an empty one when it is missing or not an object."""
    found = claims.get(key)
    return found if isinstance(found, dict) else {}
