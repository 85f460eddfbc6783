"""The config UI's pre-flight check and preview for the action `subscribe`, over HTTP."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from activity.devtools.jb import ENTRY_KEY

EMAIL_BINDING = f'{{{{Event.{ENTRY_KEY}."Email"}}}}'


def configured(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "mid": "500000001",
        "action": "subscribe",
        "calendarCode": "acme-sports",
        "subscriptionMethod": "WebCal",
        "emailAddress": EMAIL_BINDING,
        "utmSource": "journey",
        "utmCampaign": "<<First Name>>-spring",
        "<<First Name>>": f'{{{{Event.{ENTRY_KEY}."First Name"}}}}',
        "onError": "continue",
    }
    args.update(overrides)
    return {k: v for k, v in args.items() if v is not None}


async def post(client: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = await client.post(path, json=body)
    assert resp.status == 200
    answer: dict[str, Any] = await resp.json()
    return answer


async def problems(client: TestClient, **overrides: Any) -> dict[str, str]:
    body = await post(client, "/api/check", {"arguments": configured(**overrides)})
    assert body["ok"] is not bool(body["problems"])
    return {p["field"]: p["message"] for p in body["problems"]}


async def test_a_complete_configuration_passes_without_event_fields(client: TestClient) -> None:
    assert await problems(client) == {}
    google = await problems(client, subscriptionMethod="Google", redirectTo="https://x.example/ok")
    assert google == {}


async def test_check_names_each_wrong_field(client: TestClient) -> None:
    found = await problems(
        client,
        mid=None,
        calendarCode=None,
        subscriptionMethod="Google",
        emailAddress="not-an-email",
        utmMedium="<<Unbound>>",
        utmContent="x" * 256,
    )
    assert found["mid"].startswith("mid is missing")
    assert found["calendarCode"].startswith("calendarCode is missing")
    assert found["redirectTo"].startswith("redirectTo is missing; a Google subscription needs")
    assert found["emailAddress"].startswith("emailAddress is 'not-an-email'")
    assert "placeholder <<Unbound>> in utmMedium" in found["utmMedium"]
    assert found["utmContent"] == "utmContent is 256 characters; expected at most 255"
    found = await problems(client, calendarCode="a/b", subscriptionMethod="iCal")
    assert found["calendarCode"].startswith("calendarCode is 'a/b'")
    assert found["subscriptionMethod"].startswith("subscriptionMethod is 'iCal'; expected one of")
    found = await problems(client, subscriptionMethod="Microsoft", redirectTo="ftp://x")
    assert found["redirectTo"].startswith("redirectTo is 'ftp://x'")


async def test_preview_shows_the_exact_rokt_request(client: TestClient) -> None:
    body = await post(
        client,
        "/api/preview",
        {
            "arguments": configured(
                subscriptionMethod="Microsoft", redirectTo="https://x.example/thanks"
            ),
            "samples": {"First Name": "Ada", "accountCode": "acme"},
            "contactKey": "0031x000ABC",
        },
    )
    assert body["ok"] is True and body["action"] == "subscribe"
    assert body["subscriberId"] == "0031x000ABC"
    assert body["requests"] == [
        {
            "method": "POST",
            "path": "/v2/subscribe/acme/acme-sports",
            "body": {
                "subscriberId": "0031x000ABC",
                "subscriptionMethod": "Microsoft",
                "emailAddress": "ada@example.com",  # a sample for the bound email
                "redirectTo": "https://x.example/thanks",
                "utmSource": "journey",
                "utmCampaign": "Ada-spring",
            },
        }
    ]


async def test_preview_reports_what_cannot_render(client: TestClient) -> None:
    body = await post(
        client,
        "/api/preview",
        {"arguments": configured(subscriptionMethod="Google"), "samples": {}},
    )
    assert body["ok"] is False
    assert body["field"] == "redirectTo"
    assert body["error"].startswith("redirectTo is missing")
