-- Execute's accept as one statement. A contact's answer and its outbox item (when it has one)
-- are inserted together through this view: one multi-row INSERT INTO accepts is its own
-- transaction (no BEGIN and COMMIT around it), so the database thread takes the GIL back
-- once per batch instead of after each of four statements, and SQLite needs no statement
-- journal. A contact answered before makes the primary key refuse the whole statement.
-- The view is never read: WHERE 0.
CREATE VIEW accepts AS
SELECT NULL AS activity_id, NULL AS definition_instance_id, NULL AS status, NULL AS body,
       NULL AS created_at, NULL AS mid, NULL AS item_mid, NULL AS account_code,
       NULL AS action, NULL AS batch_key, NULL AS payload, NULL AS subscription_ids,
       NULL AS event_id, NULL AS journey_id, NULL AS item_activity_id,
       NULL AS item_definition_instance_id, NULL AS contact_key
WHERE 0;

-- item_mid NULL: the answer alone (skipped or invalid contacts have no item).
CREATE TRIGGER accepts_insert INSTEAD OF INSERT ON accepts
BEGIN
    INSERT INTO executions (activity_id, definition_instance_id, status, body, created_at, mid)
    VALUES (NEW.activity_id, NEW.definition_instance_id, NEW.status, NEW.body, NEW.created_at,
            NEW.mid);
    INSERT INTO outbox (mid, account_code, action, batch_key, payload, subscription_ids,
                        event_id, journey_id, activity_id, definition_instance_id, contact_key,
                        state, attempts, created_at, next_attempt_at, updated_at)
    SELECT NEW.item_mid, NEW.account_code, NEW.action, NEW.batch_key, NEW.payload,
           NEW.subscription_ids, NEW.event_id, NEW.journey_id, NEW.item_activity_id,
           NEW.item_definition_instance_id, NEW.contact_key, 'queued', 0, NEW.created_at,
           NEW.created_at, NEW.created_at
    WHERE NEW.item_mid IS NOT NULL;
END;
