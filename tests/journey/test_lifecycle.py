from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from activity.appkeys import STORE
from activity.devtools.jb import TEST_SECRET, lifecycle_payload, sign

ROUTES = ["save", "validate", "publish", "unpublish", "stop"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(payload: dict[str, object]) -> bytes:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(payload).encode())}.".encode()


@pytest.mark.parametrize("route", ROUTES)
async def test_valid_jwt_any_content_type_is_accepted(client: TestClient, route: str) -> None:
    for content_type in ("application/jwt", "application/json", "text/plain", ""):
        headers = {"Content-Type": content_type} if content_type else {}
        resp = await client.post(f"/{route}", data=sign(lifecycle_payload()), headers=headers)
        assert resp.status == 200, (route, content_type)
        assert await resp.json() == {}


def _rs256_token() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return jwt.encode(lifecycle_payload(), pem, algorithm="RS256").encode()


BAD_BODIES = {
    "missing body": (b"", "missing_token"),
    "whitespace body": (b"  \n", "missing_token"),
    "json body": (json.dumps(lifecycle_payload()).encode(), "json_body"),
    "bad signature": (sign(lifecycle_payload(), "another-secret"), "bad_signature"),
    "alg none": (unsigned_token(lifecycle_payload()), "wrong_algorithm"),
    "HS512": (
        jwt.encode(lifecycle_payload(), TEST_SECRET, algorithm="HS512").encode(),
        "wrong_algorithm",
    ),
    "RS256": (_rs256_token(), "wrong_algorithm"),
    "malformed": (b"not-a-jwt", "malformed_token"),
    "garbage segments": (b"abc.def.ghi", "malformed_token"),
    "expired": (
        sign(lifecycle_payload(exp=int(time.time()) - 3600)),
        "expired",
    ),
    "truncated signature": (sign(lifecycle_payload())[:-5], "malformed_token"),
    "altered signature": (
        sign(lifecycle_payload())[:-2]
        + (b"AA" if not sign(lifecycle_payload()).endswith(b"AA") else b"BB"),
        "bad_signature",
    ),
    "padded token": (sign(lifecycle_payload()) + b"====", "malformed_token"),
}


@pytest.mark.parametrize("route", [*ROUTES, "execute"])
@pytest.mark.parametrize("case", sorted(BAD_BODIES))
async def test_bad_tokens_get_401_with_reason(client: TestClient, route: str, case: str) -> None:
    body, reason = BAD_BODIES[case]
    resp = await client.post(f"/{route}", data=body, headers={"Content-Type": "application/jwt"})
    assert resp.status == 401
    answer = await resp.json()
    assert answer["reason"] == reason
    assert TEST_SECRET not in await resp.text()


async def test_exp_in_the_future_or_within_leeway_is_accepted(client: TestClient) -> None:
    for exp in (int(time.time()) + 600, int(time.time()) - 5):
        resp = await client.post("/validate", data=sign(lifecycle_payload(exp=exp)))
        assert resp.status == 200


async def test_lifecycle_calls_are_recorded_once_per_journey_version(client: TestClient) -> None:
    for _ in range(5):
        assert (await client.post("/publish", data=sign(lifecycle_payload()))).status == 200
    await client.post("/publish", data=sign(lifecycle_payload(interactionVersion="2")))
    await client.post("/validate", data=sign(lifecycle_payload()))
    records = await client.app[STORE].list_lifecycle()
    by_key = {(r.route, r.interaction_version): r for r in records}
    assert len(records) == 3
    assert by_key[("publish", "1")].calls == 5
    assert by_key[("publish", "2")].calls == 1
    assert by_key[("publish", "1")].interaction_key == "7169bc47-283e-9422-c28b-af4ab7b95a3c"
    assert by_key[("publish", "1")].first_seen <= by_key[("publish", "1")].last_seen


async def test_rejected_call_is_not_recorded(client: TestClient) -> None:
    await client.post("/publish", data=sign(lifecycle_payload(), "wrong"))
    assert await client.app[STORE].list_lifecycle() == []


async def test_database_down_answers_503_not_500(client: TestClient) -> None:
    await client.app[STORE].close()
    resp = await client.post("/publish", data=sign(lifecycle_payload()))
    assert resp.status == 503
    assert (await resp.json())["reason"] == "storage_unavailable"
