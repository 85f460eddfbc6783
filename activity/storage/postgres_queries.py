"""The PostgreSQL store's SQL, in one place. Values are always bound parameters."""

from __future__ import annotations

from activity.storage.models import DEAD, QUEUED, SENDING, SENT

# Rows another claimer has locked are skipped, not waited for: instances share the work.
CLAIM = f"""
UPDATE outbox SET state = '{SENDING}', lease_owner = $1, lease_until = $2 + $3,
                  attempts = attempts + 1, updated_at = $2
WHERE id IN (
    SELECT id FROM outbox
    WHERE (state = '{QUEUED}' AND next_attempt_at <= $2)
       OR (state = '{SENDING}' AND lease_until < $2)
    ORDER BY id LIMIT $4
    FOR UPDATE SKIP LOCKED
)
RETURNING *
"""

# Each takes the item ids as the parameter after its own; see PostgresStore._update.
MARK_SENT = (
    f"UPDATE outbox SET state = '{SENT}', lease_owner = '', updated_at = $1, sent_at = $1, "
    "last_error = $2"
)
MARK_MAYBE_SENT = "UPDATE outbox SET maybe_sent_at = $1::double precision"
MARK_RETRY = (
    f"UPDATE outbox SET state = '{QUEUED}', lease_owner = '', next_attempt_at = $1, "
    "last_error = $2, updated_at = $3"
)
MARK_DEAD = (
    f"UPDATE outbox SET state = '{DEAD}', lease_owner = '', last_error = $1, updated_at = $2"
)
# Claimed but never tried (given back, or released): the claim counted an attempt that did
# not happen.
UNCOUNT_ATTEMPT = "GREATEST(attempts - 1, 0)"
GIVE_BACK = (
    f"UPDATE outbox SET state = '{QUEUED}', lease_owner = '', lease_until = 0, "
    f"attempts = {UNCOUNT_ATTEMPT}, next_attempt_at = $1, last_error = $2, updated_at = $1"
)
OWNER_GUARD = f" AND state = '{SENDING}' AND lease_owner = $"

RELEASE = f"""
UPDATE outbox SET state = '{QUEUED}', lease_owner = '', lease_until = 0,
                  attempts = {UNCOUNT_ATTEMPT}
WHERE state = '{SENDING}' AND lease_owner = $1
"""

NEXT_DUE = f"SELECT MIN(next_attempt_at) FROM outbox WHERE state = '{QUEUED}'"

DELIVERY_COUNTS = """
SELECT journey_id, activity_id, state, COUNT(*) AS n FROM outbox
WHERE $1::text IS NULL OR mid = $1
GROUP BY journey_id, activity_id, state ORDER BY journey_id, activity_id, state
"""

RECENT_DEAD = f"""
SELECT * FROM outbox WHERE state = '{DEAD}' AND ($1::text IS NULL OR mid = $1)
ORDER BY updated_at DESC, id DESC LIMIT $2
"""

DELIVERIES_OVER_TIME = """
SELECT floor(sent_at / $1) * $1 AS bucket, COUNT(*) AS n FROM outbox
WHERE sent_at IS NOT NULL AND sent_at >= $2 AND ($3::text IS NULL OR mid = $3)
GROUP BY bucket ORDER BY bucket
"""

OUTBOX_DEPTH = f"""
SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox
WHERE state IN ('{QUEUED}', '{SENDING}')
"""

UPSERT_SETTINGS = """
INSERT INTO settings (mid, account_code, account_id, client_id, secret_token, enterprise_id,
                      is_enterprise_default, updated_at, updated_by, calendar_ids)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (mid) DO UPDATE SET
    account_code = excluded.account_code, account_id = excluded.account_id,
    client_id = excluded.client_id, secret_token = excluded.secret_token,
    enterprise_id = excluded.enterprise_id, is_enterprise_default = excluded.is_enterprise_default,
    updated_at = excluded.updated_at, updated_by = excluded.updated_by,
    calendar_ids = excluded.calendar_ids
"""

# Two admins naming different defaults at once: the second waits for the first, then wins.
LOCK_ENTERPRISE = "SELECT pg_advisory_xact_lock(hashtext($1))"
CLEAR_ENTERPRISE_DEFAULT = """
UPDATE settings SET is_enterprise_default = FALSE
WHERE enterprise_id = $1 AND mid <> $2 AND is_enterprise_default
"""

ENTERPRISE_DEFAULT = """
SELECT * FROM settings WHERE enterprise_id = $1 AND is_enterprise_default
ORDER BY updated_at DESC LIMIT 1
"""

REPLACE_SECRETS = """
UPDATE settings AS s SET secret_token = t.token
FROM unnest($1::text[], $2::bytea[]) AS t (mid, token)
WHERE s.mid = t.mid RETURNING s.mid
"""

INSERT_AUDIT = """
INSERT INTO settings_audit (mid, at, user_id, user_email, action, detail)
VALUES ($1, $2, $3, $4, $5, $6)
"""

AUDIT_LOG = "SELECT * FROM settings_audit WHERE mid = $1 ORDER BY at DESC, id DESC LIMIT $2"

UPSERT_LIFECYCLE = """
INSERT INTO lifecycle_calls VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 1)
ON CONFLICT (route, activity_object_id, interaction_id, interaction_version) DO UPDATE SET
    last_seen = excluded.last_seen, calls = lifecycle_calls.calls + 1,
    original_definition_id = excluded.original_definition_id,
    interaction_key = excluded.interaction_key
"""

PRUNE_EXECUTIONS = """
DELETE FROM executions WHERE (activity_id, definition_instance_id) IN
  (SELECT activity_id, definition_instance_id FROM executions WHERE created_at < $1 LIMIT $2)
"""

PRUNE_OUTBOX = """
DELETE FROM outbox WHERE id IN
  (SELECT id FROM outbox WHERE state IN ('sent', 'dead') AND updated_at < $1 LIMIT $2)
"""
