"""The benchmark's machinery on a small run: every figure and target is printed."""

from __future__ import annotations

import asyncio
import io
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import web
from rich.console import Console

from activity.devtools.bench.bodies import LARGE, execute_bodies
from activity.devtools.bench.load import (
    LoadResult,
    RepeatedBodies,
    run_wrk,
    sent_indices,
    write_bodies,
)
from activity.devtools.bench.pools import BenchConfig
from activity.devtools.bench.report import BenchReport, Phase
from activity.devtools.bench.rokt import Stats
from activity.devtools.bench.rounds import Round
from activity.devtools.bench.run import run_bench
from activity.devtools.bench.subscribe import SubscribePhase
from activity.devtools.demo_contacts import make_contacts
from activity.devtools.fake_rokt import FakeRokt, RecordedRequest


@pytest.mark.slow
def test_small_bench_prints_every_figure_with_its_target(tmp_path: Path) -> None:
    out = io.StringIO()
    config = BenchConfig(
        rounds=1,
        large_rounds=1,
        round_seconds=1,
        round_bodies=30_000,  # enough for a second of either server on this machine
        workers=2,
        worker_rounds=1,
        per_contact=100,
        paced_rate=100,
        paced_seconds=1,
        connections=8,
        profile=tmp_path / "profile.svg",
        subscribe_contacts=200,
        subscribe_latency=0.1,
        webhooks=1000,
    )
    report = run_bench(config, Console(file=out, width=200))
    text = out.getvalue()
    # The flame graph sampled the service while it answered executes.
    assert "execute (" in (tmp_path / "profile.svg").read_text(), text
    assert report.delivered_exactly_once, text
    servers = {(r.server, r.size) for r in report.rounds}
    assert servers == {
        ("service", "1 KB"),
        ("floor", "1 KB"),
        ("service", "3 KB"),
        ("floor", "3 KB"),
        ("service × 2 workers", "1 KB"),
        ("floor × 2 processes", "1 KB"),
    }
    for r in report.rounds:
        # Every round: no body twice, wrk's own CPU measured, the server's CPU too.
        assert r.load.repeats == 0 and r.load.requests > 0, r
        assert r.load.sent >= r.load.requests and r.load.wrk_cpu_seconds > 0, r
        assert r.load.server_cpu_seconds > 0, r
    assert report.shared.load.errors == report.shared.load.non_2xx == 0
    assert report.per_contact.calls_per_1000 > report.shared.calls_per_1000
    assert report.token_grants >= 1 and report.peak_rss_mb > 0
    for figure in (
        "executes/s, max, ~1 KB bodies",
        "latency p50 / p99 at max",
        "CPU per execute (server process, all threads)",
        "(paced)",
        "Rokt calls per 1,000 contacts, shared scope",
        "Rokt calls per 1,000 contacts, contact scope",
        "token grants",
        "peak RSS (VmHWM) after",
        "≥ 0.7 × floor",
        "p99 < 50 ms",
        "≤ 10",
        "< 150 MB",
        "wrk CPU/request",
        "service / floor",
        "service × 2 workers / floor × 2 processes",
        "subscribe executes/s (200 contacts, Rokt 100 ms, 8 connections)",
        "subscribe latency p50 / p99",
        "subscribe: Rokt calls / subscriptions made",
        "webhooks/s accepted durably",
        "Marketing Cloud calls per 1,000 webhooks",
        "every subscription's row once, newest state",
    ):
        assert figure in text, figure
    hooks = report.webhooks
    assert hooks is not None and hooks.exact, text
    assert hooks.webhooks >= 990 and hooks.per_second > 0 and hooks.sfmc_calls >= 2
    sub = report.subscribe
    assert sub is not None and report.subscribed_once, text
    assert (sub.rokt_calls, sub.subscriptions) == (200, 200)
    # Each execute waited for Rokt's 100 ms: 8 connections cannot pass 80 per second.
    assert sub.load.p50_ms >= 100 and 0 < sub.load.rate <= 80
    assert sub.load.repeats == 0


def test_bodies_are_dealt_to_one_file_per_wrk_thread(tmp_path: Path) -> None:
    n = write_bodies(tmp_path / "b", (f"body{i}".encode() for i in range(5)), threads=2)
    assert n == 5
    lines = [(tmp_path / f"b.{t}").read_bytes().splitlines() for t in range(2)]
    assert sorted(lines[0] + lines[1]) == [f"body{i}".encode() for i in range(5)]
    assert abs(len(lines[0]) - len(lines[1])) <= 1


def test_stats_count_calls_and_repeated_subscriptions() -> None:
    fake = FakeRokt()
    stats = Stats(fake)

    def create(subs: list[str], status: int = 202) -> None:
        path = "/v1/subscriptionevent/A"
        fake.record(RecordedRequest("create", "POST", path, {"subscriptionIds": subs}, 0, status))

    create(["a", "b"])
    fake.record(RecordedRequest("token", "POST", "/oauth2/token", {}, 0, 200))
    assert stats.snapshot()["calls_total"] == 1
    create(["b"])
    create(["c"], status=500)
    snap = stats.snapshot()
    assert snap["calls"] == {"create": 3}
    assert (snap["subscriptions_distinct"], snap["subscriptions_repeated"]) == (2, 1)


def _load(rate: float, p99: float = 10.0) -> LoadResult:
    return LoadResult(int(rate * 10), 10.0, 0, 0, 1.0, p99, wrk_cpu_seconds=1.0)


def _rounds(service: float = 1000, floor: float = 1000) -> tuple[Round, ...]:
    return (Round("service", "1 KB", _load(service)), Round("floor", "1 KB", _load(floor)))


def _report(**kw: object) -> BenchReport:
    phase = Phase(_load(1000), 1000, 900, 5, 0.1)
    values: dict[str, object] = {
        "environment": "test",
        "rounds": _rounds(),
        "workers": 2,
        "shared": phase,
        "per_contact": phase,
        "paced": phase,
        "paced_rate": 1000.0,
        "token_grants": 1,
        "accounts": 1,
        "token_ttl": 300.0,
        "service_seconds": 100.0,
        "peak_rss_mb": 80.0,
        "contacts_total": 100_000,
        "delivered_exactly_once": True,
    }
    values.update(kw)
    return BenchReport(**values)  # type: ignore[arg-type]


def test_targets() -> None:
    assert _report().ok
    assert not _report(rounds=_rounds(floor=1500)).checks()["ratio"]
    assert _report(rounds=_rounds(service=700)).checks()["ratio"]
    # wrk busy for 95% of the run: the figure may be wrk's, not the server's.
    busy = (Round("floor", "1 KB", replace(_load(1000), wrk_cpu_seconds=9.5)),)
    assert not _report(rounds=_rounds() + busy).checks()["wrk"]
    assert not _report(peak_rss_mb=150.0).checks()["rss"]
    assert not _report(paced=Phase(_load(1000, p99=50.0), 1, 1, 0, 0)).checks()["paced"]
    late = replace(_load(1000, p99=5.0), late=1, max_lag_ms=300.0)
    assert not _report(paced=Phase(late, 1, 1, 0, 0)).checks()["paced"]
    assert not _report(shared=Phase(_load(1000), 1000, 900, 10, 0)).checks()["shared_calls"]


def test_subscribe_target_is_one_rokt_call_per_contact_and_no_failures() -> None:
    def phase(calls: int, made: int, non_2xx: int = 0) -> SubscribePhase:
        load = replace(_load(100), non_2xx=non_2xx)
        return SubscribePhase(load, 100, calls, made, 100.0, 32)

    assert _report(subscribe=phase(100, 100)).ok
    assert _report(subscribe=None).checks()["subscribe_once"]
    assert not _report(subscribe=phase(101, 100)).checks()["subscribe_once"]
    assert not _report(subscribe=phase(100, 99)).checks()["subscribe_once"]
    assert not _report(subscribe=phase(100, 100, non_2xx=1)).checks()["subscribe_once"]


def test_token_grants_allow_one_per_account_per_lifetime() -> None:
    # 300 s tokens are refreshed 30 s early: a 600 s run may need three.
    assert _report(service_seconds=250.0).allowed_grants == 1
    assert _report(service_seconds=600.0).allowed_grants == 3
    assert not _report(token_grants=2, service_seconds=100.0).checks()["grants"]


def _execute_app(seen: list[bytes], delay: float = 0.0) -> web.Application:
    async def execute(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append(body)
        await asyncio.sleep(delay)
        return web.json_response({}, status=503 if body.startswith(b"bad") else 200)

    app = web.Application()
    app.router.add_post("/execute", execute)
    return app


async def _paced(
    aiohttp_server: Any, tmp_path: Path, bodies: list[bytes], *, rate: float, delay: float = 0.0
) -> tuple[LoadResult, list[bytes]]:
    seen: list[bytes] = []
    server = await aiohttp_server(_execute_app(seen, delay))
    write_bodies(tmp_path / "paced", bodies, threads=1)
    url = str(server.make_url("")).rstrip("/")
    load = await run_wrk(url, tmp_path / "paced", threads=1, connections=4, exhaust=True, rate=rate)
    return load, seen


async def test_paced_wrk_sends_every_body_on_schedule(aiohttp_server: Any, tmp_path: Path) -> None:
    bodies = [f"{'bad' if i % 5 == 0 else 'ok'}-{i}".encode() for i in range(40)]
    load, seen = await _paced(aiohttp_server, tmp_path, bodies, rate=200)
    assert sorted(seen) == sorted(bodies)  # each once, none again
    assert (load.non_2xx, load.errors, load.repeats) == (8, 0, 0)
    # A timer of a busy machine can fire a little late; a schedule that fell behind would
    # make most sends late (the next test).
    assert load.late <= len(bodies) // 4
    assert load.requests == load.sent == len(bodies)
    # 40 slots 5 ms apart: sending faster than the schedule would finish sooner.
    assert load.seconds >= 39 / 200
    assert 0 < load.p50_ms <= load.p99_ms


async def test_paced_wrk_reports_sends_that_waited_for_a_connection(
    aiohttp_server: Any, tmp_path: Path
) -> None:
    # 4 connections, 100 ms answers: at most 40/s get through, so a 200/s schedule falls behind.
    bodies = [f"ok-{i}".encode() for i in range(20)]
    load, seen = await _paced(aiohttp_server, tmp_path, bodies, rate=200, delay=0.1)
    assert sorted(seen) == sorted(bodies)
    assert load.late >= 10
    assert load.max_lag_ms >= 100


async def _timed(
    aiohttp_server: Any, tmp_path: Path, bodies: list[bytes], *, threads: int, seconds: float
) -> tuple[LoadResult, list[bytes]]:
    seen: list[bytes] = []
    server = await aiohttp_server(_execute_app(seen))
    write_bodies(tmp_path / "timed", bodies, threads=threads)
    url = str(server.make_url("")).rstrip("/")
    load = await run_wrk(
        url, tmp_path / "timed", threads=threads, connections=4, seconds=seconds, exhaust=False
    )
    return load, seen


async def test_a_timed_run_that_runs_out_of_bodies_is_refused(
    aiohttp_server: Any, tmp_path: Path
) -> None:
    # 50 bodies cannot last a second against a server that answers at once.
    bodies = [f"ok-{i}".encode() for i in range(50)]
    with pytest.raises(RepeatedBodies, match="bodies twice"):
        await _timed(aiohttp_server, tmp_path, bodies, threads=1, seconds=1.0)


async def test_a_timed_run_reports_what_it_sent_and_wrks_own_cpu(
    aiohttp_server: Any, tmp_path: Path
) -> None:
    bodies = [f"ok-{i}".encode() for i in range(200_000)]
    load, seen = await _timed(aiohttp_server, tmp_path, bodies, threads=2, seconds=1.0)
    assert load.repeats == 0 and len(seen) == len(set(seen)) > 100
    # wrk checked thread 0's request before the run: that sent nothing and counts nothing.
    # The server may have read a few requests whose answers wrk no longer waited for.
    assert sum(load.sent_by_thread) == load.sent >= len(seen) >= load.requests
    sent = {bodies[i] for i in sent_indices(len(bodies), load.sent_by_thread)}
    assert set(seen) <= sent and len(sent) - load.requests <= 4  # at most one in flight each
    assert load.wrk_cpu_seconds > 0 and 0 < load.wrk_cpu_share < 2.0
    assert 0.9 <= load.seconds <= 3.0


def test_bodies_are_distinct_about_1_and_3_kb_and_verified_by_pyjwt() -> None:
    contacts = make_contacts(50, random.Random(1))
    secret = "a-bench-secret-of-thirty-two-bytes"
    small = list(execute_bodies(contacts, secret))
    large = list(execute_bodies(contacts, secret, size=LARGE, rng=random.Random(2)))
    assert len(set(small + large)) == 100
    assert all(900 <= len(b) <= 1400 for b in small), [len(b) for b in small]
    assert all(2800 <= len(b) <= 3400 for b in large), [len(b) for b in large]
    payload = jwt.decode(large[0], secret, algorithms=["HS256"])
    assert payload["keyValue"] == contacts[0].key
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(small[0], "another-secret-of-thirty-two-bytes", algorithms=["HS256"])
