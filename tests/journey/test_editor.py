"""The config UI over HTTP: the page, its versioned assets, and the helper endpoints it calls."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from activity import create_app
from activity.admin.settings_service import Actor
from activity.appkeys import ASSET_VERSION, SETTINGS_SERVICE
from activity.devtools.jb import (
    DEFAULT_SUBSCRIPTION_BINDING,
    ENTRY_KEY,
    event_arguments,
    test_settings,
)
from tests.admin_support import admin_client, login

SLDS_CSS = "/static/vendor/slds/styles/salesforce-lightning-design-system.min.css"


async def test_page_links_every_asset_with_the_app_version(client: TestClient) -> None:
    version = client.app[ASSET_VERSION]
    resp = await client.get("/", params={"v": version})
    assert resp.status == 200
    assert resp.content_type == "text/html"
    assert resp.headers["Cache-Control"] == "no-cache"
    html = await resp.text()
    assets = re.findall(r'(?:href|src)="(static/[^"]+)"', html)
    assert {a.split("?")[0] for a in assets} >= {
        SLDS_CSS.lstrip("/"),
        "static/css/editor.css",
        "static/vendor/postmonger/postmonger.js",
        "static/js/editor-args.js",
        "static/js/editor-checks.js",
        "static/js/editor-refresh.js",
        "static/js/editor-zones.js",
        "static/js/editor-inputs.js",
        "static/js/editor.js",
    }
    assert all(a.endswith(f"?v={version}") for a in assets)
    for asset in assets:
        fetched = await client.get("/" + asset)
        assert fetched.status == 200, asset


async def test_page_runs_only_its_own_scripts_and_may_be_framed_by_jb(client: TestClient) -> None:
    csp = (await client.get("/")).headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "object-src 'none'" in csp
    assert csp.endswith(
        "; frame-ancestors https://*.exacttarget.com https://*.marketingcloudapps.com"
    )


async def test_manifest_opens_the_editor_at_the_same_version(client: TestClient) -> None:
    manifest = await (await client.get("/config.json")).json()
    url = manifest["userInterfaces"]["configModal"]["url"]
    assert url == f"https://activity.example.com/?v={client.app[ASSET_VERSION]}"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/js/editor.js", "text/javascript"),
        ("/static/css/editor.css", "text/css"),
        ("/static/icon.svg", "image/svg+xml"),
        ("/static/vendor/postmonger/postmonger.js", "text/javascript"),
        (SLDS_CSS, "text/css"),
        ("/static/vendor/slds/icons/utility-sprite/svg/symbols.svg", "image/svg+xml"),
    ],
)
async def test_versioned_assets_are_cached_for_a_year(
    client: TestClient, path: str, content_type: str
) -> None:
    versioned = await client.get(path, params={"v": "abc123"})
    assert versioned.status == 200
    assert versioned.content_type in (content_type, "application/javascript")
    assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    plain = await client.get(path)
    assert plain.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize(
    "path",
    [
        "/static/../activity/app.py",
        "/static/%2e%2e/activity/app.py",
        "/static/vendor/slds/../../../package.json",
        "/static/vendor/postmonger/package.json",
        "/static/vendor/postmonger/..%2f..%2fpackage-lock.json",
        "/static/index.html",
        "/static/js/missing.js",
        "/static/vendor/unknown/x.js",
    ],
)
async def test_nothing_outside_the_asset_folders_is_served(client: TestClient, path: str) -> None:
    resp = await client.get(path)
    assert resp.status == 404


async def test_time_zones_list_windows_names_with_iana_ids(client: TestClient) -> None:
    resp = await client.get("/api/timezones")
    assert resp.status == 200
    zones = (await resp.json())["zones"]
    by_name = {z["windows"]: z for z in zones}
    assert by_name["Eastern Standard Time"] == {
        "windows": "Eastern Standard Time",
        "iana": "America/New_York",
        "offset": "UTC−05:00",
    }
    assert by_name["India Standard Time"]["offset"] == "UTC+05:30"
    assert len(zones) > 100


async def post(client: TestClient, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    resp = await client.post(path, data=data, headers={"Content-Type": "application/json"})
    return resp.status, await resp.json()


async def test_check_passes_a_complete_configuration(client: TestClient) -> None:
    status, body = await post(client, "/api/check", {"arguments": event_arguments()})
    assert (status, body) == (200, {"ok": True, "problems": []})


async def test_check_names_the_field_of_each_problem(client: TestClient) -> None:
    arguments = event_arguments(
        title="Hi <<Nickname>>",
        start="2026-12-01T10:00",
        end="2026-12-01T09:00",
        timezone="Mars Standard Time",
        calendarSubscriptionId="",
        eventId="",
    )
    status, body = await post(client, "/api/check", {"arguments": arguments})
    assert status == 200
    assert body["ok"] is False
    fields = {p["field"]: p["message"] for p in body["problems"]}
    assert "<<Nickname>>" in fields["title"]
    assert "Mars Standard Time" in fields["timezone"]
    assert fields["eventId"].startswith("eventId is missing")
    assert fields["calendarSubscriptionId"].startswith("calendarSubscriptionId has no source")


async def test_check_flags_end_before_start_and_malformed_dates(client: TestClient) -> None:
    _, body = await post(
        client, "/api/check", {"arguments": event_arguments(end="2026-12-01T08:00")}
    )
    assert [p["field"] for p in body["problems"]] == ["end"]
    assert "before start" in body["problems"][0]["message"]
    _, body = await post(client, "/api/check", {"arguments": event_arguments(start="tomorrow")})
    assert [p["field"] for p in body["problems"]] == ["start"]


async def test_check_accepts_jb_in_arguments_array(client: TestClient) -> None:
    array = [{k: v} for k, v in event_arguments().items()]
    status, body = await post(client, "/api/check", {"arguments": array})
    assert (status, body["ok"]) == (200, True)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "the request body is empty; expected a JSON object"),
        (b"{not json", "the request body is not valid JSON (Expecting property name enclosed"),
        (b"\xff\xfe", "the request body is not UTF-8"),
        (b"[1, 2]", "the request body is an array; expected a JSON object"),
        (b"{}", "arguments is missing"),
        (b'{"arguments": "x"}', "arguments is a str; expected an object or an array"),
        (b'{"arguments": [1]}', "arguments[0] is a int; expected an object"),
        (b'{"arguments": {"title": {"a": 1}}}', "arguments.title is an object; expected a string"),
    ],
)
async def test_malformed_bodies_get_400_with_the_reason(
    client: TestClient, body: bytes, reason: str
) -> None:
    for path in ("/api/check", "/api/preview"):
        status, answer = await post(client, path, body)
        assert status == 400, path
        assert answer["reason"] == "bad_request"
        assert answer["error"].startswith(reason), answer["error"]


async def test_preview_renders_through_the_execute_code_path(client: TestClient) -> None:
    arguments = event_arguments(
        title="Hello <<First Name|friend>>",
        eventScope="contact",
        calendarSubscriptionId=DEFAULT_SUBSCRIPTION_BINDING,
        **{"<<First Name>>": f'{{{{Event.{ENTRY_KEY}."First Name"}}}}'},
    )
    samples = {
        "<<First Name>>": "Jane",
        "calendarSubscriptionId": "3F2504E0-4F89-11D3-9A0C-0305E82C3301",
    }
    body = {"arguments": arguments, "samples": samples, "contactKey": "C-42"}
    status, answer = await post(client, "/api/preview", body)
    assert status == 200
    assert answer["ok"] is True
    assert answer["eventId"] == "summer-sale-2026_C-42"
    assert answer["startUtc"] == "2026-12-01T14:00:00Z"
    assert answer["endUtc"] == "2026-12-01T15:00:00Z"
    event = answer["event"]
    assert event["title"] == "Hello Jane"
    assert (event["timezone"], event["timezoneIanaId"]) == (
        "Eastern Standard Time",
        "America/New_York",
    )
    assert answer["requests"] == [
        {
            "method": "POST",
            "path": "/v1/subscriptionevent/your-account",
            "body": {"event": event, "subscriptionIds": ["3f2504e0-4f89-11d3-9a0c-0305e82c3301"]},
        }
    ]


async def test_preview_uses_the_fallback_for_an_empty_sample(client: TestClient) -> None:
    arguments = event_arguments(
        title="Hello <<First Name|friend>>", **{"<<First Name>>": '{{Event.X."First Name"}}'}
    )
    _, answer = await post(client, "/api/preview", {"arguments": arguments, "samples": {}})
    assert answer["event"]["title"] == "Hello friend"


async def test_preview_of_an_unfinished_configuration_says_why(client: TestClient) -> None:
    status, answer = await post(
        client, "/api/preview", {"arguments": event_arguments(end="2026-11-30T09:00")}
    )
    assert status == 200
    assert answer["ok"] is False
    assert answer["field"] == "end"
    assert "before start" in answer["error"]


async def test_preview_of_cancel_is_a_delete_without_body(client: TestClient) -> None:
    _, answer = await post(client, "/api/preview", {"arguments": event_arguments(action="cancel")})
    assert answer["requests"] == [
        {
            "method": "DELETE",
            "path": "/v1/subscriptionevent/your-account/summer-sale-2026",
            "body": None,
        }
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"arguments": {}, "samples": []}, "samples is an array"),
        ({"arguments": {}, "samples": {"<<A>>": {"x": 1}}}, "samples['<<A>>'] is an object"),
        ({"arguments": {}, "contactKey": 7}, "contactKey is a int"),
    ],
)
async def test_preview_rejects_malformed_samples(
    client: TestClient, body: dict[str, Any], reason: str
) -> None:
    status, answer = await post(client, "/api/preview", body)
    assert status == 400
    assert answer["error"].startswith(reason)


async def test_configured_answers_only_a_signed_in_admin_of_that_business_unit(
    aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path
) -> None:
    app = create_app(test_settings(tmp_path, run_delivery=False))
    stranger = await aiohttp_client(await aiohttp_server(app))
    admin = await admin_client(aiohttp_server, aiohttp_client, stranger.server)
    query = {"mid": "500000001", "eid": "500000000"}
    # A parent's settings stored under the EID as a plain MID, and the child's own.
    await app[SETTINGS_SERVICE].save(
        mid="500000000", account_code="acme", client_id="c", client_secret="s", actor=Actor()
    )
    assert await (await stranger.get("/api/configured", params=query)).json() == {
        "configured": None
    }
    assert (await login(admin, mid="500000001", eid="500000000")).status == 302
    resp = await admin.get("/api/configured", params=query)
    assert (resp.status, await resp.json()) == (200, {"configured": False})
    await app[SETTINGS_SERVICE].save(
        mid="500000001",
        account_code="acme",
        client_id="client-1",
        client_secret="s3cret-value",
        actor=Actor(),
    )
    resp = await admin.get("/api/configured", params=query)
    text = await resp.text()
    assert json.loads(text) == {"configured": True}
    assert resp.headers["Cache-Control"] == "no-store"
    assert "acme" not in text and "client-1" not in text and "s3cret" not in text
    # Nothing about other business units, nor to anyone without a session.
    other = await admin.get("/api/configured", params={"mid": "500000000"})
    assert await other.json() == {"configured": None}
    assert await (await stranger.get("/api/configured", params=query)).json() == {
        "configured": None
    }


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("", "mid is missing"),
        ("mid=abc", "mid is not a number"),
        ("mid=1&eid=1%20OR%201", "eid is not a number"),
    ],
)
async def test_configured_rejects_a_malformed_query(
    client: TestClient, query: str, reason: str
) -> None:
    resp = await client.get(f"/api/configured?{query}")
    assert resp.status == 400
    assert (await resp.json())["error"].startswith(reason)


# --- values that once made a 500 (hostile review item 6) ----------------------------------

OUT_OF_RANGE = {
    "0001-01-01T00:00 in Tokyo": {"start": "0001-01-01T00:00", "timezone": "Tokyo Standard Time"},
    "9999-12-31T23:59 in Pacific": {"end": "9999-12-31T23:59", "timezone": "Pacific Standard Time"},
    "an all-day end of 9999-12-31": {"allDay": True, "start": "9999-12-01", "end": "9999-12-31"},
}


@pytest.mark.parametrize("case", list(OUT_OF_RANGE))
async def test_dates_out_of_range_are_a_problem_of_their_field_not_a_500(
    client: TestClient, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    """A configuration that cannot render is the editor's ordinary answer (preview: ok false
    with the field; check: the field's problem), never an error of the server."""
    arguments = event_arguments(**OUT_OF_RANGE[case])
    field = "start" if "0001" in str(OUT_OF_RANGE[case]) else "end"
    status, answer = await post(client, "/api/preview", {"arguments": arguments})
    assert (status, answer["ok"], answer["field"]) == (200, False, field)
    assert answer["reason"] == "out_of_range"
    assert "expected a date from 0001-01-02 to 9999-12-30" in answer["error"]
    status, answer = await post(client, "/api/check", {"arguments": arguments})
    assert (status, answer["ok"]) == (200, False)
    assert [p["field"] for p in answer["problems"] if "0001-01-02" in p["message"]] == [field]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_deeply_nested_subscription_ids_are_a_problem_not_a_500(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    arguments = event_arguments(calendarSubscriptionId="[" * 5000 + "]" * 5000)
    status, answer = await post(client, "/api/preview", {"arguments": arguments})
    assert (status, answer["ok"], answer["field"]) == (200, False, "calendarSubscriptionId")
    assert "nested too deeply" in answer["error"]
    status, answer = await post(client, "/api/check", {"arguments": arguments})
    assert status == 200
    assert [p["field"] for p in answer["problems"]] == ["calendarSubscriptionId"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"arguments": event_arguments(title="Hi \ud800")}, "'title' contains a lone surrogate"),
        ({"arguments": {**event_arguments(), "<<A\udc00>>": "x"}}, "a lone surrogate (U+DC00)"),
        (
            {"arguments": event_arguments(eventScope="contact"), "contactKey": "k\ud800"},
            "contactKey contains a lone surrogate (U+D800)",
        ),
        ({"arguments": event_arguments(), "samples": {"A": "\udfff"}}, "samples['A'] contains"),
    ],
)
async def test_lone_surrogates_get_400_with_the_field(
    client: TestClient, caplog: pytest.LogCaptureFixture, body: dict[str, Any], fragment: str
) -> None:
    paths = ("/api/preview",) if set(body) - {"arguments"} else ("/api/check", "/api/preview")
    for path in paths:
        status, answer = await post(client, path, body)
        assert (status, answer["reason"]) == (400, "bad_request"), (path, answer)
        assert fragment in answer["error"] and "expected" in answer["error"], answer["error"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
