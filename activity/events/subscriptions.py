"""A contact's Rokt calendar subscription IDs, as JB resolves the `calendarSubscriptionId` binding.

Accepted: one GUID; several separated by commas, semicolons or whitespace; a JSON array
(as a string "[...]" or a real list). IDs are lowercased and deduplicated in order; braces
around a GUID (`{...}`, as Microsoft tools write them) are dropped.
"""

from __future__ import annotations

import json
import re
from typing import Any

from activity.errors import InvalidInput

FIELD = "calendarSubscriptionId"
MAX_PER_CONTACT = 100
EXAMPLE = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SEPARATORS = re.compile(r"[,;\s]+")
_SHOWN = 5


def parse(value: Any) -> tuple[str, ...]:
    """The subscription IDs in `value`; () for none; InvalidInput naming any malformed ones."""
    if type(value) is str and _GUID.fullmatch(value):  # one GUID, as JB resolves most contacts'
        return (value,)
    items = _items(value)
    ids: list[str] = []
    bad: list[str] = []
    for item in items:
        if not isinstance(item, str):
            bad.append(repr(item))
            continue
        candidate = item.strip().lower()
        if candidate.startswith("{") and candidate.endswith("}"):
            candidate = candidate[1:-1].strip()
        if not candidate:
            continue
        if _GUID.fullmatch(candidate):
            ids.append(candidate)
        else:
            bad.append(item.strip())
    if bad:
        raise InvalidInput(
            f"{FIELD} has {len(bad)} malformed value{'s' if len(bad) > 1 else ''}: "
            f"{_listing(bad)}; expected GUIDs like {EXAMPLE}, separated by commas, "
            "semicolons or spaces, or a JSON array",
            reason="invalid_subscription_id",
        )
    unique = tuple(dict.fromkeys(ids))
    if len(unique) > MAX_PER_CONTACT:
        raise InvalidInput(
            f"{FIELD} has {len(unique)} subscription IDs; expected at most {MAX_PER_CONTACT} "
            "per contact",
            reason="too_many_subscriptions",
        )
    return unique


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    if not isinstance(value, str):
        raise InvalidInput(
            f"{FIELD} has type {type(value).__name__}; expected a GUID, a list of GUIDs separated "
            "by commas, semicolons or spaces, or a JSON array",
            reason="invalid_subscription_id",
        )
    text = value.strip()
    if text.startswith("["):
        try:
            loaded = json.loads(text)
        except ValueError:
            raise InvalidInput(
                f"{FIELD} starts with '[' but is not a JSON array ({_clip(text)!r}); expected "
                f'a JSON array of GUIDs such as ["{EXAMPLE}"]',
                reason="invalid_subscription_id",
            ) from None
        except RecursionError:
            raise InvalidInput(
                f"{FIELD} holds arrays nested too deeply to read ({_clip(text)!r}); expected "
                f'a flat JSON array of GUIDs such as ["{EXAMPLE}"]',
                reason="invalid_subscription_id",
            ) from None
        if not isinstance(loaded, list):
            loaded = [loaded]
        return loaded
    return [part for part in _SEPARATORS.split(text) if part]


def _listing(values: list[str]) -> str:
    shown = ", ".join(repr(_clip(v)) for v in values[:_SHOWN])
    more = len(values) - _SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
