"""The contact's inArguments: merge JB's array, validate the mapping, read `onError` leniently.

`SCHEMA` checks shape (types, enums, required keys); `validate` adds what a schema cannot say
well and turns jsonschema's errors into sentences naming the field, the problem and what was
expected. None and "" count as absent everywhere, since JB resolves an empty field to "".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator, ValidationError

from activity.errors import InvalidInput
from activity.journey.subscribe_schema import (
    CALENDAR_CODE_PATTERN,
    SUBSCRIBE,
    SUBSCRIBE_PROPERTIES,
    SUBSCRIBE_REQUIRED,
)
from activity.journey.text_checks import reject_unstorable
from activity.rokt.api_requests import ACTIONS, CREATE, UNSUBSCRIBE, UPDATE

CONTINUE = "continue"
EJECT = "eject"
NOTIFY_MAX = 40320  # minutes: four weeks
EVENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"

_TEXT = {"type": "string"}
_SCALAR = {"type": ["string", "number", "boolean", "null"]}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "mid": {
            "type": ["string", "integer"],
            "description": "the business unit MID, e.g. 500000001",
        },
        "eid": {"type": ["string", "integer"], "description": "the enterprise ID"},
        "action": {
            "enum": [*ACTIONS, SUBSCRIBE],
            "description": "one of " + ", ".join([*ACTIONS, SUBSCRIBE]),
        },
        "eventId": {
            "type": "string",
            "pattern": EVENT_ID_PATTERN,
            "description": "1-100 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit",
        },
        "eventScope": {"enum": ["shared", "contact"], "description": "shared or contact"},
        "title": {**_TEXT, "description": "the event title as text"},
        "description": {**_TEXT, "description": "text"},
        "location": {**_TEXT, "description": "text"},
        "start": {**_TEXT, "description": "a local time YYYY-MM-DDTHH:MM[:SS]"},
        "end": {**_TEXT, "description": "a local time YYYY-MM-DDTHH:MM[:SS]"},
        "timezone": {
            **_TEXT,
            "description": "a Windows time zone name or an IANA id, e.g. Eastern Standard Time",
        },
        "allDay": {
            "anyOf": [
                {"type": "boolean"},
                {"type": "string", "pattern": r"^\s*([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])\s*$"},
            ],
            "description": "true or false",
        },
        "notifyBefore": {
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": NOTIFY_MAX},
                {"type": "string", "pattern": r"^\s*\d{1,9}\s*$"},
            ],
            "description": f"a whole number of minutes from 0 to {NOTIFY_MAX}",
        },
        "onError": {"enum": [CONTINUE, EJECT], "description": "continue or eject"},
        "calendarSubscriptionId": {
            "type": ["string", "array"],
            "description": "one or more subscription GUIDs",
        },
        **SUBSCRIBE_PROPERTIES,
    },
    "patternProperties": {"^<<.+>>$": {**_SCALAR, "description": "a text, number or boolean"}},
    "anyOf": [{"required": ["mid"]}, {"required": ["eid"]}],
    "allOf": [
        {
            "if": {"properties": {"action": {"enum": [CREATE, UPDATE]}}},
            "then": {"required": ["title", "start", "timezone"]},
        },
        {
            # The action `subscribe` creates a Rokt subscription: no event, a calendar.
            "if": {"required": ["action"], "properties": {"action": {"const": SUBSCRIBE}}},
            "then": SUBSCRIBE_REQUIRED,
            "else": {
                # Unsubscribe takes the contact off a calendar: no event, a calendar instead.
                "if": {"required": ["action"], "properties": {"action": {"const": UNSUBSCRIBE}}},
                "then": {"required": ["calendarCode"]},
                "else": {"required": ["eventId"]},
            },
        },
    ],
}

_VALIDATOR = Draft202012Validator(SCHEMA)
# Compiled fast path: almost every contact is valid, and jsonschema's own check costs more than
# the rest of execute. The schema uses only draft-07 keywords; jsonschema still writes the
# sentences whenever the fast path finds a problem (tests prove both agree).
_FAST = fastjsonschema.compile({**SCHEMA, "$schema": "http://json-schema.org/draft-07/schema#"})


def schema_valid(given: Mapping[str, Any]) -> bool:
    try:
        _FAST(given)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


_DIGITS = re.compile(r"\s*\d{1,9}\s*")
_MAX_REPORTED = 3


def merge(in_arguments: Any, *, plain: bool = False) -> dict[str, Any]:
    """JB's `[{"k": v}, ...]` (or one object) -> one mapping; later keys win. `plain`: the
    JSON it was read from passed `text_checks.plain_json`, so no text needs checking."""
    # Concrete types first (JSON gives a list of dicts): an ABC's isinstance costs ten times more.
    if type(in_arguments) is not list and isinstance(in_arguments, Mapping):
        single = {str(k): v for k, v in in_arguments.items()}
        reject_unstorable(single)
        return single
    if not isinstance(in_arguments, list):
        kind = "missing" if in_arguments is None else f"a {type(in_arguments).__name__}"
        raise InvalidInput(f"inArguments is {kind}; expected an array of objects")
    merged: dict[Any, Any] = {}
    for index, item in enumerate(in_arguments):
        if type(item) is not dict and not isinstance(item, Mapping):
            raise InvalidInput(
                f"inArguments[{index}] is {kind_of(item)}; expected an object such as "
                '{"eventId": "summer-sale"}'
            )
        merged.update(item)
    if not all(type(k) is str for k in merged):  # JSON keys always are; other callers' may not
        merged = {str(k): v for k, v in merged.items()}
    elif plain:
        return merged
    reject_unstorable(merged)
    return merged


def present(merged: Mapping[str, Any]) -> dict[str, Any]:
    """The entries that count as given: not None, not an empty or blank string."""
    return {
        k: v
        for k, v in merged.items()
        if v is not None and not (isinstance(v, str) and not v.strip())
    }


def validate(merged: Any) -> None:
    """InvalidInput naming every (up to three) field that is wrong, and what was expected."""
    if not isinstance(merged, Mapping):
        raise InvalidInput(f"inArguments is {kind_of(merged)}; expected an object")
    given = present(merged)
    errors = [] if schema_valid(given) else sorted(_VALIDATOR.iter_errors(given), key=_order)
    sentences = list(dict.fromkeys(s for e in errors for s in _sentences(e, given)))
    notify = given.get("notifyBefore")
    if isinstance(notify, str) and _DIGITS.fullmatch(notify) and int(notify) > NOTIFY_MAX:
        sentences.append(
            f"notifyBefore is {notify.strip()}; expected a whole number of minutes from "
            f"0 to {NOTIFY_MAX}"
        )
    if sentences:
        shown = sentences[:_MAX_REPORTED]
        more = len(sentences) - len(shown)
        raise InvalidInput("; ".join(shown) + (f" (and {more} more)" if more else ""))


def on_error_in(in_arguments: Any) -> str:
    """`onError` read from JB's raw inArguments (the last item that has one wins, as in
    `merge`), for answers given before they could be merged."""
    if isinstance(in_arguments, list):
        for item in reversed(in_arguments):
            if isinstance(item, Mapping) and "onError" in item:
                return on_error_of(item)
    return on_error_of(in_arguments)


def on_error_of(merged: Any) -> str:
    """`eject` only when asked for plainly; anything else, even garbage, is `continue`."""
    if isinstance(merged, Mapping):
        value = merged.get("onError")
        if isinstance(value, str) and value.strip().lower() == EJECT:
            return EJECT
    return CONTINUE


_MID = re.compile(r"[0-9A-Za-z._-]{1,64}")


def mid_of(merged: Any) -> str | None:
    """The business unit MID the inArguments name, to store with the answer; None when it is
    missing or not a plain id (a NUL, a lone surrogate, a huge value: nothing to scope by)."""
    value = merged.get("mid") if isinstance(merged, Mapping) else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and _MID.fullmatch(value := value.strip()):
        return value
    return None


def choice(value: Any, options: Sequence[str], field: str) -> str:
    if value not in options:
        raise InvalidInput(f"{field} is {_clip(repr(value))}; expected one of {', '.join(options)}")
    return str(value)


def event_id(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not re.fullmatch(EVENT_ID_PATTERN, text):
        raise InvalidInput(f"eventId is {_clip(repr(value))}; expected {_expected('eventId')}")
    return text


def calendar_code(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not re.fullmatch(CALENDAR_CODE_PATTERN, text):
        raise InvalidInput(
            f"calendarCode is {_clip(repr(value))}; expected {_expected('calendarCode')}"
        )
    return text


def all_day(value: Any) -> bool:
    """A real boolean, or "true"/"false" in any case (JB resolves bindings to strings)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidInput(f"allDay is {_clip(repr(value))}; expected true or false")


def notify_before(value: Any) -> int:
    """Whole minutes 0..NOTIFY_MAX, as a number or a digit string ("15")."""
    minutes: int | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        minutes = int(value) if float(value).is_integer() else None
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        minutes = int(value)
    if minutes is None or not 0 <= minutes <= NOTIFY_MAX:
        raise InvalidInput(
            f"notifyBefore is {_clip(repr(value))}; expected {_expected('notifyBefore')}"
        )
    return minutes


def _order(error: ValidationError) -> tuple[str, str]:
    return (str(error.path[0]) if error.path else "", str(error.validator))


def _sentences(error: ValidationError, given: Mapping[str, Any]) -> list[str]:
    if error.validator == "anyOf" and not error.path:
        return ["mid is missing; expected the business unit MID (or eid)"]
    if error.validator == "required":
        return [f"{name} is missing; expected {_expected(name)}" for name in _missing(error, given)]
    field = str(error.path[0]) if error.path else "inArguments"
    value = given.get(field)
    if error.validator in ("type", "anyOf") and not _fits_text(value):
        return [f"{field} is {kind_of(value)}; expected {_expected(field)}"]
    return [f"{field} is {_clip(repr(value))}; expected {_expected(field)}"]


def _missing(error: ValidationError, given: Mapping[str, Any]) -> list[str]:
    wanted = error.validator_value if isinstance(error.validator_value, list) else []
    return [str(k) for k in wanted if k not in given]


def _expected(field: str) -> str:
    schema = SCHEMA["properties"].get(field)
    if schema is None and field.startswith("<<"):
        schema = SCHEMA["patternProperties"]["^<<.+>>$"]
    if schema is None:
        return "a value"
    return str(schema.get("description", "a value"))


def _fits_text(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def kind_of(value: Any) -> str:
    """How a JSON value is named in error sentences: "an object", "a str", "null"..."""
    names = {dict: "an object", list: "an array", bool: "a boolean", type(None): "null"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return f"a {type(value).__name__}"


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
