"""Row <-> value mapping shared by both backends (rows are mappings by column name)."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from activity.storage.models import (
    AuditEntry,
    DeadItem,
    LifecycleRecord,
    NewItem,
    OutboxItem,
    StoredSettings,
)


class Row(Protocol):
    """sqlite3.Row, asyncpg.Record and dict all read columns by name."""

    def __getitem__(self, key: str, /) -> Any: ...


R = TypeVar("R")

# What a field's annotation asks of its column: the backends hand back numerics as
# Decimal/int, flags as 0/1 and blobs as memoryview.
_CONVERT: dict[str, Callable[[Any], Any]] = {
    "float": float,
    "int": int,
    "bool": bool,
    "bytes": bytes,
}


_Readers = tuple[tuple[str, Callable[[Any], Any] | None], ...]
_READERS: dict[type[Any], _Readers] = {}


def _readers(cls: type[Any]) -> _Readers:
    found = _READERS.get(cls)
    if found is None:
        fields = dataclasses.fields(cls)
        found = _READERS[cls] = tuple((f.name, _CONVERT.get(str(f.type))) for f in fields)
    return found


def record_from_row(cls: type[R], row: Row) -> R:
    """A record whose every field is the column of its name, converted to the field's type."""
    return cls(
        **{
            name: row[name] if convert is None else convert(row[name])
            for name, convert in _readers(cls)
        }
    )


def record_values(record: object, columns: Iterable[str]) -> tuple[object, ...]:
    """The record's values in the order of `columns` (an INSERT's column list)."""
    return tuple(getattr(record, column) for column in columns)


def settings_from_row(row: Row) -> StoredSettings:
    return StoredSettings(
        mid=row["mid"],
        account_code=row["account_code"],
        client_id=row["client_id"],
        secret_token=bytes(row["secret_token"]),
        account_id=row["account_id"],
        enterprise_id=row["enterprise_id"],
        is_enterprise_default=bool(row["is_enterprise_default"]),
        updated_at=float(row["updated_at"]),
        updated_by=row["updated_by"],
        calendar_ids=tuple(c for c in str(row["calendar_ids"]).split(",") if c),
    )


def audit_from_row(row: Row) -> AuditEntry:
    return record_from_row(AuditEntry, row)


def lifecycle_from_row(row: Row) -> LifecycleRecord:
    return record_from_row(LifecycleRecord, row)


def item_values(item: NewItem) -> tuple[Any, ...]:
    """Column values in OUTBOX_INSERT_COLUMNS order (without state and times)."""
    return (
        item.mid,
        item.account_code,
        item.action,
        item.batch_key,
        item.payload_json,
        json.dumps(list(item.subscription_ids)),
        item.event_id,
        item.journey_id,
        item.activity_id,
        item.definition_instance_id,
        item.contact_key,
    )


# The columns item_values fills, in its order.
OUTBOX_INSERT_FIELDS = (
    "mid", "account_code", "action", "batch_key", "payload", "subscription_ids", "event_id",
    "journey_id", "activity_id", "definition_instance_id", "contact_key",
)  # fmt: skip
OUTBOX_INSERT_COLUMNS = ", ".join(OUTBOX_INSERT_FIELDS)


def items_from_rows(found: Iterable[Row]) -> list[OutboxItem]:
    """Outbox rows as items, ordered by id. Items of one batch usually carry the same event:
    each distinct payload text is parsed once, and its items share the (read-only) result."""
    payloads: dict[str, dict[str, Any]] = {}
    items = [_item_from_row(r, payloads) for r in found]
    items.sort(key=lambda item: item.id)
    return items


def _item_from_row(row: Row, payloads: dict[str, dict[str, Any]]) -> OutboxItem:
    text = row["payload"]
    payload = payloads.get(text)
    if payload is None:
        payload = payloads[text] = json.loads(text)
    return OutboxItem(
        id=int(row["id"]),
        mid=row["mid"],
        account_code=row["account_code"],
        action=row["action"],
        batch_key=row["batch_key"],
        payload=payload,
        subscription_ids=tuple(json.loads(row["subscription_ids"])),
        event_id=row["event_id"],
        journey_id=row["journey_id"],
        activity_id=row["activity_id"],
        definition_instance_id=row["definition_instance_id"],
        contact_key=row["contact_key"],
        state=row["state"],
        attempts=int(row["attempts"]),
        created_at=float(row["created_at"]),
        next_attempt_at=float(row["next_attempt_at"]),
        last_error=row["last_error"],
        payload_json=text,
        maybe_sent_at=None if row["maybe_sent_at"] is None else float(row["maybe_sent_at"]),
    )


def dead_from_row(row: Row) -> DeadItem:
    return DeadItem(
        id=int(row["id"]),
        journey_id=row["journey_id"],
        activity_id=row["activity_id"],
        event_id=row["event_id"],
        contact_key=row["contact_key"],
        reason=row["last_error"],
        at=float(row["updated_at"]),
    )


def dump_body(body: dict[str, Any]) -> str:
    """An answer's body as stored and sent: compact, keys sorted. Execute's answers are three
    strings, mostly the same few per journey: those are encoded once each."""
    if len(body) == 3:
        status, event_id, error = (
            body.get("roktStatus"),
            body.get("roktEventId"),
            body.get("roktError"),
        )
        if type(status) is str and type(event_id) is str and type(error) is str:
            return _answer_text(status, event_id, error)
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


@functools.lru_cache(maxsize=4096)
def _answer_text(status: str, event_id: str, error: str) -> str:
    body = {"roktStatus": status, "roktEventId": event_id, "roktError": error}
    return json.dumps(body, separators=(",", ":"), sort_keys=True)
