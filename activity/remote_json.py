"""JSON from a remote (Rokt, Marketing Cloud) read without trusting it.

`json.loads` raises more than ValueError on hostile input: a few kilobytes of `[[[[` raise
RecursionError, and it reads NaN and Infinity, which are not JSON. A remote that answers
such a body is answering garbage, which every caller already handles as "no usable answer";
this turns all of it into None so none of it escapes as a 500 or kills a worker.
"""

from __future__ import annotations

import json
from typing import Any

# What any answer we read may weigh: the largest real one (a page of calendar events) is
# far below it, and reading more would let a remote fill our memory.
MAX_ANSWER_BYTES = 1024 * 1024


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(raw: bytes | str) -> Any | None:
    """The decoded value, or None when `raw` is not JSON (or is JSON `null`)."""
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
