"""Identities that must fit a length without ever being cut.

An identity (a contact key, a journey's definitionInstanceId, a Rokt eventId) that fits is kept
verbatim. One that does not becomes a readable prefix of itself, "~", and 32 hex digits of the
SHA-256 of the whole: exactly `limit` characters. Two different identities therefore never
share a fitted form (short of a SHA-256 collision in 128 bits):
- verbatim forms differ because the identities do;
- hashed forms differ because their hashes do;
- a verbatim form never looks like a hashed one, because an identity that happens to have the
  hashed shape (exactly `limit` characters ending in "~" and 32 hex digits) is hashed as well.
"""

from __future__ import annotations

import hashlib
import re

HASH_CHARS = 32
_HASHED_TAIL = re.compile(rf"~[0-9a-f]{{{HASH_CHARS}}}")


def fit(identity: str, limit: int) -> str:
    """`identity` itself when it fits in `limit` characters, else prefix + "~" + hash."""
    if len(identity) < limit or (len(identity) == limit and not _looks_hashed(identity)):
        return identity
    digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]
    return f"{identity[: limit - HASH_CHARS - 1]}~{digest}"


def _looks_hashed(identity: str) -> bool:
    return _HASHED_TAIL.fullmatch(identity, len(identity) - HASH_CHARS - 1) is not None
