"""The command line of `python -m activity.devtools.bench` (`make bench`): options -> a run."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from activity.devtools.bench import run
from activity.devtools.bench.pools import BenchConfig
from activity.devtools.bench.run import run_bench


def main(argv: Sequence[str] | None = None) -> int:
    defaults = BenchConfig()
    parser = argparse.ArgumentParser(
        prog="python -m activity.devtools.bench", description=run.__doc__
    )
    parser.add_argument(
        "--contacts",
        type=int,
        default=defaults.round_bodies,
        help="distinct bodies signed for each floor round, half that for each service round "
        "(a round that needs more fails)",
    )
    parser.add_argument("--rounds", type=int, default=defaults.rounds, help="~1 KB rounds each")
    parser.add_argument(
        "--large-rounds", type=int, default=defaults.large_rounds, help="~3 KB rounds each"
    )
    parser.add_argument("--round-seconds", type=float, default=defaults.round_seconds)
    parser.add_argument(
        "--workers",
        type=int,
        default=defaults.workers,
        help="service workers (and floor processes) for the per-machine rounds (1: none)",
    )
    parser.add_argument("--worker-rounds", type=int, default=defaults.worker_rounds)
    parser.add_argument(
        "--database-url",
        default="",
        help="the service's database, e.g. an empty PostgreSQL one (default: a new SQLite file)",
    )
    parser.add_argument("--per-contact", type=int, default=defaults.per_contact)
    parser.add_argument("--paced-rate", type=float, default=defaults.paced_rate)
    parser.add_argument("--paced-seconds", type=float, default=defaults.paced_seconds)
    parser.add_argument("--connections", type=int, default=defaults.connections)
    parser.add_argument("--threads", type=int, default=defaults.threads)
    parser.add_argument("--subscribe-contacts", type=int, default=defaults.subscribe_contacts)
    parser.add_argument(
        "--webhooks", type=int, default=defaults.webhooks, help="Rokt webhooks (0: no phase)"
    )
    parser.add_argument(
        "--subscribe-latency",
        type=float,
        default=defaults.subscribe_latency,
        metavar="SECONDS",
        help="how long the fake Rokt takes to create a subscription",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="SVG",
        help="write a py-spy flame graph of the service during its first round",
    )
    args = parser.parse_args(argv)
    config = BenchConfig(
        rounds=args.rounds,
        large_rounds=args.large_rounds,
        round_seconds=args.round_seconds,
        round_bodies=args.contacts,
        workers=args.workers,
        worker_rounds=args.worker_rounds,
        database_url=args.database_url,
        per_contact=args.per_contact,
        paced_rate=args.paced_rate,
        paced_seconds=args.paced_seconds,
        connections=args.connections,
        threads=args.threads,
        profile=args.profile.resolve() if args.profile else None,
        subscribe_contacts=args.subscribe_contacts,
        subscribe_latency=args.subscribe_latency,
        webhooks=args.webhooks,
    )
    report = run_bench(config)
    # Targets are goals, not a gate: the exit status fails only when delivery was wrong.
    webhooks_ok = report.webhooks is None or report.webhooks.exact
    return 0 if report.delivered_exactly_once and report.subscribed_once and webhooks_ok else 1
