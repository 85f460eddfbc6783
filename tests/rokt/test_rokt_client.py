"""The Rokt client against the fake Rokt over real HTTP: tokens, 401 refresh, error mapping."""

from __future__ import annotations

import time
import uuid
from email.utils import formatdate
from typing import Any

import aiohttp
import pytest

from activity.admin.settings_service import RoktAccount
from activity.devtools.fake_rokt import FakeRokt
from activity.errors import RoktAuthFailed, RoktNotFound, RoktRejected, RoktRetryable
from activity.ops.metrics import Metrics
from activity.rokt.api_requests import CANCEL, CREATE, REMOVE, UPDATE, RoktRequest, requests_for
from activity.rokt.client import MAX_REASON_CHARS, RoktClient, error_text
from activity.rokt.token_cache import TokenCache

ACCOUNT = RoktAccount(
    mid="500000001", account_code="acme", client_id="cid", client_secret="csecret"
)
EVENT = {
    "eventId": "summer-sale",
    "title": "Summer Sale",
    "timezone": "Eastern Standard Time",
    "timezoneIanaId": "America/New_York",
    "start": "2026-12-01T09:00:00",
    "end": "2026-12-01T10:00:00",
}


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def client(rokt: tuple[FakeRokt, str], http: aiohttp.ClientSession, metrics: Metrics) -> RoktClient:
    _, url = rokt
    # Under the fake's 1 s delays; room for a token grant on a busy CI machine.
    return RoktClient(http, url, TokenCache(http, url), metrics, request_timeout=0.6)


def create(*subs: str, **event: Any) -> RoktRequest:
    (request,) = requests_for(CREATE, "acme", {**EVENT, **event}, subs or (str(uuid.uuid4()),))
    return request


def calls(metrics: Metrics, endpoint: str, status: str) -> float:
    value = metrics.registry.get_sample_value(
        "activity_rokt_requests_total", {"endpoint": endpoint, "status": status}
    )
    return value or 0.0


async def test_every_action_reaches_rokt_with_one_token(
    rokt: tuple[FakeRokt, str], client: RoktClient, metrics: Metrics
) -> None:
    fake, _ = rokt
    subs = [str(uuid.uuid4()) for _ in range(3)]
    await client.send(ACCOUNT, create(*subs))
    (update,) = requests_for(UPDATE, "acme", {**EVENT, "title": "Later"}, [])
    await client.send(ACCOUNT, update)
    (remove,) = requests_for(REMOVE, "acme", EVENT, subs[:1])
    await client.send(ACCOUNT, remove)
    assert fake.holders[("acme", "summer-sale")] == set(subs[1:])
    assert fake.events[("acme", "summer-sale")]["title"] == "Later"
    (cancel,) = requests_for(CANCEL, "acme", EVENT, [])
    await client.send(ACCOUNT, cancel)
    assert ("acme", "summer-sale") in fake.cancelled
    assert fake.token_grants == 1
    assert [r.status for r in fake.requests] == [200, 202, 202, 202, 202]
    assert calls(metrics, "create", "202") == 1
    assert calls(metrics, "cancel", "202") == 1


async def test_a_401_refreshes_the_token_once(
    rokt: tuple[FakeRokt, str], client: RoktClient
) -> None:
    fake, _ = rokt
    await client.send(ACCOUNT, create())
    fake.expire_tokens()  # Rokt forgot the token before our cache expected
    await client.send(ACCOUNT, create())
    assert fake.token_grants == 2
    assert [r.status for r in fake.calls("create")] == [202, 401, 202]


async def test_a_second_401_is_auth_failed(rokt: tuple[FakeRokt, str], client: RoktClient) -> None:
    fake, _ = rokt
    fake.script("create", [401, 401, 401])
    with pytest.raises(RoktAuthFailed, match="401"):
        await client.send(ACCOUNT, create())
    assert fake.token_grants == 2
    assert len(fake.calls("create")) == 2


async def test_wrong_credentials_are_auth_failed(
    rokt: tuple[FakeRokt, str], client: RoktClient
) -> None:
    fake, _ = rokt
    wrong = RoktAccount(mid="1", account_code="acme", client_id="cid", client_secret="nope")
    with pytest.raises(RoktAuthFailed, match="invalid credentials"):
        await client.send(wrong, create())
    assert fake.calls("create") == []


async def test_authorize_grants_a_token_the_next_call_uses_and_calls_no_endpoint(
    rokt: tuple[FakeRokt, str], client: RoktClient
) -> None:
    fake, _ = rokt
    fake.token_endpoint_down = True
    with pytest.raises(RoktRetryable):
        await client.authorize(ACCOUNT)
    fake.token_endpoint_down = False
    await client.authorize(ACCOUNT)
    assert fake.token_grants == 1
    assert [(r.endpoint, r.status) for r in fake.requests] == [("token", 503), ("token", 200)]
    await client.send(ACCOUNT, create())
    assert fake.token_grants == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429, 408])
async def test_server_errors_and_throttling_are_retryable(
    rokt: tuple[FakeRokt, str], client: RoktClient, metrics: Metrics, status: int
) -> None:
    fake, _ = rokt
    fake.script("create", [status])
    with pytest.raises(RoktRetryable) as caught:
        await client.send(ACCOUNT, create())
    assert caught.value.status == status
    assert caught.value.retry_after is None
    assert calls(metrics, "create", str(status)) == 1


async def test_retry_after_in_seconds_and_as_http_date(
    rokt: tuple[FakeRokt, str], client: RoktClient
) -> None:
    fake, _ = rokt
    fake.script("create", [429], retry_after=30)
    with pytest.raises(RoktRetryable) as caught:
        await client.send(ACCOUNT, create())
    assert caught.value.retry_after == 30
    fake.script("create", [503], retry_after=formatdate(time.time() + 120, usegmt=True))
    with pytest.raises(RoktRetryable) as caught:
        await client.send(ACCOUNT, create())
    assert caught.value.retry_after is not None
    assert 110 <= caught.value.retry_after <= 121


async def test_slow_answers_time_out_as_retryable(
    rokt: tuple[FakeRokt, str], client: RoktClient, metrics: Metrics
) -> None:
    fake, _ = rokt
    await client.send(ACCOUNT, create())  # token first, so the delay hits the API call
    fake.script("create", [None], delay=1.0)
    with pytest.raises(RoktRetryable, match="in time"):
        await client.send(ACCOUNT, create())
    assert calls(metrics, "create", "timeout") == 1


async def test_network_errors_are_retryable(
    rokt: tuple[FakeRokt, str], client: RoktClient, http: aiohttp.ClientSession
) -> None:
    fake, url = rokt
    await client.send(ACCOUNT, create())
    fake.script("create", [0])  # the connection drops without an answer
    with pytest.raises(RoktRetryable, match="unreachable"):
        await client.send(ACCOUNT, create())
    nowhere = RoktClient(http, "http://127.0.0.1:9", TokenCache(http, url))
    with pytest.raises(RoktRetryable, match="unreachable"):
        await nowhere.send(ACCOUNT, create())


async def test_a_400_is_rejected_with_rokts_reason(
    rokt: tuple[FakeRokt, str], client: RoktClient
) -> None:
    fake, _ = rokt
    bad = str(uuid.uuid4())
    fake.reject_subscriptions(bad, reason="subscription is deactivated")
    with pytest.raises(RoktRejected) as caught:
        await client.send(ACCOUNT, create(str(uuid.uuid4()), bad))
    assert caught.value.status == 400
    assert f"{bad}: subscription is deactivated" in caught.value.message
    with pytest.raises(RoktRejected, match=r"event\.title is required"):
        await client.send(ACCOUNT, create(title=""))


async def test_long_error_text_is_truncated(rokt: tuple[FakeRokt, str], client: RoktClient) -> None:
    fake, _ = rokt
    fake.script("create", [422], body={"message": "x" * 5000})
    with pytest.raises(RoktRejected) as caught:
        await client.send(ACCOUNT, create())
    assert len(caught.value.message) < MAX_REASON_CHARS + 40


async def test_404_is_not_found_for_every_call_and_names_the_likely_cause(
    rokt: tuple[FakeRokt, str], client: RoktClient
) -> None:
    (cancel,) = requests_for(CANCEL, "acme", EVENT, [])
    with pytest.raises(RoktNotFound) as caught:
        await client.send(ACCOUNT, cancel)  # the fake has no such event
    assert caught.value.status == 404
    assert "the account code 'acme' or the event is unknown to Rokt" in caught.value.message
    fake, _ = rokt
    fake.script("create", [404])
    with pytest.raises(RoktRejected):
        await client.send(ACCOUNT, create())


def test_error_text_reads_rokt_error_shapes() -> None:
    assert error_text('{"message": "bad date", "errors": [{"reason": "bad date"}]}') == "bad date"
    assert error_text('{"errors": [{"code": "X", "reason": "a"}, {"message": "b"}]}') == "a; b"
    assert error_text('{"error": "invalid_request"}') == "invalid_request"
    assert error_text("<html>\n  Bad   Gateway </html>") == "<html> Bad Gateway </html>"
    assert error_text("") == "(no details)"
    assert error_text("y" * 1000).endswith("…")


@pytest.mark.parametrize(
    ("status", "delay", "maybe"),
    [(429, 0.0, False), (502, 0.0, False), (503, 0.0, False), (500, 0.0, True),
     (504, 0.0, True), (None, 1.0, True)],
)  # fmt: skip
async def test_errors_say_whether_the_call_may_have_reached_rokt(
    rokt: tuple[FakeRokt, str],
    client: RoktClient,
    status: int | None,
    delay: float,
    maybe: bool,
) -> None:
    fake, _ = rokt
    fake.script("create", [status], delay=delay)  # None with a delay: acted on, answered late
    with pytest.raises(RoktRetryable) as caught:
        await client.send(ACCOUNT, create())
    assert caught.value.maybe_delivered is maybe


async def test_no_connection_means_the_call_did_not_reach_rokt(
    http: aiohttp.ClientSession,
) -> None:
    from activity.devtools.bench.procs import free_port

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens
    client = RoktClient(http, url, TokenCache(http, url), request_timeout=1.0)
    with pytest.raises(RoktRetryable) as caught:
        await client._call("token", create())
    assert caught.value.maybe_delivered is False
