"""Attacks on a served process over real sockets: one contact's data never fails another's,
and slow or compressed bodies never stall anyone else (issue: hostile review, round two)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from activity.devtools.fake_rokt.server import start_fake_rokt
from activity.devtools.jb import event_arguments, execute_payload, sign
from tests.pg import fresh_database
from tests.service_process import Service

pytestmark = pytest.mark.slow


@pytest.fixture
async def rokt_url() -> AsyncIterator[str]:
    _, url, runner = await start_fake_rokt()
    yield url
    await runner.cleanup()


@contextlib.asynccontextmanager
async def database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'hostile.db'}"
    else:
        async with fresh_database() as url:
            yield url


@contextlib.asynccontextmanager
async def served(backend: str, tmp_path: Path, rokt_url: str, **env: str) -> AsyncIterator[Service]:
    async with database(backend, tmp_path) as database_url:
        service = Service(rokt_url, database_url=database_url, **env)
        await service.configure()
        await service.start()
        try:
            yield service
        finally:
            await service.stop()


async def post_execute(
    http: aiohttp.ClientSession, url: str, payload: dict[str, object]
) -> tuple[int, dict[str, str]]:
    async with http.post(f"{url}/execute", data=sign(payload)) as resp:
        return resp.status, await resp.json()


def good(i: int) -> dict[str, object]:
    return execute_payload(
        event_arguments(calendarSubscriptionId=str(uuid.uuid4())), contact_key=f"good-{i}"
    )


# --- one contact's data fails alone -------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_an_unstorable_contact_key_fails_alone_in_its_group_commit(
    backend: str, tmp_path: Path, rokt_url: str
) -> None:
    """A lone surrogate is legal JSON but no database can store it as UTF-8 text; the good
    contacts committed in the same rounds must all be queued."""
    async with served(backend, tmp_path, rokt_url) as service:
        connector = aiohttp.TCPConnector(limit=100)
        async with aiohttp.ClientSession(connector=connector) as http:
            for round_ in range(5):
                bad = execute_payload(event_arguments(), contact_key="bad\ud800")
                goods = [good(round_ * 1000 + i) for i in range(199)]
                answers = await asyncio.gather(
                    post_execute(http, service.url, bad),
                    *(post_execute(http, service.url, p) for p in goods),
                )
                statuses = [(status, body.get("roktStatus")) for status, body in answers[1:]]
                assert statuses == [(200, "queued")] * 199, f"round {round_}"
                assert answers[0][1].get("roktStatus") != "queued"


# --- slow and compressed bodies -------------------------------------------------------------

HOST = "127.0.0.1"


async def raw_request(port: int, head: str, body: bytes = b"") -> asyncio.StreamWriter:
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(head.encode("latin-1") + body)
    await writer.drain()
    writer.reader = reader  # type: ignore[attr-defined]
    return writer


async def status_of(writer: asyncio.StreamWriter, within: float) -> int | None:
    """The status line's code, or None if the connection closed without one."""
    reader: asyncio.StreamReader = writer.reader  # type: ignore[attr-defined]
    try:
        line = await asyncio.wait_for(reader.readline(), within)
    except (ConnectionError, TimeoutError):
        return None
    finally:
        writer.close()
    return int(line.split()[1]) if line.startswith(b"HTTP/1.1 ") else None


async def dribble(writer: asyncio.StreamWriter) -> None:
    """A chunked body that never ends: one byte a second."""
    with contextlib.suppress(ConnectionError):
        while not writer.is_closing():
            writer.write(b"1\r\na\r\n")
            await writer.drain()
            await asyncio.sleep(1.0)


async def test_slow_bodies_never_take_execute_slots_and_time_out(
    tmp_path: Path, rokt_url: str
) -> None:
    """520 senders that announce 200,000 bytes and send one, and 20 never-ending chunked
    bodies, outnumber the 512 execute slots; JB's executes must still all be queued, and
    every slow sender is answered 408 once the 10 s body deadline passes."""
    async with served("sqlite", tmp_path, rokt_url) as service:
        head = (
            "POST /execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/jwt\r\n"
            "Content-Length: 200000\r\n\r\n"
        )
        started = asyncio.get_running_loop().time()
        slow = [await raw_request(service.port, head, b"e") for _ in range(520)]
        chunked_head = (
            "POST /execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/jwt\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        )
        endless = [await raw_request(service.port, chunked_head) for _ in range(20)]
        dribblers = [asyncio.create_task(dribble(w)) for w in endless]
        await asyncio.sleep(1.0)  # every slow request is in the server by now
        connector = aiohttp.TCPConnector(limit=20)
        async with aiohttp.ClientSession(connector=connector) as http:
            answers = await asyncio.gather(
                *(post_execute(http, service.url, good(i)) for i in range(200))
            )
        assert [(s, b.get("roktStatus")) for s, b in answers] == [(200, "queued")] * 200
        assert asyncio.get_running_loop().time() - started < 9, "answered while they waited"
        codes = await asyncio.gather(*(status_of(w, within=15) for w in slow + endless))
        for task in dribblers:
            task.cancel()
        assert codes == [408] * 540


def gzip_bomb(inflated_mib: int) -> bytes:
    """`inflated_mib` MiB of zeros, gzip-compressed (about 1,000:1)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    return b"".join([*(packer.compress(zeros) for _ in range(inflated_mib)), packer.flush()])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def test_compressed_bodies_are_refused_before_a_byte_is_inflated(
    tmp_path: Path, rokt_url: str
) -> None:
    bomb = gzip_bomb(256)  # 256 MiB of zeros in ~260 KB
    async with served("sqlite", tmp_path, rokt_url) as service:
        assert service.proc is not None
        before = cpu_seconds(service.proc.pid)
        heads = [
            f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
            f"Content-Type: application/jwt\r\nTransfer-Encoding: chunked\r\n\r\n"
            for method, path in [("POST", "/execute")] * 2 + [("GET", "/api/timezones")] * 2
        ]
        body = f"{len(bomb):x}\r\n".encode() + bomb + b"\r\n0\r\n\r\n"
        senders = [await raw_request(service.port, head, body) for head in heads]
        codes = await asyncio.gather(*(status_of(w, within=10) for w in senders))
        assert codes == [415] * 4
        async with aiohttp.ClientSession() as http:
            status, answer = await post_execute(http, service.url, good(0))
        assert (status, answer["roktStatus"]) == (200, "queued")
        used = cpu_seconds(service.proc.pid) - before
        # Inflating the four bodies alone would take seconds of CPU.
        assert used < 0.5, f"the service spent {used:.2f} s of CPU"


# --- malformed HTTP -------------------------------------------------------------------------

FORM = "application/x-www-form-urlencoded"
SESSION = "rokt_activity_session"
# (method, path, headers, body): each once answered 500 with a traceback in the log.
MALFORMED: dict[str, tuple[str, str, dict[str, str], bytes]] = {
    "multipart without boundary": (
        "POST",
        "/login",
        {"Content-Type": "multipart/form-data"},
        b"jwt=x",
    ),
    "unknown charset": ("POST", "/login", {"Content-Type": f"{FORM}; charset=klingon"}, b"jwt=x"),
    "UTF-16 charset": (
        "POST",
        "/login",
        {"Content-Type": f"{FORM}; charset=utf-16"},
        "jwt=x".encode("utf-16"),
    ),
    "UTF-16 charset on logout": (
        "POST",
        "/logout",
        {"Content-Type": f"{FORM}; charset=utf-16"},
        "a=b".encode("utf-16"),
    ),
    "non-UTF-8 form bytes on login": ("POST", "/login", {"Content-Type": FORM}, b"jwt=\xff\xfe"),
    "non-UTF-8 escaped bytes on login": ("POST", "/login", {"Content-Type": FORM}, b"jwt=%ff%fe"),
    "non-UTF-8 form bytes on logout": (
        "POST",
        "/logout",
        {"Content-Type": FORM},
        b"csrf_token=\xff",
    ),
    "0xff in Cookie": ("GET", "/settings", {"Cookie": f"{SESSION}=\xffabc"}, b""),
    "0xff in Cookie on logout": (
        "POST",
        "/logout",
        {"Cookie": f"{SESSION}=\xff", "Content-Type": FORM},
        b"a=b",
    ),
    "non-ASCII Authorization": ("GET", "/metrics", {"Authorization": "Bearer \xe9t\xe9"}, b""),
    "Content-Encoding on a plain body": (
        "POST",
        "/api/preview",
        {"Content-Encoding": "gzip", "Content-Type": "application/json"},
        b'{"arguments": {}}',
    ),
    "Content-Encoding on execute": ("POST", "/execute", {"Content-Encoding": "deflate"}, b"a.b.c"),
    "a chunk size that is not hex": (
        "POST",
        "/execute",
        {"Transfer-Encoding": "chunked"},
        b"zz\r\nab\r\n0\r\n\r\n",
    ),
}


async def exchange(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, bytes]:
    lines = [f"{method} {path} HTTP/1.1", "Host: x", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body and "Transfer-Encoding" not in headers:
        lines.append(f"Content-Length: {len(body)}")
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, content = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), content


async def test_malformed_requests_get_a_reason_never_a_500_or_a_traceback(
    tmp_path: Path, rokt_url: str
) -> None:
    async with served("sqlite", tmp_path, rokt_url, ACTIVITY_METRICS_TOKEN="scrape-me") as service:
        for case, (method, path, headers, body) in MALFORMED.items():
            status, content = await exchange(service.port, method, path, headers, body)
            expected = 415 if "Content-Encoding" in headers else 400
            assert status == expected, (case, status, content[:200])
            assert content.strip(), f"{case}: no reason given"
        # A body cut short by its sender, then the connection dropped.
        _, writer = await asyncio.open_connection(HOST, service.port)
        writer.write(b"POST /api/check HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.close()
        await asyncio.sleep(0.3)
        async with aiohttp.ClientSession() as http:
            scrape = await http.get(
                f"{service.url}/metrics", headers={"Authorization": "Bearer scrape-me"}
            )
            metrics = await scrape.text()
    assert "activity_http_errors_total 0.0" in metrics
    assert 'activity_http_refused_total{reason="content_encoding"} 2.0' in metrics
    assert not [line for line in service.lines if "Traceback" in line or '"level": "error"' in line]
