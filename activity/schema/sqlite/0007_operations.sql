-- Operations: what the Deliveries page and /metrics need beyond the outbox itself.

-- Journey names, by the journey (version) id that execute calls journeyId and lifecycle calls
-- interactionId. Filled from lifecycle calls that carry a name, or from Marketing Cloud.
CREATE TABLE journey_names (
    journey_id  TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    journey_key TEXT NOT NULL DEFAULT '',
    version     TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL,
    updated_at  REAL NOT NULL
);

-- Failed attempts scheduled for a retry, counted per business unit and five-minute bucket:
-- an item that later succeeds keeps no trace of its retries in the outbox.
CREATE TABLE delivery_stats (
    mid          TEXT NOT NULL,
    bucket_start REAL NOT NULL,
    outcome      TEXT NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (mid, bucket_start, outcome)
) WITHOUT ROWID;
CREATE INDEX delivery_stats_bucket ON delivery_stats (bucket_start);

-- Items waiting for a retry, per business unit (the Deliveries page's retry table).
CREATE INDEX outbox_retrying ON outbox (mid, next_attempt_at) WHERE state = 'queued' AND last_error <> '';
