"""The fake's data extensions: definitions created over SOAP, rows upserted over REST.

Rules from Salesforce's public docs ("creating_a_data_extension_using_web_service_api", the
data extension field types, and the async rows API), as summarised in
marketing-cloud-and-webhooks.md section 3; each check names its rule.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

# Field types a data extension knows, and which need a length.
FIELD_TYPES = frozenset(
    {"Text", "Number", "Date", "Boolean", "EmailAddress", "Phone", "Decimal", "Locale"}
)
MAX_TEXT = 4000
MAX_KEY = 36  # the external key (CustomerKey): at most 36 characters
MAX_ASYNC_ROWS = 32_000  # the async rows API's hard batch limit
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    length: int | None
    required: bool
    primary_key: bool


@dataclass
class DataExtension:
    mid: str
    customer_key: str
    name: str
    object_id: str
    fields: dict[str, FieldDef]
    rows: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.primary_key]

    def check_row(self, row: Any) -> str:
        """Why Marketing Cloud would refuse this row, or "" when it takes it."""
        if not isinstance(row, dict):
            return "a row must be an object"
        lowered = {f.lower(): f for f in self.fields}
        for name in row:
            if name.lower() not in lowered:
                return f"The field {name} does not exist in the data extension."
        values = {lowered[k.lower()]: v for k, v in row.items()}
        for f in self.fields.values():
            value = values.get(f.name)
            if value is None or value == "":
                if f.required:  # every required field present (async rows API)
                    return f"The field {f.name} is required."
                continue
            why = _type_error(f, value)
            if why:
                return why
        return ""

    def upsert(self, row: dict[str, Any]) -> None:
        lowered = {f.lower(): f for f in self.fields}
        values = {lowered[k.lower()]: v for k, v in row.items()}
        key = tuple(str(values[k]).lower() for k in self.keys)
        current = self.rows.get(key, {})
        current.update(values)
        self.rows[key] = current


def _type_error(f: FieldDef, value: Any) -> str:
    if f.type == "Boolean":
        ok = isinstance(value, bool) or str(value).lower() in ("true", "false", "1", "0")
        return "" if ok else f"{f.name}: {value!r} is not a Boolean."
    if f.type == "Date":
        try:
            datetime.fromisoformat(str(value))
        except ValueError:
            return f"{f.name}: {value!r} is not a valid date."
        return ""
    if isinstance(value, dict | list):
        return f"{f.name}: a value must be text."
    text = str(value)
    if f.length is not None and len(text) > f.length:
        return f"{f.name}: the value is longer than {f.length} characters."
    if f.type == "EmailAddress" and not _EMAIL.fullmatch(text):
        return f"{f.name}: {text!r} is not a valid email address."
    return ""


@dataclass
class Requests:
    """Async upsert requests: requestId -> (data extension key, per-row errors)."""

    done: dict[str, tuple[str, list[dict[str, Any]]]] = field(default_factory=dict)
    # requestId -> the business unit whose token made it: another unit's token is told the
    # request does not exist, as for any id it does not know.
    owner: dict[str, str] = field(default_factory=dict)


@dataclass
class DataExtensions:
    by_key: dict[tuple[str, str], DataExtension] = field(default_factory=dict)  # (mid, key)
    requests: Requests = field(default_factory=Requests)

    def get(self, mid: str, customer_key: str) -> DataExtension | None:
        return self.by_key.get((mid, customer_key.lower()))

    def create(self, mid: str, customer_key: str, name: str, fields: list[FieldDef]) -> str:
        """The new object's id; ValueError with Marketing Cloud's message when refused."""
        if not customer_key or len(customer_key) > MAX_KEY:
            raise ValueError(f"CustomerKey must be 1 to {MAX_KEY} characters.")
        if not name:
            raise ValueError("Name is required.")
        if self.get(mid, customer_key) is not None:
            raise ValueError(f"A data extension with CustomerKey {customer_key} already exists.")
        if any(d.mid == mid and d.name.lower() == name.lower() for d in self.by_key.values()):
            raise ValueError(f"A data extension named {name} already exists.")
        if not fields:
            raise ValueError("A data extension needs at least one field.")
        seen: set[str] = set()
        for f in fields:
            if f.name.lower() in seen:
                raise ValueError(f"The field {f.name} is defined twice.")
            seen.add(f.name.lower())
            if f.type not in FIELD_TYPES:
                raise ValueError(f"{f.name}: unknown FieldType {f.type}.")
            sized = f.type in ("Text", "EmailAddress")
            if sized and (f.length is None or not 1 <= f.length <= MAX_TEXT):
                raise ValueError(f"{f.name}: MaxLength must be 1 to {MAX_TEXT}.")
            if f.primary_key and not f.required:  # a primary key field must be required
                raise ValueError(f"{f.name}: a primary key field must be required.")
            if f.primary_key and f.type == "Date":  # never a Date as a primary key
                raise ValueError(f"{f.name}: a Date field cannot be a primary key.")
        object_id = secrets.token_hex(16)
        extension = DataExtension(mid, customer_key, name, object_id, {f.name: f for f in fields})
        self.by_key[(mid, customer_key.lower())] = extension
        return object_id


DATA_EXTENSIONS = web.AppKey("fake_sfmc_data_extensions", DataExtensions)


def data_extensions_of(app: web.Application) -> DataExtensions:
    if DATA_EXTENSIONS not in app:
        app[DATA_EXTENSIONS] = DataExtensions()
    return app[DATA_EXTENSIONS]
