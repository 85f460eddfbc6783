"""The fake Rokt for the benchmark: the package's fake (`rokt-activity fake-rokt`) plus one
read-only route, GET /_bench/stats, so the benchmark can count, from another process, the
calls and token grants Rokt saw and whether every subscription ID arrived exactly once.

Run as `python -m activity.devtools.bench.rokt --port P --client-id ID [--token-ttl S]`; the client
secret comes from BENCH_ROKT_CLIENT_SECRET, never from argv.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections import Counter
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from activity.devtools.fake_rokt import FakeRokt, create_fake_rokt_app

SUBSCRIBE_PATH = "/v2/subscribe/"
SECRET_ENV = "BENCH_ROKT_CLIENT_SECRET"  # noqa: S105 - the variable's name, not a secret


class Stats:
    """Counts over the fake's request record, updated incrementally on each read."""

    def __init__(self, fake: FakeRokt) -> None:
        self.fake = fake
        self.seen = 0
        self.calls: Counter[str] = Counter()
        self.delivered: Counter[str] = Counter()  # subscription ID -> accepted create calls
        self.repeated = 0

    def snapshot(self) -> dict[str, Any]:
        requests = self.fake.requests
        for r in requests[self.seen :]:
            if r.endpoint == "token":
                continue
            self.calls[r.endpoint] += 1
            if r.endpoint == "create" and r.status == 202 and isinstance(r.json, dict):
                for sub in r.json.get("subscriptionIds") or ():
                    self.delivered[sub] += 1
                    if self.delivered[sub] == 2:
                        self.repeated += 1
        self.seen = len(requests)
        return {
            "calls": dict(self.calls),
            "calls_total": sum(self.calls.values()),
            "token_grants": self.fake.token_grants,
            "subscriptions_delivered": sum(self.delivered.values()),
            "subscriptions_distinct": len(self.delivered),
            "subscriptions_repeated": self.repeated,
            "calendar_subscriptions": len(self.fake.subscribe.subscriptions),
        }


STATS: web.AppKey[Stats] = web.AppKey("bench_stats")


async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATS].snapshot())


def subscribe_latency(seconds: float) -> Middleware:
    """Create Subscription answers after `seconds`, as a real Rokt over the internet would;
    the other endpoints keep answering at once (their phases measure the service alone)."""

    @web.middleware
    async def delayed(request: web.Request, handler: Handler) -> web.StreamResponse:
        if seconds > 0 and request.path.startswith(SUBSCRIBE_PATH):
            await asyncio.sleep(seconds)
        return await handler(request)

    return delayed


def create_bench_rokt_app(fake: FakeRokt, subscribe_seconds: float = 0.0) -> web.Application:
    app = create_fake_rokt_app(fake)
    app.middlewares.append(subscribe_latency(subscribe_seconds))
    app[STATS] = Stats(fake)
    app.router.add_get("/_bench/stats", stats)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m activity.devtools.bench.rokt")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--token-ttl", type=float, default=300.0)
    parser.add_argument("--subscribe-latency", type=float, default=0.0, metavar="SECONDS")
    args = parser.parse_args()
    fake = FakeRokt(args.client_id, os.environ[SECRET_ENV], args.token_ttl)
    app = create_bench_rokt_app(fake, args.subscribe_latency)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
