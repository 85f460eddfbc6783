-- Rokt activity schema, SQLite. Times are UNIX seconds (REAL).

CREATE TABLE settings (
    mid                   TEXT PRIMARY KEY,
    account_code          TEXT NOT NULL,
    account_id            TEXT NOT NULL DEFAULT '',
    client_id             TEXT NOT NULL,
    secret_token          BLOB NOT NULL,
    enterprise_id         TEXT NOT NULL DEFAULT '',
    is_enterprise_default INTEGER NOT NULL DEFAULT 0,
    updated_at            REAL NOT NULL,
    updated_by            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX settings_enterprise_default ON settings (enterprise_id) WHERE is_enterprise_default = 1;

CREATE TABLE settings_audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    mid        TEXT NOT NULL,
    at         REAL NOT NULL,
    user_id    TEXT NOT NULL,
    user_email TEXT NOT NULL,
    action     TEXT NOT NULL,
    detail     TEXT NOT NULL
);
CREATE INDEX settings_audit_mid ON settings_audit (mid, at);

CREATE TABLE lifecycle_calls (
    route                  TEXT NOT NULL,
    activity_object_id     TEXT NOT NULL,
    interaction_id         TEXT NOT NULL,
    original_definition_id TEXT NOT NULL,
    interaction_key        TEXT NOT NULL,
    interaction_version    TEXT NOT NULL,
    first_seen             REAL NOT NULL,
    last_seen              REAL NOT NULL,
    calls                  INTEGER NOT NULL,
    PRIMARY KEY (route, activity_object_id, interaction_id, interaction_version)
);

CREATE TABLE executions (
    activity_id            TEXT NOT NULL,
    definition_instance_id TEXT NOT NULL,
    status                 INTEGER NOT NULL,
    body                   TEXT NOT NULL,
    created_at             REAL NOT NULL,
    PRIMARY KEY (activity_id, definition_instance_id)
) WITHOUT ROWID;

CREATE TABLE outbox (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    mid                    TEXT NOT NULL,
    account_code           TEXT NOT NULL,
    action                 TEXT NOT NULL,
    batch_key              TEXT NOT NULL,
    payload                TEXT NOT NULL,
    subscription_ids       TEXT NOT NULL,
    event_id               TEXT NOT NULL,
    journey_id             TEXT NOT NULL,
    activity_id            TEXT NOT NULL,
    definition_instance_id TEXT NOT NULL,
    contact_key            TEXT NOT NULL,
    state                  TEXT NOT NULL,
    attempts               INTEGER NOT NULL DEFAULT 0,
    created_at             REAL NOT NULL,
    next_attempt_at        REAL NOT NULL,
    lease_owner            TEXT NOT NULL DEFAULT '',
    lease_until            REAL NOT NULL DEFAULT 0,
    last_error             TEXT NOT NULL DEFAULT '',
    updated_at             REAL NOT NULL,
    sent_at                REAL
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_journey ON outbox (journey_id, activity_id, state);
CREATE INDEX outbox_mid_state ON outbox (mid, state);
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;
