"""The benchmark's baseline (the floor): an aiohttp server that only verifies the JWT with PyJWT and
answers, so the service's figures can be read against what aiohttp and PyJWT alone cost here.

Run as `python -m activity.devtools.bench.baseline --port P`; the secret is BENCH_JWT_SECRET.
"""

from __future__ import annotations

import argparse
import os

import jwt
from aiohttp import web

SECRET = web.AppKey("secret", bytes)
SECRET_ENV = "BENCH_JWT_SECRET"  # noqa: S105 - the variable's name, not a secret


async def execute(request: web.Request) -> web.Response:
    try:
        jwt.decode(await request.read(), request.app[SECRET], algorithms=["HS256"])
    except jwt.PyJWTError:
        return web.json_response({"error": "bad token"}, status=401)
    return web.json_response({"roktStatus": "queued", "roktEventId": "", "roktError": ""})


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_baseline_app(secret: str) -> web.Application:
    app = web.Application()
    app[SECRET] = secret.encode()
    app.router.add_post("/execute", execute)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m activity.devtools.bench.baseline")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--reuse-port", action="store_true", help="SO_REUSEPORT: several floors on one port"
    )
    args = parser.parse_args()
    app = create_baseline_app(os.environ[SECRET_ENV])
    from activity.ops.eventloop import new_event_loop

    web.run_app(
        app,
        host=args.host,
        port=args.port,
        print=None,
        access_log=None,
        loop=new_event_loop(),
        reuse_port=args.reuse_port,
    )


if __name__ == "__main__":
    main()
