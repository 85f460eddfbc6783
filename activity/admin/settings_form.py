"""The app settings form: parse and validate what an admin typed, one message per field.

Pure functions over a mapping of form fields; the business unit never comes from here
(it comes from the session). The client secret is never echoed back in `values`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from activity.storage.models import StoredSettings

ACCOUNT_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
MAX_ID_LENGTH = 200
MAX_SECRET_LENGTH = 500
NO_SECRET_TO_TEST = "Type the client secret to test it; none is stored yet."  # noqa: S105
TEXT_FIELDS = ("account_code", "account_id", "client_id", "calendar_ids")
CALENDAR_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
MAX_CALENDARS = 10


@dataclass(frozen=True)
class SettingsInput:
    account_code: str
    account_id: str
    client_id: str
    client_secret: str | None = field(repr=False)  # None keeps the stored secret
    enterprise_default: bool
    calendar_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str = field(repr=False)
    typed_secret: bool


@dataclass(frozen=True)
class FormResult:
    values: dict[str, str]
    errors: dict[str, str]
    parsed: SettingsInput | None = None


def form_values(stored: StoredSettings | None) -> dict[str, str]:
    """What the form shows for stored settings: everything but the secret."""
    if stored is None:
        return dict.fromkeys(TEXT_FIELDS, "")
    return {
        "account_code": stored.account_code,
        "account_id": stored.account_id,
        "client_id": stored.client_id,
        "calendar_ids": ", ".join(stored.calendar_ids),
    }


def _text(form: Mapping[str, object], name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _check_account_code(value: str) -> str:
    if not value:
        return "Enter the Rokt account code your Rokt account manager gave you."
    if not ACCOUNT_CODE.fullmatch(value):
        return (
            "Use up to 100 letters, digits, hyphens, underscores or dots, starting with a "
            "letter or digit (the code is part of Rokt API addresses)."
        )
    return ""


def _check_identifier(value: str, *, label: str, required: bool) -> str:
    if not value:
        return f"Enter the {label}." if required else ""
    if len(value) > MAX_ID_LENGTH:
        return f"The {label} is at most {MAX_ID_LENGTH} characters."
    if not VISIBLE_ASCII.fullmatch(value):
        return f"The {label} has no spaces or special characters; paste it exactly as Rokt gave it."
    return ""


def calendar_ids_of(value: str) -> tuple[tuple[str, ...], str]:
    """Calendar IDs separated by commas or spaces, each once; an error message or ""."""
    ids = tuple(dict.fromkeys(v for v in re.split(r"[\s,;]+", value) if v))
    bad = [v for v in ids if not CALENDAR_ID.fullmatch(v)]
    if bad:
        return (), (
            f"{bad[0][:40]!r} is not a calendar ID: use letters, digits, hyphens or "
            "underscores, separated by commas."
        )
    if len(ids) > MAX_CALENDARS:
        return (), f"Enter at most {MAX_CALENDARS} calendar IDs."
    return ids, ""


def _check_secret(value: str, *, required: bool) -> str:
    if not value:
        return "Enter the OAuth client secret from Rokt." if required else ""
    if len(value) > MAX_SECRET_LENGTH:
        return f"The client secret is at most {MAX_SECRET_LENGTH} characters."
    if not value.isprintable():
        return "The client secret contains characters that cannot be part of it; paste it again."
    return ""


def typed_values(form: Mapping[str, object]) -> dict[str, str]:
    """What the admin typed, to show again: everything but the secret."""
    values = {name: _text(form, name) for name in TEXT_FIELDS}
    values["enterprise_default"] = "on" if form.get("enterprise_default") == "on" else ""
    return values


def parse_settings(
    form: Mapping[str, object], *, has_stored_secret: bool, may_set_default: bool
) -> FormResult:
    values = typed_values(form)
    secret = _text(form, "client_secret")
    errors = {
        "account_code": _check_account_code(values["account_code"]),
        "account_id": _check_identifier(
            values["account_id"], label="Rokt account ID", required=False
        ),
        "client_id": _check_identifier(values["client_id"], label="OAuth client ID", required=True),
        "client_secret": _check_secret(secret, required=not has_stored_secret),
    }
    calendar_ids, errors["calendar_ids"] = calendar_ids_of(values["calendar_ids"])
    errors = {k: v for k, v in errors.items() if v}
    enterprise_default = may_set_default and form.get("enterprise_default") == "on"
    values["enterprise_default"] = "on" if enterprise_default else ""
    if errors:
        return FormResult(values, errors)
    parsed = SettingsInput(
        account_code=values["account_code"],
        account_id=values["account_id"],
        client_id=values["client_id"],
        client_secret=secret or None,
        enterprise_default=enterprise_default,
        calendar_ids=calendar_ids,
    )
    return FormResult(values, {}, parsed)


def credentials_to_test(
    form: Mapping[str, object], stored: StoredSettings | None, stored_secret: str | None
) -> tuple[Credentials | None, dict[str, str]]:
    """The typed credentials, falling back to the stored ones field by field."""
    client_id = _text(form, "client_id") or (stored.client_id if stored else "")
    typed = _text(form, "client_secret")
    errors = {
        "client_id": _check_identifier(client_id, label="OAuth client ID", required=True),
        "client_secret": _check_secret(typed, required=False),
    }
    if not typed and not stored_secret:
        errors["client_secret"] = NO_SECRET_TO_TEST
    errors = {k: v for k, v in errors.items() if v}
    if errors:
        return None, errors
    secret = typed or stored_secret or ""
    return Credentials(client_id, secret, typed_secret=bool(typed)), {}
