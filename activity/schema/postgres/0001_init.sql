-- Rokt activity schema, PostgreSQL. Times are UNIX seconds (DOUBLE PRECISION).
-- Payloads stay TEXT (JSON as written): JSONB would reject a \u0000 from contact data and
-- reorder keys; operators can still query them with payload::jsonb.

CREATE TABLE settings (
    mid                   TEXT PRIMARY KEY,
    account_code          TEXT NOT NULL,
    account_id            TEXT NOT NULL DEFAULT '',
    client_id             TEXT NOT NULL,
    secret_token          BYTEA NOT NULL,
    enterprise_id         TEXT NOT NULL DEFAULT '',
    is_enterprise_default BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at            DOUBLE PRECISION NOT NULL,
    updated_by            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX settings_enterprise_default ON settings (enterprise_id) WHERE is_enterprise_default;

CREATE TABLE settings_audit (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mid        TEXT NOT NULL,
    at         DOUBLE PRECISION NOT NULL,
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
    first_seen             DOUBLE PRECISION NOT NULL,
    last_seen              DOUBLE PRECISION NOT NULL,
    calls                  INTEGER NOT NULL,
    PRIMARY KEY (route, activity_object_id, interaction_id, interaction_version)
);
CREATE INDEX lifecycle_calls_last_seen ON lifecycle_calls (last_seen);

CREATE TABLE executions (
    activity_id            TEXT NOT NULL,
    definition_instance_id TEXT NOT NULL,
    status                 INTEGER NOT NULL,
    body                   TEXT NOT NULL,
    created_at             DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (activity_id, definition_instance_id)
);

CREATE TABLE outbox (
    id                     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
    state                  TEXT NOT NULL
        CHECK (state IN ('queued', 'sending', 'sent', 'dead')),
    attempts               INTEGER NOT NULL DEFAULT 0,
    created_at             DOUBLE PRECISION NOT NULL,
    next_attempt_at        DOUBLE PRECISION NOT NULL,
    lease_owner            TEXT NOT NULL DEFAULT '',
    lease_until            DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_error             TEXT NOT NULL DEFAULT '',
    updated_at             DOUBLE PRECISION NOT NULL,
    sent_at                DOUBLE PRECISION
);
-- claim() walks unfinished rows in id order; sent and dead rows never enter this index.
CREATE INDEX outbox_pending ON outbox (id) WHERE state IN ('queued', 'sending');
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'queued';
CREATE INDEX outbox_journey ON outbox (journey_id, activity_id, state);
CREATE INDEX outbox_mid_state ON outbox (mid, state);
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX outbox_dead ON outbox (updated_at) WHERE state = 'dead';
