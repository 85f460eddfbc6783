"""The fake Marketing Cloud's async rows API, through our own rows client."""

from __future__ import annotations

import aiohttp
import pytest

from activity.devtools.fake_sfmc import Failure, FakeSfmc
from activity.sfmc import rows_api, soap
from activity.sfmc.data_extension import BOOLEAN, EMAIL, TEXT, Field
from activity.sfmc.rows_api import RowsRejected, SfmcRetryLater
from activity.sfmc.tokens import Access, SfmcUnauthorized
from tests.sfmc_support import access_for

KEY = "RowsTest"
FIELDS = [
    Field("CalendarSubscriptionId", TEXT, 36),
    Field("Email", EMAIL, 254),
    Field("optIn1", BOOLEAN),
    Field("Note", TEXT, 5),
]


async def _installed(http: aiohttp.ClientSession, url: str) -> Access:
    access = await access_for(http, url)
    body = soap.create_data_extension(KEY, "Rows test", FIELDS)
    assert (await soap.call(http, access, "Create", body, "CreateResponse")).overall_status == "OK"
    return access


async def _rows(http: aiohttp.ClientSession, url: str) -> list[dict[str, object]]:
    async with http.get(f"{url}/__fake/dataextensions/{KEY}/rows") as resp:
        return list((await resp.json())["rows"])


async def test_upserts_by_primary_key_and_reports_refused_rows(
    http: aiohttp.ClientSession, sfmc: tuple[FakeSfmc, str]
) -> None:
    _, url = sfmc
    access = await _installed(http, url)
    rows = [
        {"CalendarSubscriptionId": "a", "Email": "a@x.co", "optIn1": True},
        {"CalendarSubscriptionId": "b", "Note": "too long"},
        {"CalendarSubscriptionId": "c", "Email": "nope"},
        {"CalendarSubscriptionId": "d", "Unknown": 1},
        {"Email": "nokey@x.co"},
    ]
    request_id = await rows_api.upsert(http, access, KEY, rows)
    assert await rows_api.wait(http, access, request_id, delays=(0.0,)) is True
    errors = await rows_api.row_errors(http, access, request_id)
    assert [e.subscription_id for e in errors] == ["b", "c", "d", ""]
    assert "longer than 5" in errors[0].message and "not a valid email" in errors[1].message
    assert "does not exist" in errors[2].message and "is required" in errors[3].message
    # The good row is there; an upsert of the same key changes it, never adds a second row.
    request_id = await rows_api.upsert(
        http, access, KEY, [{"CalendarSubscriptionId": "A", "optIn1": False}]
    )
    assert await rows_api.wait(http, access, request_id, delays=(0.0,)) is False
    assert await _rows(http, url) == [
        {"CalendarSubscriptionId": "A", "Email": "a@x.co", "optIn1": False}
    ]


async def test_failures_map_to_retry_reject_and_unauthorized(
    http: aiohttp.ClientSession, sfmc: tuple[FakeSfmc, str]
) -> None:
    fake, url = sfmc
    access = await _installed(http, url)
    row = [{"CalendarSubscriptionId": "a"}]
    # A dropped connection twice: aiohttp itself resends an idempotent PUT once.
    dropped = [Failure(0), Failure(0)]
    fake.fail("rows", [Failure(429), Failure(503), *dropped, Failure(400, {"message": "Bad"})])
    for _ in range(3):
        with pytest.raises(SfmcRetryLater):
            await rows_api.upsert(http, access, KEY, row)
    with pytest.raises(RowsRejected, match="Bad"):
        await rows_api.upsert(http, access, KEY, row)
    with pytest.raises(RowsRejected, match="items must be a non-empty array"):
        await rows_api.upsert(http, access, KEY, [])
    with pytest.raises(RowsRejected, match="was not found"):
        await rows_api.upsert(http, access, "NoSuchKey", row)
    fake.expire_access_tokens()
    with pytest.raises(SfmcUnauthorized):
        await rows_api.upsert(http, access, KEY, row)


async def test_a_request_still_pending_after_the_polls_is_retried_later(
    http: aiohttp.ClientSession, sfmc: tuple[FakeSfmc, str]
) -> None:
    fake, url = sfmc
    access = await _installed(http, url)
    request_id = await rows_api.upsert(http, access, KEY, [{"CalendarSubscriptionId": "a"}])
    fake.fail("rows_status", [Failure(200, {"status": {"requestStatus": "Pending"}})] * 2)
    with pytest.raises(SfmcRetryLater, match="still pending"):
        await rows_api.wait(http, access, request_id, delays=(0.0, 0.01))
    assert await rows_api.wait(http, access, request_id, delays=(0.0,)) is False


async def test_calls_need_their_scope(
    http: aiohttp.ClientSession, sfmc: tuple[FakeSfmc, str]
) -> None:
    # Marketing Cloud checks each call against the token's scopes: rows need
    # data_extensions_write, a journey journeys_read (403 without).
    from activity.sfmc import oauth

    _fake, url = sfmc
    read_only = await oauth.client_credentials(
        http, url, client_id="sfmc-cid", client_secret="sfmc-csecret", account_id="100000001",
        scope="data_extensions_read",
    )  # fmt: skip
    headers = {"Authorization": f"Bearer {read_only.access_token}"}
    rows = f"{url}/data/v1/async/dataextensions/key:RoktCalendarSubscription/rows"
    async with http.put(rows, json={"items": [{"a": 1}]}, headers=headers) as resp:
        assert resp.status == 403
        assert "Insufficient privileges" in (await resp.json())["message"]
    async with http.get(f"{url}/interaction/v1/interactions/j-1", headers=headers) as resp:
        assert resp.status == 403


async def test_a_request_is_visible_only_to_its_own_business_unit(
    http: aiohttp.ClientSession, sfmc: tuple[FakeSfmc, str]
) -> None:
    _fake, url = sfmc
    mine = await access_for(http, url, "100000001")
    body = soap.create_data_extension("RoktCalendarSubscription", "Calendar Subscription",
                                      [Field("CalendarSubscriptionId", TEXT, 36)])  # fmt: skip
    assert (await soap.call(http, mine, "Create", body, "CreateResponse")).results
    row = {"CalendarSubscriptionId": "0b6c1f7e-3c1d-4f5e-9a8b-1c2d3e4f5a6b"}
    request_id = await rows_api.upsert(http, mine, "RoktCalendarSubscription", [row])
    theirs = await access_for(http, url, "100000002")
    for path in (f"data/v1/async/{request_id}/status", f"data/v1/async/{request_id}/results"):
        headers = {"Authorization": f"Bearer {theirs.token}"}
        async with http.get(f"{url}/{path}", headers=headers) as resp:
            assert resp.status == 404, path
        headers = {"Authorization": f"Bearer {mine.token}"}
        async with http.get(f"{url}/{path}", headers=headers) as resp:
            assert resp.status == 200, path
