"""What a benchmark run sends: its configuration, and the pools of execute bodies, each signed
once beforehand and written for wrk to replay once."""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from activity.devtools.bench import subscribe
from activity.devtools.bench import webhooks as webhook_bench
from activity.devtools.bench.bodies import SMALL, execute_bodies
from activity.devtools.bench.load import write_bodies
from activity.devtools.demo_contacts import Contact, make_contacts


@dataclass(frozen=True)
class BenchConfig:
    rounds: int = 5  # alternating service/floor rounds with ~1 KB bodies
    large_rounds: int = 3  # the same with ~3 KB bodies (0: none)
    round_seconds: float = 4.0
    # Distinct bodies per floor round (half that per service round, which is slower); a
    # round that would need more fails rather than repeat one.
    round_bodies: int = 80_000
    workers: int = os.cpu_count() or 1  # the per-machine rounds (1: none)
    worker_rounds: int = 2
    per_contact: int = 10_000  # contact scope: one Rokt event per contact
    paced_rate: float = 1000.0
    paced_seconds: float = 10.0
    paced_connections: int = 128  # JB: up to 50 per worker, several workers; few are busy
    threads: int = 1
    connections: int = 32
    token_ttl: float = 300.0
    drain_timeout: float = 180.0
    profile: Path | None = None  # py-spy flame graph of the service's GIL, first round
    subscribe_contacts: int = subscribe.DEFAULT_CONTACTS  # 0 skips the subscribe phase
    subscribe_latency: float = subscribe.DEFAULT_LATENCY
    webhooks: int = webhook_bench.DEFAULT_WEBHOOKS  # 0 skips the webhook phase
    database_url: str = ""  # empty: SQLite in the run's temporary directory


def accepted(contacts: Sequence[Contact]) -> tuple[int, int]:
    """(contacts that will be queued, subscription IDs they carry)."""
    with_subs = [c for c in contacts if c.subscription_ids]
    return len(with_subs), sum(len(c.subscription_ids) for c in with_subs)


class Pools:
    """Bodies to send, one file set per name; the contacts of each service pool are kept
    to know which subscription IDs Rokt must hold. Each body is signed once, sent once."""

    def __init__(self, config: BenchConfig, secret: str, workdir: Path) -> None:
        self.config, self.secret, self.workdir = config, secret, workdir
        self.rng = random.Random(7)  # noqa: S311 - repeatable load data, not secrets
        self.contacts: dict[str, list[Contact]] = {}
        self.signed = 0

    def add(
        self, name: str, count: int, *, size: str = SMALL, personalized: bool = False
    ) -> list[Contact]:
        contacts = make_contacts(count, self.rng)
        bodies = execute_bodies(
            contacts, self.secret, personalized=personalized, size=size, rng=self.rng
        )
        self.signed += write_bodies(self.workdir / name, bodies, self.config.threads)
        self.contacts[name] = contacts
        return contacts

    def add_subscribers(self, count: int) -> list[Contact]:
        contacts = make_contacts(count, self.rng)
        bodies = subscribe.subscribe_bodies(contacts, self.secret)
        self.signed += write_bodies(self.workdir / "subscribe", bodies, self.config.threads)
        return contacts
