from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt.exceptions import DecodeError

from activity.devtools.jb import TEST_SECRET, sign
from activity.errors import AuthError
from activity.journey.jwt_auth import (
    EXP_LEEWAY_SECONDS,
    MAX_LIFETIME_SECONDS,
    _StrictSegmentsJWS,
    verify,
)

NOW = 1_800_000_000.0


def clock() -> float:
    return NOW


def test_payload_is_returned_verbatim() -> None:
    payload = {"inArguments": [{"a": 1}], "keyValue": "K"}
    assert verify(sign(payload), TEST_SECRET, clock=clock) == payload


@pytest.mark.parametrize(
    ("exp", "accepted"),
    [
        (NOW + 1, True),
        (NOW - EXP_LEEWAY_SECONDS, True),  # the leeway's edge
        (NOW - EXP_LEEWAY_SECONDS - 1, False),
    ],
)
def test_exp_is_checked_against_the_injected_clock_with_leeway(exp: float, accepted: bool) -> None:
    token = sign({"exp": exp})
    if accepted:
        assert verify(token, TEST_SECRET, clock=clock)["exp"] == exp
    else:
        with pytest.raises(AuthError) as err:
            verify(token, TEST_SECRET, clock=clock)
        assert err.value.reason == "expired"


def test_exp_optional_unless_required() -> None:
    assert verify(sign({"a": 1}), TEST_SECRET, clock=clock) == {"a": 1}
    with pytest.raises(AuthError) as err:
        verify(sign({"a": 1}), TEST_SECRET, require_exp=True, clock=clock)
    assert err.value.reason == "missing_exp"


@pytest.mark.parametrize("exp", ["soon", True, float("inf"), 10**400])
def test_non_numeric_or_absurd_exp_is_malformed(exp: object) -> None:
    with pytest.raises(AuthError) as err:
        verify(sign({"exp": exp}), TEST_SECRET, clock=clock)
    assert err.value.reason == "malformed_token"


def test_no_secret_configured_fails_closed() -> None:
    with pytest.raises(AuthError) as err:
        verify(sign({"a": 1}), "", clock=clock)
    assert err.value.reason == "no_secret"


def test_non_object_payload_is_malformed() -> None:
    import jwt

    token = jwt.api_jws.encode(b"[1, 2]", TEST_SECRET, algorithm="HS256").encode()
    with pytest.raises(AuthError) as err:
        verify(token, TEST_SECRET, clock=clock)
    assert err.value.reason == "malformed_token"


def test_error_messages_never_contain_the_token_or_secret() -> None:
    token = sign({"a": 1}, "other-secret")
    with pytest.raises(AuthError) as err:
        verify(token, TEST_SECRET, clock=clock)
    assert token.decode() not in err.value.message
    assert TEST_SECRET not in err.value.message


def hand_signed(payload: bytes, secret: bytes) -> bytes:
    """An HS256 token signed without PyJWT, which refuses to sign with key-shaped secrets."""

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + b"." + b64(payload)
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return signing_input + b"." + b64(signature)


PEM_SECRET = (
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----"
)


def test_a_secret_shaped_like_a_public_key_is_refused_on_every_call() -> None:
    token = hand_signed(b'{"keyValue":"K"}', PEM_SECRET.encode())
    for _ in range(3):  # the key checks run once per key: a refusal must never be remembered
        with pytest.raises(AuthError) as caught:
            verify(token, PEM_SECRET, clock=clock)
        assert caught.value.reason == "invalid_token"


def test_a_remembered_key_still_checks_every_signature() -> None:
    good = sign({"keyValue": "K"})
    assert verify(good, TEST_SECRET, clock=clock) == {"keyValue": "K"}
    forged = hand_signed(b'{"keyValue":"K"}', b"another-secret-of-the-same-length-xx")
    with pytest.raises(AuthError) as caught:
        verify(forged, TEST_SECRET, clock=clock)
    assert caught.value.reason == "bad_signature"


SEGMENT_BYTES = st.sampled_from(list(b"ABCXYZabcxyz0189-_=+/.! \x00\xff"))


@settings(max_examples=2000, deadline=None)
@given(st.lists(SEGMENT_BYTES, max_size=24).map(bytes) | st.binary(max_size=24))
def test_segment_decoding_matches_pyjwt_exactly(segment: bytes) -> None:
    def outcome(decode: Callable[[bytes, str], bytes]) -> bytes | str:
        try:
            return decode(segment, "payload")
        except DecodeError as error:
            return f"DecodeError: {error}"

    ours = outcome(_StrictSegmentsJWS._decode_base64url_segment)
    if b"=" in segment:  # compact JWS has no padding: refused even where PyJWT accepts it
        assert ours == "DecodeError: Invalid payload padding"
    else:
        assert ours == outcome(jwt.PyJWS._decode_base64url_segment)


@pytest.mark.parametrize(
    "token_edit",
    [
        lambda t: t.replace(b".", b"!.", 1),  # a byte outside the alphabet in the header
        lambda t: t + b"===",  # three padding characters
        lambda t: t + b"=",  # one: canonical for a 43-character signature, still not JWS
        lambda t: t.replace(b".", b"=.", 1),  # padding inside the header segment
        lambda t: t[:-1] + b"+",  # standard base64, not base64url
    ],
)
def test_non_base64url_segments_are_malformed(token_edit: Callable[[bytes], bytes]) -> None:
    with pytest.raises(AuthError) as caught:
        verify(token_edit(sign({"keyValue": "K"})), TEST_SECRET, clock=clock)
    assert caught.value.reason == "malformed_token"


@pytest.mark.parametrize(
    ("nbf", "accepted"),
    [
        (NOW - 60, True),
        (NOW + EXP_LEEWAY_SECONDS, True),  # the leeway's edge
        (NOW + EXP_LEEWAY_SECONDS + 1, False),
        (NOW + 86400, False),
    ],
)
def test_nbf_in_the_future_is_refused(nbf: float, accepted: bool) -> None:
    token = sign({"nbf": nbf, "exp": NOW + 300})
    if accepted:
        assert verify(token, TEST_SECRET, clock=clock)["nbf"] == nbf
    else:
        with pytest.raises(AuthError) as err:
            verify(token, TEST_SECRET, clock=clock)
        assert err.value.reason == "not_yet_valid"


@pytest.mark.parametrize("nbf", ["now", True, float("nan"), 10**400])
def test_non_numeric_nbf_is_malformed(nbf: object) -> None:
    with pytest.raises(AuthError) as err:
        verify(sign({"nbf": nbf}), TEST_SECRET, clock=clock)
    assert err.value.reason == "malformed_token"


@pytest.mark.parametrize(
    ("exp", "accepted"),
    [
        (NOW + MAX_LIFETIME_SECONDS, True),
        (NOW + MAX_LIFETIME_SECONDS + EXP_LEEWAY_SECONDS, True),  # the leeway's edge
        (NOW + MAX_LIFETIME_SECONDS + EXP_LEEWAY_SECONDS + 1, False),
        (2**53, False),
    ],
)
def test_exp_further_than_the_maximum_lifetime_is_refused(exp: float, accepted: bool) -> None:
    token = sign({"exp": exp})
    if accepted:
        assert verify(token, TEST_SECRET, require_exp=True, clock=clock)["exp"] == exp
    else:
        with pytest.raises(AuthError) as err:
            verify(token, TEST_SECRET, require_exp=True, clock=clock)
        assert err.value.reason == "exp_too_far"
