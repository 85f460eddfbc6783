"""A journey's name from a lifecycle call, when the call carries one.

JB's documented save/validate/publish bodies carry ids only (activityObjectID, interactionId,
interactionKey, interactionVersion...); set-ups that merge the activity's configured body into
the call also carry a name. Whatever arrives is treated as untrusted text: a string only,
whitespace folded, control characters and lone surrogates dropped, a bounded length.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from activity.storage.delivery_views import FROM_LIFECYCLE, JourneyName

NAME_KEYS = ("journeyName", "interactionName", "name")
MAX_NAME_LENGTH = 200
MAX_ID_LENGTH = 200


def clean_name(value: object) -> str:
    if not isinstance(value, str):
        return ""
    kept = (
        ch
        for ch in value
        if not unicodedata.category(ch).startswith("C") or ch in " \t\n"  # Cc, Cs, Cf, Co, Cn
    )
    text = " ".join("".join(kept).split())
    return text[:MAX_NAME_LENGTH].strip()


def journey_name_from(payload: Mapping[str, Any], at: float) -> JourneyName | None:
    journey_id = payload.get("interactionId")
    if not isinstance(journey_id, str) or not journey_id or len(journey_id) > MAX_ID_LENGTH:
        return None
    for key in NAME_KEYS:
        name = clean_name(payload.get(key))
        if name:
            version = payload.get("interactionVersion")
            journey_key = payload.get("interactionKey")
            return JourneyName(
                journey_id,
                name,
                journey_key=clean_name(journey_key)[:MAX_ID_LENGTH],
                version=clean_name(str(version) if isinstance(version, int) else version),
                source=FROM_LIFECYCLE,
                updated_at=at,
            )
    return None
