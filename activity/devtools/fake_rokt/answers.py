"""How the fake Rokt answers: the status and JSON of Rokt's envelope (seed 002), an error's
list of codes and reasons, and the 202 every accepted change gets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Answer = tuple[int, dict[str, Any]]
EventKey = tuple[str, str]  # (account code, event ID)


def error_body(status: int, errors: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {
        "success": False,
        "statusCode": status,
        "message": "; ".join(reason for _, reason in errors),
        "errors": [{"code": code, "reason": reason} for code, reason in errors],
    }


ACCEPTED: Answer = (202, {"success": True, "statusCode": 202, "message": "Accepted"})
