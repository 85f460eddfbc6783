-- The business unit (MID) each execute answer was given for: the MID whose Rokt settings the
-- call resolved to (as on its outbox rows), else the inArguments' MID; NULL when the call
-- named none usable. The running views count skipped and subscribed contacts per MID, so one
-- business unit never sees another's. Rows from before this migration stay NULL (counted
-- for nobody). No index: the per-activity reads use the primary key's activity_id prefix,
-- and the execute hot path keeps one index to maintain.
ALTER TABLE executions ADD COLUMN mid TEXT;
