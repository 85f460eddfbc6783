"""The benchmark's webhook phase: Rokt webhooks in, Marketing Cloud rows out.

A fake Marketing Cloud runs as its own process; the business unit is connected and the data
extension installed with the CLI, as an operator would. The phase posts a burst of webhooks
(subscriptions, unsubscriptions out of order, details updates, repeats) to the business
unit's webhook URL and measures how many the service accepts durably per second, then waits
until every subscription's row is in the fake data extension, and counts the Marketing Cloud
calls it took (upserts, status polls, results; not tokens or the install).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from rich.table import Table

from activity.devtools.bench.procs import Processes, free_port, rokt_command, wait_ready
from activity.devtools.subscription_story import check_rows, read_rows, story

DEFAULT_WEBHOOKS = 5000
CALLS_TARGET = 2.0  # Marketing Cloud calls per 1,000 webhooks
MID = "100000001"  # a business unit the fake Marketing Cloud knows
SFMC_CLIENT_ID = "bench-sfmc-client"
SFMC_SECRET = "bench-sfmc-secret"  # noqa: S105 - the benchmark fake's own secret
CONCURRENCY = 32  # Rokt's webhook deliveries in flight
SYNC_TIMEOUT = 120.0
STATUS_POLL_WAIT = 1.5
SYNC_ENDPOINTS = frozenset({"rows", "rows_status", "rows_results"})


@dataclass(frozen=True)
class WebhookPhase:
    webhooks: int
    subscriptions: int
    accept_seconds: float
    non_200: int
    sync_seconds: float  # after the last webhook was accepted, until every row was right
    sfmc_calls: int
    problems: tuple[str, ...]

    @property
    def per_second(self) -> float:
        return self.webhooks / self.accept_seconds if self.accept_seconds else 0.0

    @property
    def calls_per_1000(self) -> float:
        return 1000 * self.sfmc_calls / self.webhooks if self.webhooks else 0.0

    @property
    def exact(self) -> bool:
        return not self.problems and not self.non_200


async def _cli(env: dict[str, str], *args: str, stdin: str = "") -> str:
    proc = await asyncio.create_subprocess_exec(
        *rokt_command(), *args, env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate(stdin.encode())
    if proc.returncode != 0:
        raise RuntimeError(f"rokt-activity {' '.join(args[:2])} failed: {err.decode()[-500:]}")
    return out.decode()


async def webhook_phase(
    procs: Processes,
    env: dict[str, str],
    http: aiohttp.ClientSession,
    *,
    account_code: str,
    client_id: str,
    webhooks: int,
) -> WebhookPhase:
    sfmc_url = f"http://127.0.0.1:{free_port()}"
    argv = [*rokt_command(), "fake-sfmc", "--port", sfmc_url.rsplit(":", 1)[1]]
    argv += ["--client-id", SFMC_CLIENT_ID, "--client-secret", SFMC_SECRET]
    fake = procs.start("fake-sfmc", argv, env)
    await wait_ready(http, f"{sfmc_url}/__fake/requests", fake)
    await _cli(env, "settings", "set", "--mid", MID, "--account-code", account_code,
               "--client-id", client_id)  # fmt: skip
    await _cli(env, "sfmc", "connect", "--mid", MID, "--client-id", SFMC_CLIENT_ID,
               "--auth-url", sfmc_url, stdin=SFMC_SECRET + "\n")  # fmt: skip
    await _cli(env, "sfmc", "install", "--mid", MID)
    url = (await _cli(env, "settings", "webhook-url", "--mid", MID)).strip()
    traffic = story(account_code, max(1, round(webhooks / 1.725)), seed=17)
    hooks = traffic.webhooks
    before = await _sync_calls(http, sfmc_url)
    started = time.monotonic()
    non_200 = await _post_all(http, url, hooks)
    accepted_at = time.monotonic()
    accept_seconds = accepted_at - started
    problems = ["not synced"]
    while problems and time.monotonic() - accepted_at < SYNC_TIMEOUT:
        await asyncio.sleep(0.2)
        problems = check_rows(traffic.expected, await read_rows(http, sfmc_url, MID))
    sync_seconds = time.monotonic() - accepted_at
    # The fake stores rows at the upsert; the service's status poll follows within a second.
    await asyncio.sleep(STATUS_POLL_WAIT)
    calls = await _sync_calls(http, sfmc_url) - before
    return WebhookPhase(
        len(hooks), traffic.subscriptions, accept_seconds, non_200, sync_seconds, calls,
        tuple(problems[:5]),
    )  # fmt: skip


async def _post_all(http: aiohttp.ClientSession, url: str, hooks: list[dict[str, Any]]) -> int:
    queue = list(reversed(hooks))
    failed = 0

    async def sender() -> None:
        nonlocal failed
        while queue:
            hook = queue.pop()
            async with http.post(url, json=hook) as resp:
                await resp.read()
                failed += resp.status != 200

    await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
    return failed


async def _sync_calls(http: aiohttp.ClientSession, sfmc_url: str) -> int:
    async with http.get(f"{sfmc_url}/__fake/requests") as resp:
        found = (await resp.json())["requests"]
    return sum(1 for r in found if r["endpoint"] in SYNC_ENDPOINTS)


def add_webhook_rows(table: Table, phase: WebhookPhase, mark: Any) -> None:
    """Rows for the bench table: figure, service, baseline, target, verdict."""
    table.add_row(
        f"webhooks/s accepted durably ({phase.webhooks:,} webhooks, "
        f"{phase.subscriptions:,} subscriptions, {CONCURRENCY} in flight)",
        f"{phase.per_second:,.0f}", "", "", "",
    )  # fmt: skip
    table.add_row(
        "Marketing Cloud calls per 1,000 webhooks",
        f"{phase.calls_per_1000:.1f}", "", f"<= {CALLS_TARGET:.0f}",
        mark(phase.calls_per_1000 <= CALLS_TARGET),
    )  # fmt: skip
    table.add_row(
        "every subscription's row once, newest state",
        "yes" if phase.exact else "no", "", "yes", mark(phase.exact),
    )  # fmt: skip
    table.add_row("last webhook accepted -> every row right", f"{phase.sync_seconds:.1f} s",
                  "", "", "")  # fmt: skip
