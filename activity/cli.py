"""rokt-activity: serve, fake-rokt, fake-sfmc, settings, demo.

The only place that reads the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from typing import Any, NoReturn

from aiohttp import web

from activity.cli_support import (
    SERVE_EPILOG,
    HelpFormatter,
    ensure_can_listen,
    failure_line,
    port,
    positive_int,
    report,
    seconds,
)
from activity.config import ConfigError, Settings, log_level_from_env, settings_from_env


def _serve(args: argparse.Namespace) -> int:
    from activity.app import create_app
    from activity.ops import heap
    from activity.ops.bodies import SERVER_OPTIONS
    from activity.ops.eventloop import new_event_loop
    from activity.ops.logs import configure_logging
    from activity.ops.workers import METRICS_DIR_ENV, default_workers, worker_settings

    configure_logging(log_level_from_env(os.environ))
    settings = settings_from_env()
    worker = args.worker_index
    workers = args.workers if args.workers is not None else default_workers()
    if worker is None:
        ensure_can_listen(args.host, args.port)
        if workers > 1:
            return _supervise(settings, args.host, args.port, workers)
    else:
        settings = worker_settings(settings, worker, os.environ.get(METRICS_DIR_ENV, ""))
    loop = new_event_loop()
    url = f"http://{args.host}:{args.port}"

    def announce(_: str) -> None:
        logging.getLogger("activity.cli").info("serving on %s", url, extra={"url": url})

    app = create_app(settings)

    async def settle_heap(_: web.Application) -> None:
        heap.settle()  # last of the startup hooks: what they built is frozen too

    app.on_startup.append(settle_heap)
    # Our own JSON log lines cover requests; aiohttp's access log would cost per request.
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        print=announce if not worker else None,  # once, not once per worker
        access_log=None,
        loop=loop,
        reuse_port=worker is not None,
        **SERVER_OPTIONS,
    )
    return 0


def _supervise(settings: Settings, host: str, port_number: int, workers: int) -> int:
    """Make the schema and SQLite's key file once, then run the workers."""
    from activity.crypto import keyring_for
    from activity.ops.eventloop import new_event_loop
    from activity.ops.workers import Supervisor, worker_command
    from activity.storage.factory import store_for

    async def prepare() -> None:
        store = store_for(settings, create=True)
        await store.open()
        await store.close()

    # In the order one process meets them, so a bad start says the same thing.
    keyring_for(settings.database_url, settings.encryption_keys, create=True)
    loop = new_event_loop()  # the workers' loop: its errors are worded the same
    try:
        loop.run_until_complete(prepare())
    finally:
        loop.close()
    with tempfile.TemporaryDirectory(prefix="rokt-activity-metrics-") as metrics_dir:
        return Supervisor(worker_command(host, port_number), workers, metrics_dir).run()


def _fake_rokt(args: argparse.Namespace) -> int:
    from activity.devtools.fake_rokt.options import apply_fidelity_arguments
    from activity.devtools.fake_rokt.server import run_fake_rokt
    from activity.ops.logs import configure_logging

    configure_logging(log_level_from_env(os.environ))
    ensure_can_listen(args.host, args.port)
    run_fake_rokt(
        host=args.host,
        port=args.port,
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_ttl=args.token_ttl,
        setup=lambda fake: apply_fidelity_arguments(fake, args),
    )
    return 0


def _fake_sfmc(args: argparse.Namespace) -> int:
    from activity.devtools.fake_sfmc.server import run_fake_sfmc
    from activity.ops.logs import configure_logging

    configure_logging(log_level_from_env(os.environ))
    ensure_can_listen(args.host, args.port)
    run_fake_sfmc(
        host=args.host, port=args.port, client_id=args.client_id, client_secret=args.client_secret
    )
    return 0


def _read_secret() -> str:
    secret = os.environ.get("ROKT_CLIENT_SECRET", "")
    if not secret and not sys.stdin.isatty():
        secret = sys.stdin.readline().strip()
    if not secret and sys.stdin.isatty():
        import getpass

        secret = getpass.getpass("Rokt OAuth client secret: ").strip()
    if not secret:
        raise ConfigError("the client secret is read from stdin or ROKT_CLIENT_SECRET; got none")
    return secret


def _operator() -> str:
    return f"cli:{os.environ.get('USER', 'operator')}"


def _settings(args: argparse.Namespace) -> int:
    from activity.admin.settings_cli import run

    settings = settings_from_env(serving=False)
    return asyncio.run(run(settings, args, _operator(), _read_secret))


def _sfmc(args: argparse.Namespace) -> int:
    from activity.sfmc.cli import run

    settings = settings_from_env(serving=False)
    return asyncio.run(run(settings, args, _operator()))


def _demo(args: argparse.Namespace) -> int:
    from activity.devtools.demo import run_demo

    return int(
        run_demo(
            contacts=args.contacts, concurrency=args.concurrency, personalized=args.personalized
        )
    )


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        # argparse echoes unknown arguments; a mistyped `--client-secret VALUE` must not be.
        if message.startswith("unrecognized arguments"):
            message = "unrecognized arguments (secrets are read from stdin or ROKT_CLIENT_SECRET)"
        # One line, not argparse's usage block: the message says what to fix.
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _add_fake_arguments(
    fake: argparse.ArgumentParser, default_port: int, client_id: str, client_secret: str
) -> None:
    """Where a fake listens and the one OAuth client it accepts."""
    fake.add_argument("--host", default="127.0.0.1", help="address to listen on")
    fake.add_argument(
        "--port", type=port, default=default_port, help="TCP port to listen on (1-65535)"
    )
    fake.add_argument("--client-id", default=client_id, help="the only OAuth client ID it accepts")
    fake.add_argument(
        "--client-secret", default=client_secret, help="the only OAuth client secret it accepts"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rokt-activity", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser(
        "serve",
        help="run the service",
        description="Run the service: Journey Builder's endpoints, the settings pages and the "
        "delivery worker. Logs are JSON lines on stderr.",
        epilog=SERVE_EPILOG,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=port, default=8080, help="TCP port to listen on (1-65535)")
    serve.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="server processes sharing the port and the database (default: one per CPU)",
    )
    serve.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
    serve.set_defaults(func=_serve)

    fake = sub.add_parser(
        "fake-rokt",
        help="run the fake Rokt Calendar API for development",
        description="Run a fake Rokt Calendar API that keeps what it receives in memory; "
        "point the service at it with ROKT_API_URL.",
    )
    _add_fake_arguments(fake, 8090, "demo-client", "demo-secret")
    fake.add_argument(
        "--token-ttl", type=seconds, default=300.0, help="seconds an access token stays valid"
    )
    from activity.devtools.fake_rokt.options import add_fidelity_arguments

    add_fidelity_arguments(fake)
    fake.set_defaults(func=_fake_rokt)

    fake_mc = sub.add_parser(
        "fake-sfmc",
        help="run a fake Marketing Cloud for development",
        description="Run a fake Marketing Cloud (sign-in, tokens, data extensions) that keeps "
        "what it receives in memory.",
    )
    _add_fake_arguments(fake_mc, 8091, "demo-sfmc-client", "demo-sfmc-secret")
    fake_mc.set_defaults(func=_fake_sfmc)

    from activity.admin.settings_cli import add_parser as add_settings_parser

    add_settings_parser(sub).set_defaults(func=_settings)

    from activity.sfmc.cli import add_parser as add_sfmc_parser

    add_sfmc_parser(sub).set_defaults(func=_sfmc)

    demo = sub.add_parser(
        "demo",
        help="play Journey Builder against the fake Rokt",
        description="Start the service and the fake Rokt on free ports, play Journey Builder "
        "for many contacts and report what reached Rokt.",
    )
    demo.add_argument(
        "--contacts", type=positive_int, default=2000, help="contacts sent through execute"
    )
    demo.add_argument(
        "--concurrency", type=positive_int, default=20, help="execute calls in flight at once"
    )
    demo.add_argument(
        "--personalized",
        action="store_true",
        help="one event per contact (one Rokt call each) instead of one shared event",
    )
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        line = failure_line(exc)
        if line is None:
            raise  # a bug: the traceback goes to the log (one JSON line when serving)
        report(line)
        return 2 if isinstance(exc, ConfigError) else 1
    finally:
        logging.shutdown()
