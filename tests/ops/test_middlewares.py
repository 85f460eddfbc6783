from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from activity import create_app
from activity.devtools.jb import lifecycle_payload, sign, test_settings
from activity.ops.middlewares import FRAME_ANCESTORS


async def test_every_response_allows_framing_only_by_sfmc(client: TestClient) -> None:
    responses = [
        await client.get("/config.json"),
        await client.get("/healthz"),
        await client.post("/save", data=sign(lifecycle_payload())),
        await client.post("/save", data=b"nope"),
        await client.get("/no-such-page"),
    ]
    for resp in responses:
        csp = resp.headers["Content-Security-Policy"]
        assert csp.endswith(
            "; frame-ancestors https://*.exacttarget.com https://*.marketingcloudapps.com"
        )
        assert "script-src 'self'" in csp and "object-src 'none'" in csp
        assert "X-Frame-Options" not in resp.headers
    assert responses[-1].status == 404


def test_frame_ancestors_names_nothing_else() -> None:
    sources = FRAME_ANCESTORS.split()[1:]
    assert sources == ["https://*.exacttarget.com", "https://*.marketingcloudapps.com"]


async def test_oversized_body_gets_413(client: TestClient) -> None:
    resp = await client.post("/execute", data=b"a" * (300 * 1024))
    assert resp.status == 413
    assert (await resp.json())["reason"] == "too_large"


async def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    resp = await client.get("/healthz", headers={"X-Request-Id": "abc123"})
    assert resp.headers["X-Request-Id"] == "abc123"
    made = (await client.get("/healthz")).headers["X-Request-Id"]
    assert len(made) == 32


ROOT = Path(__file__).resolve().parents[2]
PAGES = [
    *sorted((ROOT / "activity" / "templates").glob("*.html")),
    *sorted((ROOT / "static").rglob("*.html")),
]
INLINE = re.compile(
    r"<script(?![^>]*\ssrc=)[^>]*>|<style[\s>]|\sstyle=|\son[a-z]+=|javascript:", re.I
)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_pages_hold_no_inline_script_or_style_the_policy_would_block(page: Path) -> None:
    """script-src 'self' and style-src 'self' block inline code: every page must work without."""
    assert INLINE.findall(page.read_text("utf-8")) == []


async def test_pages_send_a_policy_that_runs_only_our_own_files(client: TestClient) -> None:
    for path in ("/", "/login", "/settings", "/running/hover", "/static/css/admin.css"):
        resp = await client.get(path)
        csp = resp.headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["script-src"] == "'self'", path
        assert directives["style-src"] == "'self'", path
        assert directives["object-src"] == "'none'", path
        assert directives["base-uri"] == "'none'", path
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, path
        assert directives["frame-ancestors"] == (
            "https://*.exacttarget.com https://*.marketingcloudapps.com"
        ), path


async def test_a_500_is_counted_and_answered_without_a_trace(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    app = create_app(test_settings(tmp_path, run_delivery=False, metrics_token="scrape"))

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    app.router.add_get("/__broken", broken)
    client = await aiohttp_client(app)
    resp = await client.get("/__broken")
    assert (resp.status, await resp.json()) == (
        500,
        {"error": "internal error", "reason": "internal"},
    )
    scrape = await client.get("/metrics", headers={"Authorization": "Bearer scrape"})
    assert "activity_http_errors_total 1.0" in await scrape.text()


async def test_a_database_that_cannot_answer_is_503_on_every_page_never_500(
    aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The admin pages, the running views and the picker read the database for the session:
    # when it is down, a 503 that says so (retry later), not a 500 with a traceback.
    from activity.appkeys import STORE
    from tests.admin_support import admin_client, login_token, signed_in

    app = create_app(test_settings(tmp_path, run_delivery=False))
    client = await admin_client(aiohttp_server, aiohttp_client, app)
    csrf = await signed_in(client)
    await app[STORE].close()
    caplog.clear()
    answers = [
        await client.get("/settings"),
        await client.get("/settings/deliveries"),
        await client.get("/running/stats?activityId=a-1"),
        await client.get("/api/rokt/events"),
        await client.post("/logout", data={"csrf_token": csrf}),
        await client.post("/login", data={"jwt": login_token()}),
    ]
    for resp in answers:
        assert resp.status == 503, (resp.url, resp.status, await resp.text())
        assert (await resp.json())["reason"] == "storage_unavailable"
        assert resp.headers["Retry-After"]
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
