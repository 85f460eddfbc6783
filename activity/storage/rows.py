"""Row <-> value mapping shared by both backends (rows are mappings by column name)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol

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
    return AuditEntry(
        mid=row["mid"],
        at=float(row["at"]),
        user_id=row["user_id"],
        user_email=row["user_email"],
        action=row["action"],
        detail=row["detail"],
    )


def lifecycle_from_row(row: Row) -> LifecycleRecord:
    return LifecycleRecord(
        route=row["route"],
        activity_object_id=row["activity_object_id"],
        interaction_id=row["interaction_id"],
        original_definition_id=row["original_definition_id"],
        interaction_key=row["interaction_key"],
        interaction_version=row["interaction_version"],
        first_seen=float(row["first_seen"]),
        last_seen=float(row["last_seen"]),
        calls=int(row["calls"]),
    )


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
    return json.dumps(body, separators=(",", ":"), sort_keys=True)
