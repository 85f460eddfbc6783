"""GET /api/rokt/events: the session's business unit's calendar, from the fake Rokt."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from activity import create_app
from activity.admin.settings_service import Actor
from activity.appkeys import SETTINGS_SERVICE
from activity.devtools.fake_rokt import FakeRokt, start_fake_rokt
from activity.devtools.jb import rokt_event, store_demo_settings, test_settings
from tests.admin_support import MID_A, MID_B, ClientFactory, ServerFactory, admin_client, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")


@pytest.fixture
async def rokt() -> AsyncIterator[tuple[FakeRokt, str]]:
    fake, url, runner = await start_fake_rokt()
    fake.calendars.add("acme", "cal-1", "main")
    for n in range(20):
        title = "Winter Gala" if n == 7 else f"Match day {n:02d}"
        fake.events[("acme", f"ev-{n:02d}")] = rokt_event(
            f"ev-{n:02d}",
            title=title,
            start=f"2026-12-{n + 1:02d}T18:00:00",
            end=f"2026-12-{n + 1:02d}T20:00:00",
        )
    yield fake, url
    await runner.cleanup()


@pytest.fixture
async def admin(
    tmp_path: Path,
    aiohttp_server: ServerFactory,
    aiohttp_client: ClientFactory,
    rokt: tuple[FakeRokt, str],
) -> TestClient:
    app = create_app(test_settings(tmp_path, rokt_api_url=rokt[1], run_delivery=False))
    server = await aiohttp_server(app)
    await store_demo_settings(app, MID_A, calendar_ids=("cal-1",))
    client = await admin_client(aiohttp_server, aiohttp_client, server)
    await signed_in(client, mid=MID_A)
    return client


async def test_events_are_searched_and_paged_and_cached(
    admin: TestClient, rokt: tuple[FakeRokt, str]
) -> None:
    fake = rokt[0]
    first = await (await admin.get(f"/api/rokt/events?mid={MID_A}")).json()
    assert first["ok"] is True and first["accountCode"] == "acme"
    assert (first["total"], first["pages"], first["page"]) == (20, 3, 1)
    assert [e["id"] for e in first["events"]] == [f"ev-{n:02d}" for n in range(8)]
    gala = first["events"][7]
    assert gala == {
        "id": "ev-07",
        "title": "Winter Gala",
        "description": "Offers",
        "location": "https://shop.example.com",
        "timezone": "Eastern Standard Time",
        "timezoneIanaId": "America/New_York",
        "start": "2026-12-08T18:00:00",
        "end": "2026-12-08T20:00:00",
        "notifyBefore": 15,
    }
    last = await (await admin.get("/api/rokt/events?page=3")).json()
    assert [e["id"] for e in last["events"]] == [f"ev-{n:02d}" for n in range(16, 20)]
    found = await (await admin.get("/api/rokt/events?q=winter%20GALA")).json()
    assert [e["id"] for e in found["events"]] == ["ev-07"]
    # One read of the calendar (one page of up to 100) served all three, within the TTL.
    listed = fake.calls("calendar_events")
    assert len(listed) == 1 and listed[0].query == {"pageNumber": "1", "pageSize": "100"}
    assert "access_token" not in str(first) and "Bearer" not in str(first)


async def test_what_is_missing_is_said_and_nothing_fails(
    admin: TestClient, aiohttp_client: ClientFactory, rokt: tuple[FakeRokt, str]
) -> None:
    anonymous = await aiohttp_client(admin.server)
    answer = await (await anonymous.get("/api/rokt/events")).json()
    assert (answer["ok"], answer["reason"]) == (False, "not_signed_in")
    other = await (await admin.get(f"/api/rokt/events?mid={MID_B}")).json()
    assert other["reason"] == "other_business_unit"
    assert f"signed in to business unit {MID_A}" in other["message"]
    await admin.app[SETTINGS_SERVICE].save(
        mid=MID_A,
        account_code="acme",
        client_id="demo-client",
        client_secret=None,
        calendar_ids=(),
        actor=Actor(),
    )
    none = await (await admin.get("/api/rokt/events")).json()
    assert none["reason"] == "no_calendar" and "Rokt calendar IDs" in none["message"]
    await admin.app[SETTINGS_SERVICE].save(
        mid=MID_A,
        account_code="acme",
        client_id="demo-client",
        client_secret=None,
        calendar_ids=("nope",),
        actor=Actor(),
    )
    unknown = await (await admin.get("/api/rokt/events")).json()
    assert unknown["reason"] == "rokt" and "does not know calendar nope" in unknown["message"]
    rokt[0].script("calendar_events", [503])
    await admin.app[SETTINGS_SERVICE].save(
        mid=MID_A,
        account_code="acme",
        client_id="demo-client",
        client_secret=None,
        calendar_ids=("cal-2",),
        actor=Actor(),
    )
    down = await (await admin.get("/api/rokt/events")).json()
    assert down["reason"] == "rokt" and "cannot be reached" in down["message"]


@pytest.mark.parametrize(
    "query",
    [
        "page=-5",
        "page=99999999999999999999999",
        "page=" + "9" * 5000,
        "q=%ED%A0%80",
        "q=" + "x" * 4000,
        "q=%00",
        "mid=%ED%A0%80",
        "mid=" + "1" * 40,
    ],
)
async def test_hostile_queries_get_an_answer_never_a_500(admin: TestClient, query: str) -> None:
    resp = await admin.get(f"/api/rokt/events?{query}")
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["ok"] is True or body["reason"] == "other_business_unit"


async def test_an_unknown_calendar_parameter_is_a_400(admin: TestClient) -> None:
    resp = await admin.get("/api/rokt/events?calendar=%00other")
    assert resp.status == 400
    assert (await resp.json())["reason"] == "bad_request"
