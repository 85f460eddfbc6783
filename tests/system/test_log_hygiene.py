"""No secret, token or JWT in any log line.

The attack and fault suites search every record they capture (tests/log_scan.py). Here the
real `rokt-activity serve` process meets the same attacks and faults, and its stderr, every
line of it, is searched; the lines must also be JSON objects carrying their ids.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.fernet import Fernet
from yarl import URL

from activity.admin.sessions import COOKIE_NAME
from activity.devtools.fake_rokt import FakeRokt, running_fake_rokt
from activity.devtools.jb import (
    TEST_SECRET,
    event_arguments,
    execute_payload,
    lifecycle_payload,
    sign,
)
from activity.ops.logs import JsonFormatter
from tests.admin_support import MID_A, csrf_from, login_token
from tests.log_scan import JWT, Watch, assert_clean, leaks, record_lines
from tests.scrape import AUTH, TOKEN, samples, value
from tests.service_process import Service
from tests.system.test_attacks import (
    ALGORITHM_CONFUSION,
    OTHER_SECRETS,
    PADDINGS,
    claims_for,
    hmac_token,
)

CLIENT_SECRET = "hygiene-rokt-client-secret-5c1e77"


# --- the scanner itself ---------------------------------------------------------------------


def _record(msg: str, *args: Any, **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


@pytest.mark.parametrize(
    "record",
    [
        _record("token %s", sign({"a": 1}).decode()),
        _record("plain", reason=f"secret is {TEST_SECRET}"),
        _record("cookie gAAAAABl0123456789abcdefghijklmnop"),
        _record("unsigned eyJhbGciOiJub25lIn0.e30."),
    ],
)
def test_the_scanner_finds_what_it_looks_for(record: logging.LogRecord) -> None:
    assert leaks(record_lines([record]), {TEST_SECRET})


def test_the_scanner_passes_ordinary_lines() -> None:
    ordinary = [_record("execute rejected", reason="bad_signature", request_id=uuid.uuid4().hex)]
    assert leaks(record_lines(ordinary), {TEST_SECRET}) == []
    assert JsonFormatter().format(ordinary[0]).startswith("{")


# --- the real service -----------------------------------------------------------------------


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Service, FakeRokt, Watch]]:
    async with running_fake_rokt(client_secret=CLIENT_SECRET, token_ttl=60) as (fake, rokt_url):
        key = Fernet.generate_key().decode()
        service = Service(
            rokt_url,
            database_url=f"sqlite:///{tmp_path / 'hygiene.db'}",
            encryption_key=key,
            ACTIVITY_METRICS_TOKEN=TOKEN,
        )
        watch = Watch({TEST_SECRET, CLIENT_SECRET, TOKEN, key})
        watch.fakes.append(fake)
        try:
            yield service, fake, watch
        finally:
            await service.stop()


async def attack(http: aiohttp.ClientSession, url: str, watch: Watch) -> None:
    for route in ("/execute", "/publish", "/login"):
        claims = claims_for(route)
        tokens = [forge(claims) for forge, _ in ALGORITHM_CONFUSION.values()]
        tokens += [jwt_for(claims, secret) for secret in OTHER_SECRETS.values()]
        tokens += [pad(sign(claims).decode()) for pad in PADDINGS.values()]
        for token in tokens:
            if route == "/login":
                async with http.post(f"{url}/login", data={"jwt": token}) as resp:
                    assert resp.status == 401
            else:
                async with http.post(f"{url}{route}", data=token.encode()) as resp:
                    assert resp.status == 401
    # A JWT-shaped request id is replaced, never logged.
    headers = {"X-Request-Id": "eyJhbGciOiJub25lIn0.e30."}
    async with http.post(f"{url}/publish", data=b"x", headers=headers) as resp:
        assert resp.headers["X-Request-Id"] != headers["X-Request-Id"]
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        async with http.get(f"{url}/metrics", headers=headers) as resp:
            assert resp.status == 401


def jwt_for(claims: dict[str, Any], secret: str) -> str:
    return hmac_token({"alg": "HS256", "typ": "JWT"}, claims, secret.encode())


async def admin(http: aiohttp.ClientSession, url: str, watch: Watch) -> None:
    token = login_token()
    async with http.post(f"{url}/login", data={"jwt": token}) as resp:
        assert resp.status == 200  # redirected to /settings
        csrf = csrf_from(await resp.text())
    cookie = http.cookie_jar.filter_cookies(URL(url))[COOKIE_NAME].value
    watch.add(csrf, cookie)
    form = {
        "csrf_token": csrf,
        "account_code": "acct",
        "client_id": "demo-client",
        "client_secret": CLIENT_SECRET,
    }
    async with http.post(f"{url}/settings", data=form) as resp:
        assert resp.status == 200 and "Settings saved." in await resp.text()
    async with http.post(f"{url}/settings", data={**form, "csrf_token": ""}) as resp:
        assert resp.status == 403
    async with http.post(f"{url}/settings/test", data={**form, "client_secret": ""}) as resp:
        assert resp.status == 200
    async with http.get(f"{url}/settings/deliveries") as resp:
        assert resp.status == 200


async def faults(http: aiohttp.ClientSession, url: str, fake: FakeRokt, watch: Watch) -> int:
    """Contacts through a token outage, a 5xx, a 429, a 401 and a rejected subscription."""
    bad = str(uuid.uuid4())
    fake.reject_subscriptions(bad, reason="subscription deactivated")
    fake.token_endpoint_down = True
    subs = [str(uuid.uuid4()) for _ in range(11)] + [bad]
    for i, sub in enumerate(subs):
        args = event_arguments(mid=MID_A, eid="", calendarSubscriptionId=sub)
        payload = execute_payload(args, contact_key=f"H{i}", journey_id=f"journey-{i % 2}")
        async with http.post(f"{url}/execute", data=sign(payload)) as resp:
            assert (await resp.json())["roktStatus"] == "queued"
    invalid = execute_payload(event_arguments(mid=MID_A, start="soon"), journey_id="journey-x")
    async with http.post(f"{url}/execute", data=sign(invalid)) as resp:
        assert (await resp.json())["roktStatus"] == "invalid"
    async with http.post(f"{url}/publish", data=sign(lifecycle_payload())) as resp:
        assert resp.status == 200
    await until(lambda: bool(fake.calls("token", 503)))
    fake.script("create", [503])
    fake.script("create", [429], retry_after=1)
    fake.token_endpoint_down = False
    await until(lambda: bool(fake.calls("create", 202)))
    watch.remember_tokens()
    fake.expire_tokens()
    return len(subs)


async def until(predicate: Any, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_the_served_process_logs_json_with_ids_and_never_a_secret(
    served: tuple[Service, FakeRokt, Watch],
) -> None:
    service, fake, watch = served
    await service.cli(
        "settings",
        "set",
        "--mid",
        MID_A,
        "--account-code",
        "acct",
        "--client-id",
        "demo-client",
        ROKT_CLIENT_SECRET=CLIENT_SECRET,
    )
    await service.start()
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=service.url)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        await attack(http, service.url, watch)
        await admin(http, service.url, watch)
        expected = await faults(http, service.url, fake, watch)
        deadline = time.monotonic() + 40
        while True:
            async with http.get(f"{service.url}/metrics", headers=AUTH) as resp:
                found = samples(await resp.text())
            done = sum(
                value(found, "activity_deliveries_total", outcome=o) for o in ("sent", "dead")
            )
            if done >= expected and value(found, "activity_outbox_depth") == 0:
                break
            assert time.monotonic() < deadline, found
            await asyncio.sleep(0.2)
    await service.stop()

    lines = [line for line in service.lines if line.strip()]
    assert len(lines) > 50
    assert_clean(lines, watch.all_secrets())
    assert not any(JWT.search(line) for line in lines)
    assert_clean(service.cli_output, watch.all_secrets())
    assert [line for line in lines if not line.startswith("{")] == [], "one JSON object a line"
    entries = [json.loads(line) for line in lines]
    by_msg: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        assert {"ts", "level", "logger", "msg"} <= set(entry)
        by_msg.setdefault(entry["msg"].split(":")[0], []).append(entry)

    def carry(msg: str, *fields: str) -> None:
        assert by_msg.get(msg), (msg, sorted(by_msg))
        for entry in by_msg[msg]:
            assert all(entry.get(f) for f in fields), (msg, entry)

    carry("execute rejected", "request_id", "reason")
    carry("lifecycle call", "request_id", "journey_id", "activity_id", "route")
    carry("contact invalid", "request_id", "journey_id", "activity_id", "reason")
    carry("Rokt delivery gave up", "journey_id", "activity_id", "reason", "mid")
    retried = [e for e in entries if e["msg"].startswith("Rokt delivery will be retried")]
    assert retried and all(e.get("journey_id") and e.get("activity_id") for e in retried)
    carry("sso login", "request_id", "mid")
    carry("settings saved", "request_id", "mid")
    carry("metrics scrape refused", "request_id", "reason")
    assert not re.search(r'"level": "(error|critical)"', "\n".join(lines))
