"""GET /running/stats and POST /running/retry over HTTP: session, scope, CSRF, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from activity import create_app
from activity.appkeys import STORE
from activity.devtools.jb import (
    event_arguments,
    execute_payload,
    sign,
    store_demo_settings,
    test_settings,
)
from activity.storage.models import Answer, NewItem
from tests.admin_support import MID_A, MID_B, ClientFactory, ServerFactory, admin_client, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")

ACTIVITY = "2ad157c6-d111-4124-b996-4a3a48b2b168"


def item(n: int, mid: str) -> NewItem:
    return NewItem(
        mid=mid,
        account_code="acme",
        action="create",
        batch_key="b",
        payload={"eventId": "e"},
        subscription_ids=(f"3f2504e0-4f89-11d3-9a0c-0305e82c33{n:02d}",),
        event_id="e",
        journey_id="j",
        activity_id=ACTIVITY,
        definition_instance_id=f"i{n}",
        contact_key=f"c{n}",
    )


@pytest.fixture
async def admins(
    tmp_path: Path, aiohttp_server: ServerFactory, aiohttp_client: ClientFactory
) -> tuple[TestClient, TestClient, str]:
    app = create_app(test_settings(tmp_path, run_delivery=False))
    server = await aiohttp_server(app)
    store = app[STORE]
    for n, mid in enumerate([MID_A, MID_A, MID_B]):
        await store.accept(ACTIVITY, f"i{n}", Answer(200, {}), [item(n, mid)], 1.0)
    claimed = await store.claim("w", 2.0, 60.0, 10)
    await store.mark_dead([i.id for i in claimed], 3.0, "rejected: Rokt answered HTTP 400: nope")
    a = await admin_client(aiohttp_server, aiohttp_client, server)
    b = await admin_client(aiohttp_server, aiohttp_client, server)
    csrf = await signed_in(a, mid=MID_A)
    await signed_in(b, mid=MID_B)
    return a, b, csrf


async def test_stats_need_a_session_and_cover_only_its_business_unit(
    admins: tuple[TestClient, TestClient, str], aiohttp_client: ClientFactory
) -> None:
    a, b, _ = admins
    anonymous = await aiohttp_client(a.server)
    resp = await anonymous.get(f"/running/stats?activityId={ACTIVITY}")
    assert resp.status == 401
    assert (await resp.json())["reason"] == "not_signed_in"
    mine = await (await a.get(f"/running/stats?activityId={ACTIVITY}&dead=1")).json()
    theirs = await (await b.get(f"/running/stats?activityId={ACTIVITY}")).json()
    assert (mine["counts"]["dead"], theirs["counts"]["dead"]) == (2, 1)
    assert [d["contactKey"] for d in mine["dead"]] == ["c1", "c0"]
    assert mine["deadReasons"] == [{"reason": "rejected: Rokt answered HTTP 400: nope", "count": 2}]
    assert "dead" not in theirs


@pytest.mark.parametrize(
    "query", ["", "?activityId=", "?activityId=a%20b", "?activityId=" + "x" * 129]
)
async def test_a_missing_or_malformed_activity_id_is_400(
    admins: tuple[TestClient, TestClient, str], query: str
) -> None:
    resp = await admins[0].get(f"/running/stats{query}")
    assert resp.status == 400
    assert (await resp.json())["error"] == "activityId is missing or malformed"


async def test_retry_needs_the_csrf_header_and_requeues_only_the_sessions_items(
    admins: tuple[TestClient, TestClient, str],
) -> None:
    a, b, csrf = admins
    body = {"activityId": ACTIVITY}
    assert (await a.post("/running/retry", json=body)).status == 403
    assert (await a.post("/running/retry", json=body, headers={"X-CSRF-Token": "x"})).status == 403
    for junk in (b"{", b"[" * 100_000, b"\xff\xfe", b'"x"', b'{"activityId": "a b"}'):
        bad = await a.post("/running/retry", data=junk, headers={"X-CSRF-Token": csrf})
        assert bad.status == 400, junk[:10]
    resp = await a.post("/running/retry", json=body, headers={"X-CSRF-Token": csrf})
    assert resp.status == 200 and await resp.json() == {"requeued": 2}
    again = await a.post("/running/retry", json=body, headers={"X-CSRF-Token": csrf})
    assert await again.json() == {"requeued": 0}
    mine = await (await a.get(f"/running/stats?activityId={ACTIVITY}")).json()
    theirs = await (await b.get(f"/running/stats?activityId={ACTIVITY}")).json()
    assert (mine["counts"]["dead"], mine["counts"]["queued"]) == (0, 2)
    assert theirs["counts"]["dead"] == 1
    audit = await a.app[STORE].audit_log(MID_A)
    assert [(e.action, e.detail) for e in audit] == [
        ("retry_dead", f"re-queued dead items of {ACTIVITY}")
    ]


async def test_a_subscribe_activity_counts_its_subscribed_contacts_apart_from_skipped(
    admins: tuple[TestClient, TestClient, str],
) -> None:
    a, _, _ = admins
    store = a.server.app[STORE]
    subscribed = {"roktStatus": "subscribed", "roktSubscriptionId": "x", "roktSubscriptionUrl": "y"}
    for n in range(2):
        await store.accept(ACTIVITY, f"s{n}", Answer(200, subscribed), [], 1.0, mid=MID_A)
    await store.accept(ACTIVITY, "bad", Answer(200, {"roktStatus": "invalid"}), [], 1.0, mid=MID_A)
    stats = await (await a.get(f"/running/stats?activityId={ACTIVITY}")).json()
    assert stats["counts"]["subscribed"] == 2
    assert stats["counts"]["skipped"] == 1
    assert [s["status"] for s in stats["skipped"]] == ["invalid"]


@pytest.mark.parametrize(
    "query", ["activityId=%ED%A0%80", "activityId=%00", "activityId=a&dead=%ED%A0%80", "dead=1"]
)
async def test_hostile_stats_queries_are_400_or_answered(
    admins: tuple[TestClient, TestClient, str], query: str
) -> None:
    resp = await admins[0].get(f"/running/stats?{query}")
    assert resp.status in (200, 400)
    assert "error" in await resp.json() or resp.status == 200


@pytest.mark.parametrize("charset", ["foo", "utf-7", "utf-16", '"'])
async def test_retry_reads_its_json_as_utf8_whatever_charset_is_declared(
    admins: tuple[TestClient, TestClient, str], charset: str
) -> None:
    # JSON is UTF-8 (RFC 8259 section 8.1): a declared charset Python does not know was a
    # 500 with a traceback; one it knows (UTF-7) must not change how the body is read.
    a, _, csrf = admins
    headers = {"X-CSRF-Token": csrf, "Content-Type": f"application/json; charset={charset}"}
    body = f'{{"activityId": "{ACTIVITY}"}}'.encode()
    resp = await a.post("/running/retry", data=body, headers=headers)
    assert resp.status == 200 and (await resp.json())["requeued"] in (0, 2)
    utf7 = b'{"activityId": "+ACI-}'  # UTF-7 for '{"activityId": ""}' and more
    resp = await a.post("/running/retry", data=utf7, headers=headers)
    assert resp.status == 400


async def test_an_admin_of_one_business_unit_sees_nothing_of_anothers_activity(
    admins: tuple[TestClient, TestClient, str],
) -> None:
    """Business unit B's journey answers JB (queued, no subscription, invalid, and a call
    naming no usable MID); A's admin asking for B's activity id sees zero everywhere."""
    a, b, _ = admins
    await store_demo_settings(b.server.app, MID_B)
    theirs = "7d3c1f0e-0b7e-4f7a-9d53-0c6c1b3a9e11"
    calls = [
        event_arguments(mid=MID_B, eid=""),
        event_arguments(mid=MID_B, eid="", calendarSubscriptionId=""),
        event_arguments(mid=MID_B, eid="", start="not a date"),
        event_arguments(mid="x" * 200, eid="", start="not a date"),
    ]
    for args in calls:
        resp = await b.post(
            "/execute",
            data=sign(execute_payload(args, activity_id=theirs)),
            headers={"Content-Type": "application/jwt"},
        )
        assert resp.status == 200, await resp.text()
    owner = await (await b.get(f"/running/stats?activityId={theirs}")).json()
    assert owner["counts"]["queued"] == 1
    assert {s["status"]: s["count"] for s in owner["skipped"]} == {
        "skipped_no_subscription": 1,
        "invalid": 1,  # the call naming no usable MID is counted for nobody
    }
    other = await (await a.get(f"/running/stats?activityId={theirs}&dead=1")).json()
    assert other["businessUnit"] == MID_A
    assert set(other["counts"].values()) == {0}
    assert (other["skipped"], other["dead"], other["deadReasons"]) == ([], [], [])
    assert (other["lastError"], other["lastSentAt"], other["nextAttemptAt"]) == ("", None, None)
