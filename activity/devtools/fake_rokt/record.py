"""What the fake Rokt received: every request (also appended as JSON lines to `record_path`)
and the questions tests ask of that record. A mixin of FakeRokt, which owns the state named
below."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from activity.devtools.recorded import matching


@dataclass(frozen=True)
class RecordedRequest:
    endpoint: str
    method: str
    path: str
    json: Any
    at: float
    status: int
    query: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # how long the answer was held back


def recorded_json(index: int, request: RecordedRequest) -> dict[str, Any]:
    """One recorded request as the fake shows it over HTTP and writes it to its record file."""
    return {
        "index": index,
        "endpoint": request.endpoint,
        "method": request.method,
        "path": request.path,
        "query": request.query,
        "json": request.json,
        "at": request.at,
        "status": request.status,
        "delay": request.delay,
    }


class Record:
    requests: list[RecordedRequest]
    record_path: Path | None
    duplicate_attachments: Counter[tuple[str, str, str]]

    # --- what tests ask -------------------------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        self.requests.append(request)
        if self.record_path is not None:
            with self.record_path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(recorded_json(len(self.requests) - 1, request)) + "\n")

    def duplicates(self) -> int:
        """Events attached again to a subscription that already held them."""
        return sum(self.duplicate_attachments.values())

    def calls(
        self, endpoint: str | None = None, status: int | None = None
    ) -> list[RecordedRequest]:
        return matching(self.requests, endpoint, status)

    def subscription_ids_sent(self, account: str | None = None) -> list[str]:
        """Every subscription ID in accepted create calls, in order, repeats included."""
        return [
            sub
            for r in self.calls("create", 202)
            if account is None or r.path.rstrip("/").rsplit("/", 1)[-1] == account
            for sub in r.json["subscriptionIds"]
        ]
