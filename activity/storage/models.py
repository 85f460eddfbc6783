"""Frozen values that the storage layer returns and accepts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from activity.frozen import quick_init
from activity.rokt.api_requests import canonical_json

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
DEAD = "dead"
ITEM_STATES = (QUEUED, SENDING, SENT, DEAD)


@dataclass(frozen=True)
class StoredSettings:
    """A business unit's Rokt settings; the client secret stays encrypted here."""

    mid: str
    account_code: str
    client_id: str
    secret_token: bytes = field(repr=False)
    account_id: str = ""
    enterprise_id: str = ""
    is_enterprise_default: bool = False
    updated_at: float = 0.0
    updated_by: str = ""
    calendar_ids: tuple[str, ...] = ()  # Rokt calendars whose events the editor can list


@dataclass(frozen=True)
class AuditEntry:
    mid: str
    at: float
    user_id: str
    user_email: str
    action: str
    detail: str


@dataclass(frozen=True)
class LifecycleCall:
    route: str
    activity_object_id: str
    interaction_id: str
    original_definition_id: str
    interaction_key: str
    interaction_version: str
    at: float


@dataclass(frozen=True)
class LifecycleRecord:
    route: str
    activity_object_id: str
    interaction_id: str
    original_definition_id: str
    interaction_key: str
    interaction_version: str
    first_seen: float
    last_seen: float
    calls: int


@quick_init
@dataclass(frozen=True)
class Answer:
    """What execute answered for one (activityId, definitionInstanceId)."""

    status: int
    body: dict[str, Any]


@quick_init
@dataclass(frozen=True)
class NewItem:
    """One accepted contact's delivery, as execute hands it to the outbox."""

    mid: str
    account_code: str
    action: str
    batch_key: str
    payload: dict[str, Any]
    subscription_ids: tuple[str, ...]
    event_id: str
    journey_id: str = ""
    activity_id: str = ""
    definition_instance_id: str = ""
    contact_key: str = ""
    # canonical_json(payload), as stored; execute passes the one its plan already made.
    payload_json: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        _fill_payload_json(self)


@quick_init
@dataclass(frozen=True)
class OutboxItem:
    id: int
    mid: str
    account_code: str
    action: str
    batch_key: str
    payload: dict[str, Any]
    subscription_ids: tuple[str, ...]
    event_id: str
    journey_id: str
    activity_id: str
    definition_instance_id: str
    contact_key: str
    state: str
    attempts: int
    created_at: float
    next_attempt_at: float
    last_error: str = ""
    payload_json: str = field(default="", compare=False)  # payload as stored
    # Start of the latest call for this item that may have reached Rokt (migration 0006).
    maybe_sent_at: float | None = None

    def __post_init__(self) -> None:
        _fill_payload_json(self)


@dataclass(frozen=True)
class DeliveryCount:
    journey_id: str
    activity_id: str
    state: str
    count: int


@dataclass(frozen=True)
class DeadItem:
    id: int
    journey_id: str
    activity_id: str
    event_id: str
    contact_key: str
    reason: str
    at: float


@dataclass(frozen=True)
class OutboxDepth:
    pending: int
    oldest_age_seconds: float


def _fill_payload_json(item: NewItem | OutboxItem) -> None:
    """An item built without its payload's JSON text gets canonical_json(payload)."""
    if not item.payload_json:
        object.__setattr__(item, "payload_json", canonical_json(item.payload))


# --- sign-in and the Marketing Cloud connection (migration 0003) ---------------------------

SSO_SOURCE = "sso"  # a session started by the enhanced package's OAuth sign-in
LEGACY_SOURCE = "legacy"  # a session started by a legacy package's posted JWT
REFRESH_TOKEN_GRANT = "refresh_token"  # noqa: S105 - an OAuth grant type, not a secret
CLIENT_CREDENTIALS_GRANT = "client_credentials"


@dataclass(frozen=True)
class SessionRecord:
    """An admin session as stored: found by the SHA-256 of the cookie's random id."""

    id_hash: str
    mid: str
    enterprise_id: str
    user_id: str
    email: str
    csrf_token: str = field(repr=False)
    source: str
    created_at: float
    expires_at: float
    flash: str = ""


@dataclass(frozen=True)
class SsoState:
    """A pending sign-in: the OAuth `state` (hashed), the browser it belongs to (the hash of
    a random value in a short-lived cookie), where to go afterwards, and when it expires."""

    state_hash: str
    browser_hash: str
    next_path: str
    created_at: float
    expires_at: float


@dataclass(frozen=True)
class SfmcConnection:
    """How background work reaches one business unit's Marketing Cloud.

    `secret_token` is Fernet-encrypted (activity.crypto.Keyring): the refresh token when
    `grant_type` is "refresh_token" (stored at SSO sign-in, replaced at every refresh because
    Marketing Cloud rotates it), the client secret when it is "client_credentials".
    `auth_url` is the tenant's auth base URL with the tssd filled in.
    """

    mid: str
    grant_type: str
    client_id: str
    secret_token: bytes = field(repr=False)
    auth_url: str
    connected_at: float
    updated_at: float
    enterprise_id: str = ""
    tssd: str = ""
    rest_instance_url: str = ""
    soap_instance_url: str = ""
    scope: str = ""
    user_id: str = ""
    user_email: str = ""
    needs_signin: bool = False
    needs_signin_why: str = ""


@dataclass(frozen=True)
class ActivityStats:
    """What happened to the contacts of one activity (one journey version), for the running
    hover and modal: outbox items by state, retrying ones, dead reasons, skipped contacts."""

    queued: int = 0  # waiting, including retrying
    sending: int = 0
    sent: int = 0
    dead: int = 0
    retrying: int = 0  # queued after at least one failed attempt
    last_error: str = ""  # the latest retrying item's error
    next_attempt_at: float | None = None  # the earliest retry
    dead_reasons: tuple[tuple[str, int], ...] = ()  # most frequent first
    skipped: tuple[tuple[str, int], ...] = ()  # execute statuses that queued nothing
    subscribed: int = 0  # action subscribe: contacts that got their subscription
    last_sent_at: float | None = None
