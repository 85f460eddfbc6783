"""Idempotent accept for PostgreSQL: many execute calls, one transaction, three statements."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from activity.errors import StorageUnavailable
from activity.storage import rows
from activity.storage.group_commit import AcceptJob, Key, Result
from activity.storage.models import QUEUED, Answer

INSERT_EXECUTIONS = """
INSERT INTO executions (activity_id, definition_instance_id, status, body, created_at, mid)
SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::float8[], $6::text[])
ON CONFLICT DO NOTHING
RETURNING activity_id, definition_instance_id
"""

SELECT_ANSWERS = """
SELECT e.activity_id, e.definition_instance_id, e.status, e.body
FROM executions e
JOIN unnest($1::text[], $2::text[]) AS k (activity_id, definition_instance_id)
  USING (activity_id, definition_instance_id)
"""

INSERT_OUTBOX = f"""
INSERT INTO outbox ({rows.OUTBOX_INSERT_COLUMNS}, state, attempts, created_at,
                    next_attempt_at, updated_at)
SELECT {rows.OUTBOX_INSERT_COLUMNS}, '{QUEUED}', 0, at, at, at
FROM unnest({", ".join(f"${n}::text[]" for n in range(1, len(rows.OUTBOX_INSERT_FIELDS) + 1))},
            ${len(rows.OUTBOX_INSERT_FIELDS) + 1}::float8[])
  AS u ({rows.OUTBOX_INSERT_COLUMNS}, at)
"""


async def accept_batch(conn: Any, jobs: Sequence[AcceptJob]) -> list[Result]:
    """Accept `jobs` inside the caller's transaction; one result per job, in order.

    A key repeated within the batch behaves as a repeat: the first job wins.
    """
    leader: dict[Key, AcceptJob] = {}
    for job in jobs:
        leader.setdefault(job.key, job)
    # Sorted keys: two instances inserting overlapping batches lock rows in the same order.
    leaders = [leader[key] for key in sorted(leader)]
    inserted: set[Key] = {
        (r["activity_id"], r["definition_instance_id"])
        for r in await conn.fetch(
            INSERT_EXECUTIONS,
            [j.activity_id for j in leaders],
            [j.definition_instance_id for j in leaders],
            [j.answer.status for j in leaders],
            [rows.dump_body(j.answer.body) for j in leaders],
            [j.now for j in leaders],
            [j.mid for j in leaders],
        )
    }
    answers = {key: job.answer for key, job in leader.items() if key in inserted}
    seen = [job for job in leaders if job.key not in inserted]
    if seen:
        for r in await conn.fetch(
            SELECT_ANSWERS,
            [j.activity_id for j in seen],
            [j.definition_instance_id for j in seen],
        ):
            key = (r["activity_id"], r["definition_instance_id"])
            answers[key] = Answer(int(r["status"]), json.loads(r["body"]))
    if any(key not in answers for key in leader):
        raise StorageUnavailable("an earlier answer vanished while accepting; retry")
    await _insert_items(conn, [j for j in jobs if j.key in inserted and leader[j.key] is j])
    return [(answers[j.key], j.key in inserted and leader[j.key] is j) for j in jobs]


async def _insert_items(conn: Any, jobs: Sequence[AcceptJob]) -> None:
    values = [(*rows.item_values(item), job.now) for job in jobs for item in job.items]
    if values:
        await conn.execute(INSERT_OUTBOX, *(list(column) for column in zip(*values, strict=True)))
