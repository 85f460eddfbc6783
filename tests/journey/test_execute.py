"""POST /execute over HTTP: statuses, idempotency, durability answers."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import uuid
from collections import Counter
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from activity import create_app
from activity.appkeys import METRICS, STORE
from activity.devtools.jb import (
    TEST_SECRET,
    event_arguments,
    execute_payload,
    sign,
    store_demo_settings,
    test_settings,
)
from activity.storage.models import QUEUED, OutboxItem
from tests.conftest import ClientFactory

MID = "500000001"


async def configure(client: TestClient, mid: str = MID, **kw: object) -> None:
    await store_demo_settings(client.app, mid, **kw)


async def post(client: TestClient, payload: dict[str, object]) -> tuple[int, dict[str, str]]:
    resp = await client.post(
        "/execute", data=sign(payload), headers={"Content-Type": "application/jwt"}
    )
    return resp.status, await resp.json()


async def queued_items(client: TestClient) -> list[OutboxItem]:
    return await client.app[STORE].claim("inspect", 1e12, 1.0, 10_000)


async def test_queued_contact_is_on_disk_with_its_rokt_event_id(client: TestClient) -> None:
    await configure(client)
    sub = str(uuid.uuid4())
    args = event_arguments(calendarSubscriptionId=sub, eventScope="contact")
    status, body = await post(client, execute_payload(args, contact_key="C-42"))
    assert status == 200
    assert body == {"roktStatus": "queued", "roktEventId": "summer-sale-2026_C-42", "roktError": ""}
    items = await client.app[STORE].claim("inspect", 1e12, 1.0, 100)
    assert len(items) == 1
    item = items[0]
    assert item.subscription_ids == (sub,)
    assert item.account_code == "acme"
    assert item.payload["eventId"] == "summer-sale-2026_C-42"
    assert item.payload["timezone"] == "Eastern Standard Time"
    assert item.payload["timezoneIanaId"] == "America/New_York"
    assert item.contact_key == "C-42"


async def test_shared_scope_uses_the_marketers_event_id(client: TestClient) -> None:
    await configure(client)
    _, body = await post(client, execute_payload(event_arguments(eventScope="shared")))
    assert body["roktEventId"] == "summer-sale-2026"


async def test_repeat_returns_first_answer_and_enqueues_nothing(client: TestClient) -> None:
    await configure(client)
    payload = execute_payload(event_arguments())
    first = await post(client, payload)
    # JB's retry carries the same ids; even with changed data the first answer stands.
    retry = dict(payload, inArguments=[{"title": "changed"}])
    answers = await asyncio.gather(*(post(client, retry) for _ in range(20)))
    assert all(a == first for a in answers)
    assert len(await queued_items(client)) == 1


async def test_concurrent_first_calls_of_one_key_enqueue_once(client: TestClient) -> None:
    await configure(client)
    payload = execute_payload(event_arguments())
    answers = await asyncio.gather(*(post(client, payload) for _ in range(30)))
    assert {a[1]["roktStatus"] for a in answers} == {"queued"}
    assert len(await queued_items(client)) == 1


async def test_no_subscription_is_skipped(client: TestClient) -> None:
    await configure(client)
    for empty in ("", "  ", "[]", None):
        status, body = await post(
            client, execute_payload(event_arguments(calendarSubscriptionId=empty))
        )
        assert (status, body["roktStatus"]) == (200, "skipped_no_subscription")
    assert await queued_items(client) == []


async def test_unconfigured_business_unit_is_skipped(client: TestClient) -> None:
    status, body = await post(client, execute_payload(event_arguments(mid="999")))
    assert (status, body["roktStatus"]) == (200, "skipped_not_configured")
    assert "999" in body["roktError"]


async def test_enterprise_fallback_finds_settings(client: TestClient) -> None:
    await configure(client, mid="500000777", enterprise_id="500000000", is_enterprise_default=True)
    _, body = await post(client, execute_payload(event_arguments(mid="500000001", eid="500000000")))
    assert body["roktStatus"] == "queued"


async def test_answers_served_by_the_enterprise_default_count_where_its_deliveries_do(
    client: TestClient,
) -> None:
    """The answer is stored for the MID whose settings served it, as its outbox rows are, so
    one admin sees the whole of the activity; the child unit without settings sees none of it."""
    await configure(client, mid="500000777", enterprise_id="500000000", is_enterprise_default=True)
    activity = str(uuid.uuid4())
    for sub in (str(uuid.uuid4()), ""):
        args = event_arguments(mid="500000001", eid="500000000", calendarSubscriptionId=sub)
        await post(client, execute_payload(args, activity_id=activity))
    store = client.app[STORE]
    served, child = [await store.activity_stats(m, activity) for m in ("500000777", MID)]
    # The delivery worker may have taken the item already: count it in whatever state.
    delivered = (served.queued, served.sending, served.sent, served.dead)
    assert (sum(delivered), served.skipped) == (1, (("skipped_no_subscription", 1),))
    assert (child.queued + child.sending + child.sent + child.dead, child.skipped) == (0, ())


async def test_a_parents_own_settings_stored_under_the_eid_are_not_a_childs(
    client: TestClient,
) -> None:
    # The parent business unit's MID is the EID; its settings are not marked as the default.
    await configure(client, mid="500000000", enterprise_id="500000000")
    child = execute_payload(event_arguments(mid="500000001", eid="500000000"))
    status, body = await post(client, child)
    assert (status, body["roktStatus"]) == (200, "skipped_not_configured")
    assert await queued_items(client) == []
    status, body = await post(client, execute_payload(event_arguments(mid="500000000")))
    assert (status, body["roktStatus"]) == (200, "queued")  # the parent itself still works


@pytest.mark.parametrize(
    ("override", "expected_words"),
    [
        ({"timezone": "Mars/Olympus"}, ["timezone", "Mars/Olympus"]),
        ({"start": "2026-13-01T09:00"}, ["start"]),
        ({"end": "2026-12-01T08:00"}, ["end", "start"]),
        ({"title": "Hi <<First Name>>"}, ["<<First Name>>"]),
        ({"calendarSubscriptionId": "not-a-guid"}, ["calendarSubscriptionId", "not-a-guid"]),
        ({"action": "explode"}, ["action"]),
        ({"notifyBefore": "soon"}, ["notifyBefore"]),
    ],
)
async def test_invalid_input_gets_a_precise_reason(
    client: TestClient, override: dict[str, object], expected_words: list[str]
) -> None:
    await configure(client)
    status, body = await post(client, execute_payload(event_arguments(**override)))
    assert status == 200
    assert body["roktStatus"] == "invalid"
    for word in expected_words:
        assert word in body["roktError"], (word, body["roktError"])
    assert await queued_items(client) == []


async def test_invalid_with_eject_answers_400(client: TestClient) -> None:
    await configure(client)
    status, body = await post(
        client, execute_payload(event_arguments(onError="eject", timezone="Nowhere/Zone"))
    )
    assert status == 400
    assert body["roktStatus"] == "invalid"


async def test_missing_ids_are_invalid_and_not_stored(client: TestClient) -> None:
    payload = execute_payload(event_arguments())
    del payload["definitionInstanceId"]
    status, body = await post(client, payload)
    assert (status, body["roktStatus"]) == (200, "invalid")
    assert "definitionInstanceId" in body["roktError"]


async def test_in_arguments_not_a_list_is_invalid(client: TestClient) -> None:
    payload = execute_payload(event_arguments())
    payload["inArguments"] = "oops"
    status, body = await post(client, payload)
    assert (status, body["roktStatus"]) == (200, "invalid")
    assert "inArguments" in body["roktError"]


async def test_placeholders_are_filled_from_entry_data(client: TestClient) -> None:
    await configure(client)
    args = event_arguments(
        title="Hi <<First Name>>, <<Offer|your offer>> awaits",
        **{"<<First Name>>": "Jane <<Offer>>", "<<Offer>>": ""},
    )
    _, body = await post(client, execute_payload(args))
    assert body["roktStatus"] == "queued"
    [item] = await queued_items(client)
    assert item.payload["title"] == "Hi Jane <<Offer>>, your offer awaits"


async def test_storage_failure_answers_503_and_a_later_retry_succeeds(client: TestClient) -> None:
    await configure(client)
    payload = execute_payload(event_arguments())
    store = client.app[STORE]
    await store.close()
    status, body = await post(client, payload)
    assert status == 503
    assert body["reason"] == "storage_unavailable"
    await store.open()
    status, body = await post(client, payload)
    assert (status, body["roktStatus"]) == (200, QUEUED)


async def test_contents_wrapper_is_accepted(client: TestClient) -> None:
    await configure(client)
    status, body = await post(client, {"contents": execute_payload(event_arguments())})
    assert (status, body["roktStatus"]) == (200, "queued")


async def test_cancel_needs_no_subscription(client: TestClient) -> None:
    await configure(client)
    status, body = await post(
        client, execute_payload(event_arguments(action="cancel", calendarSubscriptionId=""))
    )
    assert (status, body["roktStatus"]) == (200, "queued")
    [item] = await queued_items(client)
    assert item.action == "cancel"
    assert item.subscription_ids == ()


async def test_nul_in_contact_data_is_invalid_not_a_storage_error(client: TestClient) -> None:
    await configure(client)
    status, body = await post(client, execute_payload(event_arguments(title="Sale\x00now")))
    assert (status, body["roktStatus"]) == (200, "invalid")
    assert "NUL" in body["roktError"]


def sign_json(text: bytes) -> bytes:
    """A JB-style HS256 token over exactly these payload bytes (jwt.encode would re-encode)."""
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
    signing_input = header + b"." + base64.urlsafe_b64encode(text).rstrip(b"=")
    mac = hmac.new(TEST_SECRET.encode(), signing_input, hashlib.sha256).digest()
    return signing_input + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")


@pytest.mark.parametrize(
    ("title", "encoding", "problem"),
    [
        # Raw UTF-8 bytes of a surrogate, which Python's JSON reader lets through.
        ("Sale \ud800", "utf-8", "lone surrogate (U+D800)"),
        # UTF-16: every character has a NUL byte beside it, so the escape is not "\\u".
        ("Sale \x00 now", "utf-16-le", "NUL"),
        ("Sale \udfff", "utf-16-be", "lone surrogate (U+DFFF)"),
        ("Sale \x00 now", "utf-32-le", "NUL"),
    ],
)
async def test_nul_and_surrogates_are_found_in_any_encoding_jb_could_send(
    client: TestClient, title: str, encoding: str, problem: str
) -> None:
    await configure(client)
    payload = execute_payload(event_arguments(title=title))
    text = json.dumps(payload, ensure_ascii=False).encode(encoding, "surrogatepass")
    resp = await client.post("/execute", data=sign_json(text))
    body = await resp.json()
    assert (resp.status, body["roktStatus"]) == (200, "invalid")
    assert problem in body["roktError"]
    assert await queued_items(client) == []


async def test_a_plain_ascii_payload_is_queued_without_the_text_scan(client: TestClient) -> None:
    await configure(client)
    text = json.dumps(execute_payload(event_arguments(title="Plain sale"))).encode()
    resp = await client.post("/execute", data=sign_json(text))
    assert (resp.status, (await resp.json())["roktStatus"]) == (200, "queued")
    [item] = await queued_items(client)
    assert item.payload["title"] == "Plain sale"


async def test_beyond_the_in_flight_limit_executes_are_shed_with_503(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client = await aiohttp_client(create_app(test_settings(tmp_path, max_executes_in_flight=2)))
    await configure(client)
    payloads = [execute_payload(event_arguments()) for _ in range(40)]
    answers = await asyncio.gather(*(post(client, p) for p in payloads))
    statuses = Counter(status for status, _ in answers)
    assert statuses[503] > 0, statuses
    assert statuses[200] > 0, statuses
    shed = [body for status, body in answers if status == 503]
    assert all(body["reason"] == "overloaded" for body in shed)
    # Counted, so an alert can see shedding (README: Operations).
    counted = client.app[METRICS].executes.labels("overloaded")._value.get()
    assert counted == len(shed)
    # Shed contacts were not accepted: JB's retry is their first real call.
    for payload, (status, _) in zip(payloads, answers, strict=True):
        if status == 503:
            assert (await post(client, payload))[1]["roktStatus"] == "queued"


# --- identities are never cut (hostile review item 4) --------------------------------------


async def test_contact_keys_that_differ_after_128_characters_get_their_own_events(
    client: TestClient,
) -> None:
    await configure(client)
    common = "K" * 200
    answers = {}
    for name in ("alice", "bob"):
        args = event_arguments(
            calendarSubscriptionId=str(uuid.uuid4()), eventScope="contact", title=f"Hello {name}"
        )
        status, body = await post(client, execute_payload(args, contact_key=f"{common}-{name}"))
        assert (status, body["roktStatus"]) == (200, "queued"), body
        answers[name] = body["roktEventId"]
    assert answers["alice"] != answers["bob"]
    assert all(len(event_id) <= 255 for event_id in answers.values())
    items = {item.contact_key: item for item in await queued_items(client)}
    assert set(items) == {f"{common}-alice", f"{common}-bob"}  # stored whole
    assert {item.payload["title"] for item in items.values()} == {"Hello alice", "Hello bob"}
    assert {item.event_id for item in items.values()} == set(answers.values())


async def test_definition_instance_ids_that_differ_after_128_characters_are_two_contacts(
    client: TestClient,
) -> None:
    await configure(client)
    common = "d" * 300
    first = execute_payload(
        event_arguments(), contact_key="C-1", definition_instance_id=f"{common}-1"
    )
    second = execute_payload(
        event_arguments(), contact_key="C-2", definition_instance_id=f"{common}-2"
    )
    for payload in (first, second, first):  # the repeat of the first is answered, not re-sent
        status, body = await post(client, payload)
        assert (status, body["roktStatus"]) == (200, "queued"), body
    items = await queued_items(client)
    assert sorted(item.contact_key for item in items) == ["C-1", "C-2"]
    assert len({item.definition_instance_id for item in items}) == 2
    assert all(len(item.definition_instance_id) == 128 for item in items)


# --- values that once made a 500 (hostile review item 6) ----------------------------------

OUT_OF_RANGE = {
    "0001-01-01T00:00 in Tokyo": {
        "start": "0001-01-01T00:00",
        "end": "0001-01-01T01:00",
        "timezone": "Tokyo Standard Time",
    },
    "9999-12-31T23:59 in Pacific": {
        "start": "9999-12-30T23:00",
        "end": "9999-12-31T23:59",
        "timezone": "Pacific Standard Time",
    },
    "an all-day end of 9999-12-31": {"allDay": True, "start": "9999-12-01", "end": "9999-12-31"},
}


@pytest.mark.parametrize("case", list(OUT_OF_RANGE))
@pytest.mark.parametrize("on_error", ["continue", "eject"])
async def test_dates_out_of_range_are_invalid_with_the_range_not_a_500(
    client: TestClient, caplog: pytest.LogCaptureFixture, case: str, on_error: str
) -> None:
    await configure(client)
    args = event_arguments(onError=on_error, **OUT_OF_RANGE[case])
    status, body = await post(client, execute_payload(args))
    assert status == (400 if on_error == "eject" else 200)
    assert body["roktStatus"] == "invalid"
    assert "expected a date from 0001-01-02 to 9999-12-30" in body["roktError"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert await queued_items(client) == []


@pytest.mark.parametrize(
    ("overrides", "contact_key", "fragment"),
    [
        ({"calendarSubscriptionId": "[" * 5000 + "]" * 5000}, "C-1", "nested too deeply"),
        ({"title": "Hello \ud800"}, "C-1", "inArgument 'title' contains a lone surrogate"),
        ({"eventScope": "contact"}, "bad\udfff", "keyValue contains a lone surrogate (U+DFFF)"),
        ({"eventScope": "shared"}, "bad\ud800", "keyValue contains a lone surrogate (U+D800)"),
    ],
)
async def test_hostile_values_are_invalid_alone_not_a_500(
    client: TestClient,
    caplog: pytest.LogCaptureFixture,
    overrides: dict[str, object],
    contact_key: str,
    fragment: str,
) -> None:
    await configure(client)
    bad = execute_payload(event_arguments(**overrides), contact_key=contact_key)
    good = execute_payload(event_arguments(), contact_key="C-good")
    (status, body), (good_status, good_body) = await asyncio.gather(
        post(client, bad), post(client, good)
    )
    assert (status, body["roktStatus"]) == (200, "invalid"), body
    assert fragment in body["roktError"] and "expected" in body["roktError"]
    assert (good_status, good_body["roktStatus"]) == (200, "queued")
    assert [item.contact_key for item in await queued_items(client)] == ["C-good"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize("missing", ["keyValue", "activityId", "definitionInstanceId"])
async def test_eject_applies_when_the_call_ids_are_missing(
    client: TestClient, missing: str
) -> None:
    await configure(client)
    payload = execute_payload(event_arguments(onError="eject"))
    payload.pop(missing)
    payload.pop("activityObjectID")
    status, body = await post(client, payload)
    assert (status, body["roktStatus"]) == (400, "invalid")
    assert missing in body["roktError"]
    payload = execute_payload(event_arguments(onError="continue"), contact_key="")
    assert (await post(client, payload))[0] == 200
