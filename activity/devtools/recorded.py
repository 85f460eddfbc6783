"""What both fakes (Rokt, Marketing Cloud) ask of the requests they recorded."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar


class Recorded(Protocol):
    @property
    def endpoint(self) -> str: ...

    @property
    def status(self) -> int: ...


R = TypeVar("R", bound=Recorded)


def matching(requests: Iterable[R], endpoint: str | None, status: int | None) -> list[R]:
    """The requests to `endpoint` answered with `status`, in order; None matches any."""
    return [
        r
        for r in requests
        if (endpoint is None or r.endpoint == endpoint) and (status is None or r.status == status)
    ]
