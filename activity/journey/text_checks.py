"""Text that can be stored and sent. JSON admits two things that are not: a NUL (PostgreSQL text
cannot hold it, a calendar cannot show it) and a lone surrogate ("\\ud800" decodes to a code
point no UTF-8 encoder will write). Both are refused where they enter, naming the field, so one
contact's bad value fails that contact alone instead of a storage batch or a render."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from activity.errors import InvalidInput


def reject_unstorable(merged: Mapping[str, Any]) -> None:
    # A NUL cannot be stored in PostgreSQL text nor shown in a calendar; a lone surrogate
    # (legal JSON: "\ud800") is not text at all and cannot be encoded to store or send.
    # Name the field, so one contact's bad value fails only that contact.
    for key, value in merged.items():
        if "\x00" in key or (isinstance(value, str) and "\x00" in value):
            raise InvalidInput(
                f"inArgument {key.replace(chr(0), '?')!r} contains a NUL character; "
                "expected plain text"
            )
        texts = value if isinstance(value, list) else (value,)
        for text in (key, *texts):
            mark = lone_surrogate(text) if isinstance(text, str) else ""
            if mark:
                raise InvalidInput(
                    f"inArgument {key!r} contains a lone surrogate ({mark}), which is not "
                    "text; expected plain text",
                    reason="invalid_text",
                )


def plain_json(raw: bytes) -> bool:
    """True when no string read from the JSON text `raw` can hold a NUL or a lone surrogate,
    so `reject_unstorable` has nothing to find: ASCII JSON in one byte per character spells
    either only as a \\u escape. Anything else (UTF-8, where Python's reader lets encoded
    surrogates through, or UTF-16 and UTF-32, whose NUL bytes hide an escape) is not plain
    and gets the full check."""
    return raw.isascii() and b"\x00" not in raw and b"\\u" not in raw


def lone_surrogate(text: str) -> str:
    """The first lone surrogate in `text` as "U+D800" (JSON lets "\\ud800" in), or "" if none."""
    if text.isascii():
        return ""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        return f"U+{ord(text[err.start]):04X}"
    return ""
