"""What the fake Rokt received, readable over HTTP (not part of Rokt's API).

`GET /__fake/requests?since=N` lists recorded requests from index N on (secrets never appear:
the token endpoint records the grant type and client ID only). `GET /__fake/duplicates` counts
events attached twice to one subscription, so an exactly-once check against the standalone
`rokt-activity fake-rokt` can fail. Both also answer under `/_fake/`, their earlier spelling.
With `--record FILE` the same records are appended to a JSON-lines file as they arrive, so
they outlive the process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from activity.devtools.fake_rokt.record import recorded_json
from activity.devtools.fake_rokt.state import FakeRokt

if TYPE_CHECKING:
    from collections.abc import Callable

MAX_LISTED = 10_000


def add_inspection_routes(app: web.Application, fake_of: Callable[[web.Request], FakeRokt]) -> None:
    async def requests(request: web.Request) -> web.Response:
        fake = fake_of(request)
        try:
            since = max(0, int(request.query.get("since", "0")))
        except ValueError:
            return web.json_response({"error": "since must be a whole number"}, status=400)
        chunk = fake.requests[since : since + MAX_LISTED]
        return web.json_response(
            {
                "total": len(fake.requests),
                "requests": [recorded_json(since + n, r) for n, r in enumerate(chunk)],
            }
        )

    async def duplicates(request: web.Request) -> web.Response:
        fake = fake_of(request)
        return web.json_response(
            {
                "duplicates": fake.duplicates(),
                "attachments": [
                    {"accountCode": a, "eventId": e, "subscriptionId": s, "again": n}
                    for (a, e, s), n in sorted(fake.duplicate_attachments.items())
                ],
            }
        )

    # Under the prefix of the fake's other control routes (and the fake Marketing Cloud's);
    # the single-underscore spelling of earlier versions still answers, for existing scripts.
    for prefix in ("/__fake", "/_fake"):
        app.router.add_get(f"{prefix}/requests", requests)
        app.router.add_get(f"{prefix}/duplicates", duplicates)
