"""What `events.plan` remembers: the parsed configuration and the rendered event per distinct
set of inArguments (other than the contact's subscription IDs, and the `<<X>>` values no text
of the event uses), bounded by bytes. Errors are never remembered."""

from __future__ import annotations

import itertools
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
# The sets of inArguments (keys of `_USES`) have a bound of their own, counted the same way:
# a key keeps its values alive whether or not a template is remembered under it.
USES_CACHE_BYTES = TEMPLATE_CACHE_BYTES // 4
_ENTRY_OVERHEAD_BYTES = 1024  # the key tuple, the dataclass, the payload dict's own tables
# One huge entry may not flush everyone else's: larger ones are planned afresh each time.
LARGEST_ENTRY_BYTES = TEMPLATE_CACHE_BYTES // 64


Triples = tuple[tuple[str, type, Any], ...]


def _held(triples: Triples) -> int:
    """Estimated bytes of the names and values a key keeps alive."""
    return sum(sys.getsizeof(name) + sys.getsizeof(value) for name, _, value in triples)


class InArgumentsKey:
    """A set of inArguments as `(name, type, value)` triples, hashed once.

    A lookup in an LRU cache hashes its key several times (membership, item, recency), and a
    tuple recomputes its hash each time: for JB's fifteen inArguments that was most of what a
    remembered plan cost.
    """

    __slots__ = ("hash", "items", "unusual")

    def __init__(self, items: Triples, unusual: tuple[str, ...] = ()) -> None:
        self.items = items
        self.hash = hash(items)  # TypeError for a value that is not hashable
        # This call's `<<X>>` names whose value the schema refuses (not part of the key).
        self.unusual = unusual

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other: object) -> bool:
        return self is other or (
            type(other) is InArgumentsKey and self.hash == other.hash and self.items == other.items
        )


@dataclass(frozen=True, slots=True)
class _Uses:
    token: int  # stands for the set of inArguments in template keys, which stay small
    names: tuple[str, ...]  # the `<<X>>` values the event's texts use, sorted
    size: int  # estimated bytes held by the entry, its key's values included


@dataclass(frozen=True)
class _Remembered:
    template: Template
    size: int  # estimated bytes held by the key and the template


TemplateKey = tuple[int, Triples]


def _footprint(key: TemplateKey, template: Template) -> int:
    # The payload's strings are about as large as its JSON, which is kept too.
    return _ENTRY_OVERHEAD_BYTES + _held(key[1]) + 2 * sys.getsizeof(template.payload_json)


# For each set of inArguments other than the subscription IDs and the `<<X>>` values: which
# `<<X>>` values the event's texts use. Only those join the template's key, so contacts whose
# other bound attributes differ (JB sends every attribute bound in the journey) share one
# template instead of each rendering and remembering its own.
_USES: LRUCache[InArgumentsKey, _Uses] = LRUCache(
    maxsize=USES_CACHE_BYTES, getsizeof=lambda uses: uses.size
)
# Templates by (the token of their set of inArguments, the used `<<X>>` values).
_TEMPLATES: LRUCache[TemplateKey, _Remembered] = LRUCache(
    maxsize=TEMPLATE_CACHE_BYTES, getsizeof=lambda remembered: remembered.size
)
_TOKENS = itertools.count()
_ABSENT = object()  # a used placeholder without a value: part of the key as such
_SCALARS = (str, int, float, bool, type(None))  # what a `<<X>>` value may be (the schema)


def _recalled(cache: LRUCache[Any, Any], key: Any) -> Any:
    try:
        return cache[key]  # one lookup that also marks it recently used (`get` takes two)
    except KeyError:
        return None


def remember(base: InArgumentsKey, merged: Mapping[str, Any], template: Template) -> None:
    event = template.config
    texts = (event.title, event.description, event.location, event.start, event.end)
    names = tuple(
        sorted(
            {
                placeholders.key(name)
                for text in (*texts, event.timezone)
                for name in placeholders.names(text)
            }
        )
    )
    uses = _recalled(_USES, base)
    if uses is None or uses.names != names:
        size = _ENTRY_OVERHEAD_BYTES + _held(base.items) + sum(sys.getsizeof(n) for n in names)
        if size > LARGEST_ENTRY_BYTES:
            return
        _USES[base] = _Uses(next(_TOKENS), names, size)
    key = template_key(merged, base)
    if key is None:
        return
    size = _footprint(key, template)
    if size <= LARGEST_ENTRY_BYTES:
        _TEMPLATES[key] = _Remembered(template, size)


def template_cache_bytes() -> tuple[int, int]:
    """(estimated bytes held, bound), both caches together: for tests and diagnostics."""
    held = _TEMPLATES.currsize + _USES.currsize
    return int(held), int(_TEMPLATES.maxsize + _USES.maxsize)


def forget_templates() -> None:
    """Empty the template cache (tests compare a remembered plan with a fresh one)."""
    _TEMPLATES.clear()
    _USES.clear()


def _is_value(name: str) -> bool:  # callers test name[:2] == "<<" first: most names fail it
    """A `<<X>>` key, as the schema's pattern reads it (its `.` matches no line break)."""
    return len(name) > 4 and name.startswith("<<") and name.endswith(">>") and "\n" not in name


def base_key(merged: Mapping[str, Any]) -> InArgumentsKey | None:
    """Every inArgument but the subscription IDs and `<<X>>` values, hashable and exact (True,
    1 and 1.0 differ), or None when a value is not hashable."""
    items: list[tuple[str, type, Any]] = []
    unusual: list[str] = []
    for name, value in merged.items():
        if name[:2] == "<<" and _is_value(name):
            if type(value) not in _SCALARS:
                unusual.append(name)
        elif name != subscriptions.FIELD:
            items.append((name, type(value), value))
    try:
        return InArgumentsKey(tuple(items), tuple(unusual))
    except TypeError:
        return None


def template_key(merged: Mapping[str, Any], base: InArgumentsKey | None) -> TemplateKey | None:
    """The base's token and the `<<X>>` values the event uses; None when not known yet or when
    an unused value is one the schema refuses (then the contact is parsed, and refused, anew)."""
    uses: _Uses | None = _recalled(_USES, base) if base is not None else None
    if uses is None or base is None:
        return None
    used = uses.names
    if base.unusual and any(name not in used for name in base.unusual):
        return None
    if not used:
        return uses.token, ()
    extra = tuple(
        [(name, type(value), value) for name in used for value in (merged.get(name, _ABSENT),)]
    )
    try:
        hash(extra)
    except TypeError:
        return None
    return uses.token, extra


def recall(key: TemplateKey | None) -> Template | None:
    """The template remembered under `key` (from `template_key`), if any."""
    remembered: _Remembered | None = _recalled(_TEMPLATES, key) if key is not None else None
    return remembered.template if remembered is not None else None
