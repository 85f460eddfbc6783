"""The fake Rokt's calendar listing and subscription deactivation, over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import pytest

from activity.devtools.fake_rokt import FakeRokt, start_fake_rokt
from activity.devtools.jb import rokt_event

ACCOUNT = "acme"


@pytest.fixture
async def rokt() -> AsyncIterator[tuple[FakeRokt, str, aiohttp.ClientSession, str]]:
    fake, url, runner = await start_fake_rokt(client_id="cid", client_secret="csecret")
    fake.calendars.add(ACCOUNT, "cal-1", "main-calendar")
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{url}/oauth2/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": aiohttp.encode_basic_auth("cid", "csecret")},
        ) as resp:
            token = str((await resp.json())["access_token"])
        yield fake, url, http, token
    await runner.cleanup()


async def call(
    http: aiohttp.ClientSession, method: str, url: str, token: str, body: Any = None
) -> tuple[int, Any]:
    headers: Mapping[str, str] = {"Authorization": f"Bearer {token}"}
    async with http.request(method, url, json=body, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_events_are_listed_page_by_page_in_the_reference_shape(
    rokt: tuple[FakeRokt, str, aiohttp.ClientSession, str],
) -> None:
    fake, url, http, token = rokt
    for n in range(5):
        fake.events[(ACCOUNT, f"ev-{n}")] = rokt_event(
            f"ev-{n}", title=f"Event {n}", start=f"2026-12-0{n + 1}T09:00:00"
        )
    fake.events[("other", "foreign")] = rokt_event("foreign")
    base = f"{url}/v1/{ACCOUNT}/calendars/cal-1/events"
    status, page2 = await call(http, "GET", f"{base}?pageNumber=2&pageSize=2", token)
    assert status == 200 and page2["success"] is True and page2["errors"] == []
    result = page2["result"]
    assert (result["totalResults"], result["pageNumber"], result["pageSize"]) == (5, 2, 2)
    assert result["totalPages"] == 3
    assert [e["id"] for e in result["data"]] == ["ev-2", "ev-3"]
    first = result["data"][0]
    assert first["title"] == "Event 2"
    assert first["timezoneBclId"] == "Eastern Standard Time"
    assert first["timezoneIanaId"] == "America/New_York"
    assert first["startDateTimeLocal"] == "2026-12-03T09:00:00"
    assert first["startDateTimeUtc"] == "2026-12-03T14:00:00.000Z"
    assert first["reminderMinutes"] == 15
    _, last = await call(http, "GET", f"{base}?pageNumber=3&pageSize=2", token)
    assert [e["id"] for e in last["result"]["data"]] == ["ev-4"]


@pytest.mark.parametrize(
    ("query", "status"),
    [("pageNumber=0", 400), ("pageSize=0", 400), ("pageSize=x", 400), ("", 200)],
)
async def test_paging_parameters_are_checked(
    rokt: tuple[FakeRokt, str, aiohttp.ClientSession, str], query: str, status: int
) -> None:
    _, url, http, token = rokt
    answer, _ = await call(http, "GET", f"{url}/v1/{ACCOUNT}/calendars/cal-1/events?{query}", token)
    assert answer == status


async def test_an_unknown_calendar_is_404_and_a_missing_token_401(
    rokt: tuple[FakeRokt, str, aiohttp.ClientSession, str],
) -> None:
    _, url, http, token = rokt
    status, _ = await call(http, "GET", f"{url}/v1/{ACCOUNT}/calendars/nope/events", token)
    assert status == 404
    status, _ = await call(http, "GET", f"{url}/v1/{ACCOUNT}/calendars/cal-1/events", "bad")
    assert status == 401


async def test_unsubscribe_deactivates_the_subscription_and_takes_its_events(
    rokt: tuple[FakeRokt, str, aiohttp.ClientSession, str],
) -> None:
    fake, url, http, token = rokt
    sub, other = str(uuid.uuid4()), str(uuid.uuid4())
    fake.events[(ACCOUNT, "ev")] = rokt_event("ev")
    fake.holders[(ACCOUNT, "ev")] = {sub, other}
    body = {"id": sub, "unsubscribeReasonId": None, "unsubscribeReasonText": "journey"}
    status, _ = await call(
        http, "DELETE", f"{url}/v1/subscription/{ACCOUNT}/main-calendar", token, body
    )
    assert status == 202
    assert fake.holders[(ACCOUNT, "ev")] == {other}
    assert [
        (d.subscription_id, d.calendar_code, d.reason_text) for d in fake.calendars.deactivations
    ] == [(sub, "main-calendar", "journey")]
    assert fake.calls("unsubscribe")[0].json == body
    _, details = await call(http, "GET", f"{url}/v1/subscription/{sub}", token)
    assert details["isActive"] is False


@pytest.mark.parametrize(
    ("code", "body", "reason"),
    [
        ("main-calendar", None, "a JSON object body is required"),
        ("main-calendar", {}, "id or userName is required"),
        ("main-calendar", {"id": "not-a-guid"}, "is not a GUID"),
        ("main-calendar", {"id": str(uuid.uuid4()), "subscriptionId": "x"}, "unknown field"),
        ("main-calendar", {"id": str(uuid.uuid4()), "unsubscribeReasonId": "1"}, "integer"),
        ("main-calendar", {"userName": 5}, "userName must be a string"),
        ("other-calendar", {"id": str(uuid.uuid4())}, "calendar other-calendar not found"),
    ],
)
async def test_unsubscribe_is_strict_about_its_body(
    rokt: tuple[FakeRokt, str, aiohttp.ClientSession, str],
    code: str,
    body: Any,
    reason: str,
) -> None:
    fake, url, http, token = rokt
    status, answer = await call(
        http, "DELETE", f"{url}/v1/subscription/{ACCOUNT}/{code}", token, body
    )
    assert status == 400
    assert reason in answer["message"]
    assert fake.calendars.deactivations == []


async def test_a_calendar_for_any_account_serves_every_account(
    rokt: tuple[FakeRokt, str, aiohttp.ClientSession, str],
) -> None:
    from activity.devtools.fake_rokt.calendar_book import ANY_ACCOUNT

    fake, url, http, token = rokt
    fake.calendars.add(ANY_ACCOUNT, "demo-calendar", "demo")
    fake.events[("globex", "g1")] = rokt_event("g1")
    status, listing = await call(
        http, "GET", f"{url}/v1/globex/calendars/demo-calendar/events", token
    )
    assert status == 200 and [e["id"] for e in listing["result"]["data"]] == ["g1"]
    body = {"id": str(uuid.uuid4())}
    status, _ = await call(http, "DELETE", f"{url}/v1/subscription/globex/demo", token, body)
    assert status == 202
