"""`rokt-activity fake-rokt` options for the stricter, more realistic fake (docs/rokt.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from activity.devtools.fake_rokt import replay

if TYPE_CHECKING:
    from activity.devtools.fake_rokt.state import FakeRokt


def add_fidelity_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--account-code",
        action="append",
        default=[],
        metavar="CODE",
        help="an account code the client owns (repeatable); others answer 404. Without it the "
        "client takes each unowned code on first use",
    )
    parser.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="append every request received to FILE as JSON lines (also readable over HTTP "
        "at /__fake/requests)",
    )
    parser.add_argument(
        "--replay",
        type=Path,
        metavar="FILE",
        help="answer like a recorded session (a --record file): same statuses, same delays",
    )
    parser.add_argument(
        "--latency-ms",
        metavar="MEDIAN[,P99]",
        help="add a long-tailed delay to every answer, e.g. 120,900",
    )
    parser.add_argument(
        "--processing-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="seconds before a created event shows in GET /v1/subscription (Rokt processes "
        "events in the background)",
    )


def apply_fidelity_arguments(fake: FakeRokt, args: argparse.Namespace) -> None:
    if args.account_code:
        (client_id,) = list(fake.clients)[:1]
        fake.own(client_id, *args.account_code)
    if args.record is not None:
        fake.record_path = args.record
    if args.replay is not None:
        replay.replay(fake, replay.load_records(args.replay))
    if args.latency_ms:
        median, p99 = replay.parse_latency(args.latency_ms)
        fake.latency = replay.lognormal_latency(median, p99)
    fake.processing_delay = max(0.0, args.processing_delay)
