"""The benchmark's execute bodies: shaped like Journey Builder's, signed once, each distinct.

JB's execute body for one contact is about 1 KB once signed (`SMALL`). `LARGE` adds about
2 KB of the contact's own extra inArguments (attributes bound in the journey, a different
value for every contact), as a journey with many bound fields sends.

Signing a few hundred thousand bodies with `jwt.encode` takes longer than the load itself,
so `sign_hs256` builds the same compact HS256 token directly (header, payload, HMAC-SHA256,
base64url without padding); a test holds PyJWT's `jwt.decode` to accept what it makes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from collections.abc import Iterator, Sequence
from typing import Any

from activity.devtools.demo_contacts import ACTIVITY_ID, JOURNEY_ID, Contact, contact_arguments
from activity.devtools.jb import execute_payload

SMALL, LARGE = "1 KB", "3 KB"
SIZES = (SMALL, LARGE)
LARGE_EXTRA_FIELDS = 4  # extra inArguments per contact in LARGE bodies
LARGE_EXTRA_BYTES = 180  # random bytes per extra field, sent as hex (360 characters)

_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def sign_hs256(payload: dict[str, Any], secret: str) -> bytes:
    """A compact JWS, HS256, as JB signs executes (the secret as UTF-8 bytes)."""
    signing_input = _HEADER + b"." + _b64(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return signing_input + b"." + _b64(mac)


def extra_arguments(rng: random.Random) -> dict[str, str]:
    """The contact's own attributes bound as extra inArguments (no placeholder uses them)."""
    return {
        f"<<Loyalty Note {i}>>": rng.randbytes(LARGE_EXTRA_BYTES).hex()
        for i in range(LARGE_EXTRA_FIELDS)
    }


def execute_bodies(
    contacts: Sequence[Contact],
    secret: str,
    *,
    personalized: bool = False,
    size: str = SMALL,
    rng: random.Random | None = None,
) -> Iterator[bytes]:
    """One signed execute per contact, each with its own definitionInstanceId."""
    rng = rng or random.Random(len(contacts))  # noqa: S311 - load data, not secrets
    for c in contacts:
        args = contact_arguments(c, personalized=personalized)
        if size == LARGE:
            args.update(extra_arguments(rng))
        payload = execute_payload(
            args, contact_key=c.key, activity_id=ACTIVITY_ID, journey_id=JOURNEY_ID
        )
        yield sign_hs256(payload, secret)
