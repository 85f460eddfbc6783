"""JSON and text from a remote (Rokt, Marketing Cloud) read without trusting it.

`json.loads` raises more than ValueError on hostile input: a few kilobytes of `[[[[` raise
RecursionError, and it reads NaN and Infinity, which are not JSON. A remote that answers
such a body is answering garbage, which every caller already handles as "no usable answer";
this turns all of it into None so none of it escapes as a 500 or kills a worker.

A remote's words (an error message) are kept as reasons, shown and stored: `plain_text` makes
them one line of text that PostgreSQL can hold and a UTF-8 encoder can write.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import aiohttp

# What any answer we read may weigh: the largest real one (a page of calendar events) is
# far below it, and reading more would let a remote fill our memory.
MAX_ANSWER_BYTES = 1024 * 1024


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def read_capped(content: aiohttp.StreamReader, limit: int = MAX_ANSWER_BYTES) -> bytes:
    """The whole body, or its first `limit + 1` bytes when it is longer (the caller refuses
    it). `StreamReader.read(n)` alone returns only what has arrived so far: an answer that
    comes in several packets would be cut."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = await content.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def plain_text(text: str) -> str:
    """`text` on one line: control characters (NUL among them) become spaces, lone surrogates
    U+FFFD, runs of whitespace one space."""
    if not text.isprintable():
        text = "".join(_printable(ch) for ch in text)
    return " ".join(text.split())


def _printable(ch: str) -> str:
    if ch.isprintable():
        return ch
    kind = unicodedata.category(ch)
    if kind == "Cs":
        return "\ufffd"
    return " " if kind == "Cc" or ch.isspace() else ch


def loads(raw: bytes | str) -> Any | None:
    """The decoded value, or None when `raw` is not JSON (or is JSON `null`)."""
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
