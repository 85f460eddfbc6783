"""Idempotent accept for SQLite: many execute calls, one statement (a transaction of three
when JB retried a contact).

The database thread competes with the event loop for the GIL, and under load every time it
retakes the GIL (after each statement) it waits for the loop. So `prepare` builds the SQL
and its parameters on the loop, and the database thread runs one multi-row INSERT into the
`accepts` view (schema 0012): its trigger writes each answer and its outbox item, and the
statement is its own transaction. Only when JB retried a contact (the answers' primary key
refuses that statement, which then changed nothing) does the batch take a transaction that
looks up the earlier answers first.
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
ACCEPTS_INSERT = (
    "INSERT INTO accepts (activity_id, definition_instance_id, status, body, created_at, mid, "
    "item_mid, account_code, action, batch_key, payload, subscription_ids, event_id, "
    "journey_id, item_activity_id, item_definition_instance_id, contact_key) VALUES "
)
_ACCEPTS_ROW = f"({', '.join('?' * 17)})"
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
    # The whole batch as one statement, correct when no key has an earlier answer (None when
    # it does not fit one statement, or a contact has more than one item).
    accepts: Statement | None


def prepare(jobs: Sequence[AcceptJob]) -> Prepared:
    leaders: dict[Key, AcceptJob] = {}
    for job in jobs:
        leaders.setdefault(job.key, job)
    fresh = list(leaders.values())
    one = len(fresh) <= ROWS_PER_STATEMENT and all(len(j.items) <= 1 for j in fresh)
    return Prepared(jobs, leaders, _accepts(fresh) if one else None)


def accept_new(db: sqlite3.Connection, batch: Prepared) -> list[Result] | None:
    """Accept a batch of new contacts in one statement, outside any transaction; one result
    per job, in order. None, with nothing written, when the batch must take `run`: a contact
    was answered before (its primary key refused the statement), or it needs several."""
    if batch.accepts is None:
        return None
    try:
        db.execute(*batch.accepts)
    except sqlite3.IntegrityError:
        return None
    return [(batch.leaders[j.key].answer, batch.leaders[j.key] is j) for j in batch.jobs]


def run(db: sqlite3.Connection, batch: Prepared) -> list[Result]:
    """Accept the batch inside the caller's write transaction (BEGIN IMMEDIATE, so what the
    lookup finds cannot change before the inserts); one result per job, in order."""
    keys_json = json.dumps(list(batch.leaders))
    (found,) = db.execute(EARLIER_ANSWERS, (keys_json,)).fetchone()
    answers: dict[Key, Answer] = {
        (activity_id, instance_id): Answer(int(status), json.loads(body))
        for activity_id, instance_id, status, body in json.loads(found)
    }
    for sql, params in _inserts([j for key, j in batch.leaders.items() if key not in answers]):
        db.execute(sql, params)
    return [
        (answers[j.key], False)
        if j.key in answers
        else (batch.leaders[j.key].answer, batch.leaders[j.key] is j)
        for j in batch.jobs
    ]


def _accepts(fresh: list[AcceptJob]) -> Statement:
    values: list[Any] = []
    for j in fresh:
        values += _execution_values(j)
        values += rows.item_values(j.items[0]) if j.items else _NO_ITEM
    return ACCEPTS_INSERT + ", ".join([_ACCEPTS_ROW] * len(fresh)), values


_NO_ITEM = (None,) * len(rows.OUTBOX_INSERT_FIELDS)


def _execution_values(j: AcceptJob) -> tuple[Any, ...]:
    """The answer's columns, in _EXECUTION_INSERT's order (also the accepts view's first six)."""
    return (
        j.activity_id,
        j.definition_instance_id,
        j.answer.status,
        rows.dump_body(j.answer.body),
        j.now,
        j.mid,
    )


def _inserts(fresh: list[AcceptJob]) -> list[Statement]:
    executions = [_execution_values(j) for j in fresh]
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
