from __future__ import annotations

import pytest

from activity.errors import AuthError
from activity.jwt_auth import EXP_LEEWAY_SECONDS, verify
from activity.testing import TEST_SECRET, sign

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
