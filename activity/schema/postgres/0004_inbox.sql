-- The second data flow: Rokt webhooks -> inbox -> Marketing Cloud data extension.

-- A business unit's secret webhook URL token: looked up by its SHA-256, kept encrypted to show.
CREATE TABLE webhook_endpoints (
    mid         TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    token_enc   BYTEA NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL
);

-- Accepted subscription webhooks, one row per Rokt eventId; claimed with leases like outbox.
CREATE TABLE inbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mid             TEXT NOT NULL,
    webhook_id      TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    changes         TEXT NOT NULL,
    state           TEXT NOT NULL
        CHECK (state IN ('queued', 'sending', 'sent', 'dead', 'held')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      DOUBLE PRECISION NOT NULL,
    next_attempt_at DOUBLE PRECISION NOT NULL,
    lease_owner     TEXT NOT NULL DEFAULT '',
    lease_until     DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    updated_at      DOUBLE PRECISION NOT NULL,
    UNIQUE (mid, webhook_id)
);
CREATE INDEX inbox_pending ON inbox (id) WHERE state IN ('queued', 'sending');
CREATE INDEX inbox_mid_state ON inbox (mid, state);
CREATE INDEX inbox_finished ON inbox (updated_at) WHERE state IN ('sent', 'dead');

-- The newest known state of each subscription: field -> [value, timestamp], last writer wins.
CREATE TABLE subscription_rows (
    mid             TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    fields          TEXT NOT NULL,
    version         INTEGER NOT NULL,
    updated_at      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (mid, subscription_id)
);

-- SubscriptionEvent* webhooks, for operators: who added, removed, or saw an event change.
CREATE TABLE calendar_event_activity (
    mid             TEXT NOT NULL,
    webhook_id      TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    at              DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (mid, webhook_id)
);
CREATE INDEX calendar_event_activity_event ON calendar_event_activity (mid, event_id);
