from __future__ import annotations

from aiohttp.test_utils import TestClient

from activity.devtools.jb import lifecycle_payload, sign
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
        assert (
            "frame-ancestors 'self' https://*.exacttarget.com https://*.marketingcloudapps.com"
            in csp
        )
        assert "X-Frame-Options" not in resp.headers
    assert responses[-1].status == 404


def test_frame_ancestors_names_nothing_else() -> None:
    sources = FRAME_ANCESTORS.split()[1:]
    assert sources == ["'self'", "https://*.exacttarget.com", "https://*.marketingcloudapps.com"]


async def test_oversized_body_gets_413(client: TestClient) -> None:
    resp = await client.post("/execute", data=b"a" * (300 * 1024))
    assert resp.status == 413
    assert (await resp.json())["reason"] == "too_large"


async def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    resp = await client.get("/healthz", headers={"X-Request-Id": "abc123"})
    assert resp.headers["X-Request-Id"] == "abc123"
    made = (await client.get("/healthz")).headers["X-Request-Id"]
    assert len(made) == 32
