-- Retention: finished work older than ACTIVITY_RETENTION_DAYS is deleted in small chunks.

CREATE INDEX executions_created_at ON executions (created_at);
CREATE INDEX outbox_finished ON outbox (updated_at) WHERE state IN ('sent', 'dead');
