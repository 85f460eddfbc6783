-- The Rokt calendar ID(s) of a business unit's account (optional): the config UI's
-- "Choose an existing event" lists their events. Comma-separated; '' when none.
ALTER TABLE settings ADD COLUMN calendar_ids TEXT NOT NULL DEFAULT '';
