"""What `events.plan` remembers: the parsed configuration and the rendered event per distinct
set of inArguments (other than the contact's subscription IDs, and the `<<X>>` values no text
of the event uses), bounded by bytes. Errors are never remembered."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache

from activity.events import placeholders, subscriptions
from activity.events.config import EventConfig


@dataclass(frozen=True, slots=True)
class Template:
    """What an EventConfig renders to, before the contact key and subscription IDs."""

    config: EventConfig
    payload: dict[str, Any]  # read-only: shared by every plan made from this template
    payload_json: str
    batch_key: str
    start_utc: str | None
    end_utc: str | None


# Bounded by bytes, not entries: inArguments may be large (an extra 150 KB field each), and a
# count bound would then let the cache grow past the memory target.
TEMPLATE_CACHE_BYTES = 16 * 1024 * 1024
_ENTRY_OVERHEAD_BYTES = 1024  # the key tuple, the dataclass, the payload dict's own tables


@dataclass(frozen=True)
class _Remembered:
    template: Template
    size: int  # estimated bytes held by the key and the template


def _footprint(key: tuple[Any, ...], template: Template) -> int:
    held = sum(sys.getsizeof(name) + sys.getsizeof(value) for name, _, value in key)
    # The payload's strings are about as large as its JSON, which is kept too.
    return _ENTRY_OVERHEAD_BYTES + held + 2 * sys.getsizeof(template.payload_json)


_TEMPLATES: LRUCache[tuple[Any, ...], _Remembered] = LRUCache(
    maxsize=TEMPLATE_CACHE_BYTES, getsizeof=lambda remembered: remembered.size
)
# For each set of inArguments other than the subscription IDs and the `<<X>>` values: which
# `<<X>>` values the event's texts use. Only those join the template's key, so contacts whose
# other bound attributes differ (JB sends every attribute bound in the journey) share one
# template instead of each rendering and remembering its own.
_USES: LRUCache[tuple[Any, ...], frozenset[str]] = LRUCache(
    maxsize=TEMPLATE_CACHE_BYTES // 4,
    getsizeof=lambda used: _ENTRY_OVERHEAD_BYTES + sum(sys.getsizeof(n) for n in used),
)
_ABSENT = object()  # a used placeholder without a value: part of the key as such
_SCALARS = (str, int, float, bool, type(None))  # what a `<<X>>` value may be (the schema)


def remember(base: tuple[Any, ...], merged: Mapping[str, Any], template: Template) -> None:
    event = template.config
    texts = (event.title, event.description, event.location, event.start, event.end)
    used = frozenset(
        placeholders.key(name)
        for text in (*texts, event.timezone)
        for name in placeholders.names(text)
    )
    if _USES.get(base) != used:
        _USES[base] = used
    key = template_key(merged, base)
    if key is None:
        return
    size = _footprint(key, template)
    if size <= TEMPLATE_CACHE_BYTES // 64:  # one huge template may not flush everyone else's
        _TEMPLATES[key] = _Remembered(template, size)


def template_cache_bytes() -> tuple[int, int]:
    """(estimated bytes held, bound): for tests and diagnostics."""
    return int(_TEMPLATES.currsize), int(_TEMPLATES.maxsize)


def forget_templates() -> None:
    """Empty the template cache (tests compare a remembered plan with a fresh one)."""
    _TEMPLATES.clear()
    _USES.clear()


def _is_value(name: str) -> bool:  # callers test name[:2] == "<<" first: most names fail it
    """A `<<X>>` key, as the schema's pattern reads it (its `.` matches no line break)."""
    return len(name) > 4 and name.startswith("<<") and name.endswith(">>") and "\n" not in name


def base_key(merged: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """Every inArgument but the subscription IDs and `<<X>>` values, hashable and exact (True,
    1 and 1.0 differ), or None when a value is not hashable."""
    base = tuple(
        [
            (name, type(value), value)
            for name, value in merged.items()
            if name != subscriptions.FIELD and not (name[:2] == "<<" and _is_value(name))
        ]
    )
    try:
        hash(base)
    except TypeError:
        return None
    return base


def template_key(merged: Mapping[str, Any], base: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
    """The base and the `<<X>>` values the event uses; None when not known yet or when an
    unused value is one the schema refuses (then the contact is parsed, and refused, anew)."""
    used = _USES.get(base) if base is not None else None
    if used is None or base is None:
        return None
    for name, value in merged.items():
        if (
            name[:2] == "<<"
            and name not in used
            and _is_value(name)
            and type(value) not in _SCALARS
        ):
            return None
    extra = tuple(
        [
            (name, type(value), value)
            for name in sorted(used)
            for value in (merged.get(name, _ABSENT),)
        ]
    )
    key = base + extra
    try:
        hash(key)
    except TypeError:
        return None
    return key


def recall(key: tuple[Any, ...] | None) -> Template | None:
    """The template remembered under `key` (from `template_key`), if any."""
    remembered = _TEMPLATES.get(key) if key is not None else None
    return remembered.template if remembered is not None else None
