-- The second data flow: Rokt webhooks -> inbox -> Marketing Cloud data extension.

-- A business unit's secret webhook URL token: looked up by its SHA-256, kept encrypted to show.
CREATE TABLE webhook_endpoints (
    mid         TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    token_enc   BLOB NOT NULL,
    created_at  REAL NOT NULL
);

-- Accepted subscription webhooks, one row per Rokt eventId; claimed with leases like outbox.
CREATE TABLE inbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    mid             TEXT NOT NULL,
    webhook_id      TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    changes         TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    lease_owner     TEXT NOT NULL DEFAULT '',
    lease_until     REAL NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    updated_at      REAL NOT NULL,
    UNIQUE (mid, webhook_id)
);
CREATE INDEX inbox_due ON inbox (state, next_attempt_at);
CREATE INDEX inbox_mid_state ON inbox (mid, state);
CREATE INDEX inbox_finished ON inbox (updated_at) WHERE state IN ('sent', 'dead');

-- The newest known state of each subscription: field -> [value, timestamp], last writer wins.
CREATE TABLE subscription_rows (
    mid             TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    fields          TEXT NOT NULL,
    version         INTEGER NOT NULL,
    updated_at      REAL NOT NULL,
    PRIMARY KEY (mid, subscription_id)
) WITHOUT ROWID;

-- SubscriptionEvent* webhooks, for operators: who added, removed, or saw an event change.
CREATE TABLE calendar_event_activity (
    mid             TEXT NOT NULL,
    webhook_id      TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    at              REAL NOT NULL,
    PRIMARY KEY (mid, webhook_id)
) WITHOUT ROWID;
CREATE INDEX calendar_event_activity_event ON calendar_event_activity (mid, event_id);
