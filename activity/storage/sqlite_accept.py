"""Idempotent accept for SQLite: many execute calls, one transaction, two statements (three
when JB retried a contact).

The database thread competes with the event loop for the GIL, and under load every time it
retakes the GIL (after each statement) it waits for the loop. So `prepare` builds the SQL
and its parameters on the loop, and `run`, in the database thread, executes a handful of
multi-row statements and little else. The caller holds the write lock (BEGIN IMMEDIATE), so
what the lookup finds cannot change before the inserts.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from activity.storage import rows
from activity.storage.group_commit import AcceptJob, Key, Result
from activity.storage.models import QUEUED, Answer

# Well under SQLite's 32,766 host parameters per statement.
ROWS_PER_STATEMENT = 500
# One row for all earlier answers: fetching a row per key would retake the GIL per key.
EARLIER_ANSWERS = """
SELECT json_group_array(json_array(e.activity_id, e.definition_instance_id, e.status, e.body))
FROM json_each(?) AS k
JOIN executions e ON e.activity_id = json_extract(k.value, '$[0]')
                 AND e.definition_instance_id = json_extract(k.value, '$[1]')
"""
_EXECUTION_ROW = "(?, ?, ?, ?, ?, ?)"
_EXECUTION_INSERT = (
    "INSERT INTO executions (activity_id, definition_instance_id, status, body, created_at, mid) "
    "VALUES "
)
_OUTBOX_ROW = f"({', '.join('?' * len(rows.OUTBOX_INSERT_FIELDS))}, '{QUEUED}', 0, ?, ?, ?)"
_OUTBOX_INSERT = (
    f"INSERT INTO outbox ({rows.OUTBOX_INSERT_COLUMNS}, state, attempts, created_at, "
    "next_attempt_at, updated_at) VALUES "
)

Statement = tuple[str, list[Any]]


@dataclass(frozen=True)
class Prepared:
    jobs: Sequence[AcceptJob]
    leaders: dict[Key, AcceptJob]  # the first job of each key: a repeat in the batch is a repeat
    inserts: list[Statement]  # correct when no key has an earlier answer; answers first


def prepare(jobs: Sequence[AcceptJob]) -> Prepared:
    leaders: dict[Key, AcceptJob] = {}
    for job in jobs:
        leaders.setdefault(job.key, job)
    return Prepared(jobs, leaders, _inserts(list(leaders.values())))


def run(db: sqlite3.Connection, batch: Prepared) -> list[Result]:
    """Accept the batch inside the caller's write transaction; one result per job, in order.

    Almost every batch holds only new contacts, so the answers are inserted without looking
    for earlier ones first: if one of them was answered before, its primary key refuses the
    whole statement, SQLite undoes that statement alone, and the batch takes the slow path."""
    if len(batch.leaders) <= ROWS_PER_STATEMENT:  # the answers are one statement
        try:
            db.execute(*batch.inserts[0])
        except sqlite3.IntegrityError:
            pass
        else:
            for sql, params in batch.inserts[1:]:
                db.execute(sql, params)
            return [(batch.leaders[j.key].answer, batch.leaders[j.key] is j) for j in batch.jobs]
    return _run_with_earlier_answers(db, batch)


def _run_with_earlier_answers(db: sqlite3.Connection, batch: Prepared) -> list[Result]:
    keys_json = json.dumps(list(batch.leaders))
    (found,) = db.execute(EARLIER_ANSWERS, (keys_json,)).fetchone()
    answers: dict[Key, Answer] = {
        (activity_id, instance_id): Answer(int(status), json.loads(body))
        for activity_id, instance_id, status, body in json.loads(found)
    }
    inserts = batch.inserts
    if answers:  # JB retried some contacts: insert only the others (rare, so built here)
        inserts = _inserts([j for key, j in batch.leaders.items() if key not in answers])
    for sql, params in inserts:
        db.execute(sql, params)
    return [
        (answers[j.key], False)
        if j.key in answers
        else (batch.leaders[j.key].answer, batch.leaders[j.key] is j)
        for j in batch.jobs
    ]


def _inserts(fresh: list[AcceptJob]) -> list[Statement]:
    executions = [
        (
            j.activity_id,
            j.definition_instance_id,
            j.answer.status,
            rows.dump_body(j.answer.body),
            j.now,
            j.mid,
        )
        for j in fresh
    ]
    items = [(*rows.item_values(item), j.now, j.now, j.now) for j in fresh for item in j.items]
    return [
        *_multi_row(_EXECUTION_INSERT, _EXECUTION_ROW, executions),
        *_multi_row(_OUTBOX_INSERT, _OUTBOX_ROW, items),
    ]


def _multi_row(head: str, row: str, values: list[tuple[Any, ...]]) -> list[Statement]:
    statements = []
    for start in range(0, len(values), ROWS_PER_STATEMENT):
        chunk = values[start : start + ROWS_PER_STATEMENT]
        sql = head + ", ".join([row] * len(chunk))
        statements.append((sql, [value for one in chunk for value in one]))
    return statements
