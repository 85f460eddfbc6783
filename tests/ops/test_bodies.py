"""Bodies are read before any handler, with a deadline and a cap on slow ones (real sockets)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from aiohttp.test_utils import TestServer

from activity import create_app
from activity.devtools.jb import (
    event_arguments,
    execute_payload,
    sign,
    store_demo_settings,
    test_settings,
)
from tests.conftest import ClientFactory

SLOW_HEAD = (
    b"POST /execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/jwt\r\n"
    b"Content-Length: 1000\r\n\r\nabc"
)


async def status_line(reader: asyncio.StreamReader, within: float) -> bytes:
    return await asyncio.wait_for(reader.readline(), within)


async def test_slow_bodies_are_capped_and_time_out_while_jb_is_served(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    settings = test_settings(
        tmp_path, run_delivery=False, body_read_seconds=0.5, max_slow_body_reads=3
    )
    client = await aiohttp_client(create_app(settings))
    await store_demo_settings(client.app)
    server: TestServer = client.server
    port = server.port
    assert port is not None
    slow = []
    for _ in range(3):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(SLOW_HEAD)
        slow.append((reader, writer))
    await asyncio.sleep(0.1)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(SLOW_HEAD)
    assert (await status_line(reader, 0.3)).startswith(b"HTTP/1.1 503"), "over the cap"
    writer.close()
    payload = execute_payload(event_arguments(calendarSubscriptionId=str(uuid.uuid4())))
    resp = await client.post("/execute", data=sign(payload))
    assert (resp.status, (await resp.json())["roktStatus"]) == (200, "queued")
    for reader, writer in slow:
        assert (await status_line(reader, 2.0)).startswith(b"HTTP/1.1 408")
        writer.close()
    # The slots are free again.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(SLOW_HEAD)
    assert (await status_line(reader, 2.0)).startswith(b"HTTP/1.1 408")
    writer.close()


async def test_every_route_refuses_a_compressed_body_with_its_reason(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client = await aiohttp_client(create_app(test_settings(tmp_path, run_delivery=False)))
    for method, path in [("GET", "/api/timezones"), ("POST", "/execute"), ("POST", "/login")]:
        resp = await client.request(
            method, path, data=b"\x1f\x8b" + bytes(30), headers={"Content-Encoding": "gzip"}
        )
        assert resp.status == 415
        assert (await resp.json())["reason"] == "content_encoding"
    identity = await client.post(
        "/api/check", json={"arguments": {}}, headers={"Content-Encoding": "identity"}
    )
    assert identity.status == 200


async def test_forms_must_be_utf8_urlencoded(aiohttp_client: ClientFactory, tmp_path: Path) -> None:
    client = await aiohttp_client(create_app(test_settings(tmp_path, run_delivery=False)))
    form = "application/x-www-form-urlencoded"
    cases = {
        "charset=latin-1": ({"Content-Type": f"{form}; charset=latin-1"}, b"jwt=x", "charset"),
        "not UTF-8": ({"Content-Type": form}, b"jwt=%C3%28", "not UTF-8"),
        "JSON": ({"Content-Type": "application/json"}, b'{"jwt": "x"}', "expected"),
        "too many fields": ({"Content-Type": form}, b"&".join([b"a=1"] * 101), "more than"),
    }
    for case, (headers, body, words) in cases.items():
        resp = await client.post("/login", data=body, headers=headers)
        assert resp.status == 400, case
        answer = await resp.json()
        assert answer["reason"] == "bad_form" and words in answer["error"], case
