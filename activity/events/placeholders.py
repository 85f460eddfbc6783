"""`<<Field Name>>` and `<<Field Name|fallback>>` placeholders.

The value for `<<First Name>>` is the inArgument with that exact key, which the config UI
binds to a data source and JB resolves before execute. Substitution is a single pass:
a value that itself contains `<<Other>>` is inserted literally, never expanded again.
A value that is None or only whitespace counts as empty and takes the fallback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from activity.errors import InvalidInput

UNKNOWN_PLACEHOLDER = "unknown_placeholder"

PATTERN = re.compile(r"<<([^<>|]+)(?:\|([^<>]*))?>>")


def key(name: str) -> str:
    """The inArgument key that carries a placeholder's value."""
    return f"<<{name}>>"


def names(text: str) -> list[str]:
    """The placeholder names in `text`, each once, in order of first use."""
    if not isinstance(text, str):
        return []
    return list(dict.fromkeys(m.group(1) for m in PATTERN.finditer(text)))


def has_placeholders(text: Any) -> bool:
    return isinstance(text, str) and PATTERN.search(text) is not None


def fill(text: str, values: Mapping[str, Any], field: str = "text") -> str:
    """Replace every placeholder in `text`; `field` names the inArgument in error messages."""

    def replace(match: re.Match[str]) -> str:
        name, fallback = match.group(1), match.group(2)
        placeholder = key(name)
        if placeholder not in values:
            raise unknown(name, field)
        value = as_text(values[placeholder])
        if not value.strip() and fallback is not None:
            return fallback
        return value

    return PATTERN.sub(replace, text)


def unknown(name: str, field: str) -> InvalidInput:
    placeholder = key(name)
    return InvalidInput(
        f"placeholder {placeholder} in {field} has no inArgument {placeholder!r}; "
        f"expected an inArgument {placeholder!r} bound to the field's source",
        reason=UNKNOWN_PLACEHOLDER,
    )


def as_text(value: Any) -> str:
    """A bound value as it should read inside a title or description."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list | tuple):
        return ", ".join(as_text(item) for item in value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
