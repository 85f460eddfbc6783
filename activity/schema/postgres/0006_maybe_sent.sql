-- When the latest Rokt call for an item started whose outcome we never learned (a timeout,
-- a dropped connection, a 5xx, or a crash mid-call): it may have reached Rokt. NULL when no
-- such call happened. Before sending such an item again the worker asks Rokt what it has.
ALTER TABLE outbox ADD COLUMN maybe_sent_at DOUBLE PRECISION;
