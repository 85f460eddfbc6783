"""Inbound JWT verification for Journey Builder calls and the Marketing Cloud SSO login.

Every option is spelled out on purpose: the algorithm is pinned to HS256, `exp` is honoured
with a named leeway, and any failure raises `AuthError` with a short reason. Tokens and
secrets are never logged or echoed.
"""

from __future__ import annotations

import binascii
import json
import math
import time
from collections.abc import Callable
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm
from jwt.exceptions import DecodeError, InvalidKeyError

from activity.errors import AuthError

ALGORITHM = "HS256"
EXP_LEEWAY_SECONDS = 30  # also the leeway on nbf: clocks drift
# A token may not live longer than this from now. JB signs each call as it makes it (captures
# carry no exp at all) and Marketing Cloud's SSO token is used within seconds of its issue, so
# an hour is generous for both; a token valid for years is a stolen token's best friend.
MAX_LIFETIME_SECONDS = 3600
MAX_TOKEN_BYTES = 512 * 1024
MAX_EXP = 2**53  # beyond any date a float can hold exactly

Clock = Callable[[], float]
MAX_PREPARED_KEYS = 16


class _CheckedOnceHMAC(HMACAlgorithm):
    """HS256 that runs PyJWT's key checks once per key, not once per token.

    PyJWT refuses HMAC keys that look like PEM, SSH, DER or JWK key material, and repeats
    those checks (DER parsing included) for every token: a third of its cost per execute.
    The checks depend on the key alone, so a key that passed once passes every time.
    """

    def __init__(self) -> None:
        super().__init__(HMACAlgorithm.SHA256)
        self._passed: dict[bytes, bytes] = {}

    def prepare_key(self, key: str | bytes) -> bytes:
        raw = key.encode("utf-8") if isinstance(key, str) else key
        prepared = self._passed.get(raw)
        if prepared is None:
            prepared = super().prepare_key(raw)  # raises for a refused key: never remembered
            if len(self._passed) < MAX_PREPARED_KEYS:
                self._passed[raw] = prepared
        return prepared


_BASE64URL_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
# Each base64url character's six bits, and the low bits an unpadded segment leaves unused after
# its last whole byte: 2 characters past a group of 4 carry 8 bits in 12, 3 carry 16 in 18.
_SEXTET = {char: value for value, char in enumerate(_BASE64URL_ALPHABET)}
_SPARE_BITS = {2: 0b1111, 3: 0b11}


class _StrictSegmentsJWS(jwt.PyJWS):
    """PyJWS with its strict base64url segment check run in C.

    PyJWT 2.15 refuses segments with bytes outside the base64url alphabet or with
    non-canonical padding, testing the alphabet one byte at a time in a Python generator:
    a sixth of an execute's cost. This does the same checks in the same order, the alphabet
    with `bytes.translate`, and refuses padding outright (PyJWT accepts canonical `=`); a
    property test holds it equal to PyJWT's own on unpadded segments.
    """

    @staticmethod
    def _decode_base64url_segment(segment: bytes, name: str) -> bytes:
        # Stricter than PyJWT: compact JWS segments carry no padding at all (RFC 7515 section
        # 2), so a token with `=` appended is not the token that was signed.
        if b"=" in segment or len(segment) % 4 == 1 or segment.translate(None, _BASE64URL_ALPHABET):
            raise DecodeError(f"Invalid {name} padding")
        # PyJWT re-encodes what it decoded and compares. Only the last character can differ:
        # its bits beyond the last whole byte must be zero. So that is all we look at.
        rest = len(segment) % 4
        if rest and _SEXTET[segment[-1]] & _SPARE_BITS[rest]:
            raise DecodeError(f"Invalid {name} padding")
        # binascii directly: PyJWT's and base64's wrappers cost more than the decoding.
        return binascii.a2b_base64(segment.translate(_TO_STANDARD) + b"=" * (-len(segment) % 4))


# PyJWS verifies the signature; the claims are ours to read (exp and nbf below; no other is used).
_JWS = _StrictSegmentsJWS(algorithms=[ALGORITHM])
_JWS.unregister_algorithm(ALGORITHM)
_JWS.register_algorithm(ALGORITHM, _CheckedOnceHMAC())


def _token_text(body: bytes) -> str:
    if not body or not body.strip():
        raise AuthError("missing body: expected an HS256 JWT", reason="missing_token")
    if len(body) > MAX_TOKEN_BYTES:
        raise AuthError("token too large", reason="malformed_token")
    try:
        text = body.decode("ascii").strip()
    except UnicodeDecodeError:
        raise AuthError("body is not a compact JWT", reason="malformed_token") from None
    if text.startswith(("{", "[")):
        raise AuthError("body is JSON; a signed JWT is required", reason="json_body")
    if text.count(".") != 2:
        raise AuthError("body is not a compact JWT", reason="malformed_token")
    return text


def verify(
    body: bytes,
    secret: str,
    *,
    require_exp: bool = False,
    clock: Clock = time.time,
) -> dict[str, Any]:
    """Return the verified payload of a compact HS256 JWT, or raise `AuthError`."""
    return verify_json(body, secret, require_exp=require_exp, clock=clock)[0]


def verify_json(
    body: bytes,
    secret: str,
    *,
    require_exp: bool = False,
    clock: Clock = time.time,
) -> tuple[dict[str, Any], bytes]:
    """`verify`, with the payload's JSON text as it was signed."""
    if not secret:
        raise AuthError("no signing secret configured", reason="no_secret")
    token = _token_text(body)
    try:
        # Signature first; exp is checked below against the injected clock, so expiry is
        # testable without sleeping.
        decoded = _JWS.decode_complete(token, key=secret.encode("utf-8"), algorithms=[ALGORITHM])
        payload = json.loads(decoded["payload"])
    except jwt.InvalidSignatureError:
        raise AuthError("bad signature", reason="bad_signature") from None
    except jwt.InvalidAlgorithmError:
        # PyJWS checks the header's alg against `algorithms` before any key is used.
        raise AuthError("JWT algorithm must be HS256", reason="wrong_algorithm") from None
    except (jwt.DecodeError, ValueError, RecursionError):
        # ValueError covers bad JSON, bad UTF-8 and integers too long to read; RecursionError
        # deeply nested arrays.
        raise AuthError("malformed JWT", reason="malformed_token") from None
    except (jwt.PyJWTError, InvalidKeyError):
        raise AuthError("invalid JWT", reason="invalid_token") from None
    if not isinstance(payload, dict):
        raise AuthError("JWT payload is not an object", reason="malformed_token")
    now = clock()
    _check_exp(payload, require_exp=require_exp, now=now)
    _check_nbf(payload, now=now)
    return payload, decoded["payload"]


def _numeric_date(payload: dict[str, Any], claim: str) -> float | None:
    value = payload.get(claim)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AuthError(f"JWT {claim} is not a number", reason="malformed_token")
    # PyJWT's JSON reader takes NaN, Infinity and 400-digit integers: none is a NumericDate.
    if (isinstance(value, int) and abs(value) > MAX_EXP) or not math.isfinite(value):
        raise AuthError(f"JWT {claim} is not a date", reason="malformed_token")
    return float(value)


def _check_nbf(payload: dict[str, Any], *, now: float) -> None:
    nbf = _numeric_date(payload, "nbf")
    if nbf is not None and nbf > now + EXP_LEEWAY_SECONDS:
        raise AuthError("JWT is not valid yet (nbf)", reason="not_yet_valid")


def _check_exp(payload: dict[str, Any], *, require_exp: bool, now: float) -> None:
    exp = _numeric_date(payload, "exp")
    if exp is None:
        if require_exp:
            raise AuthError("JWT has no exp claim", reason="missing_exp")
        return
    if now > exp + EXP_LEEWAY_SECONDS:
        raise AuthError("JWT has expired", reason="expired")
    if exp > now + MAX_LIFETIME_SECONDS + EXP_LEEWAY_SECONDS:
        raise AuthError("JWT exp is more than an hour away", reason="exp_too_far")
