"""SQL behind the running-journey hover and modal, for both backends.

Every outbox query is scoped to one business unit (MID) and one activity id; JB gives each
journey version's activity its own id, so "this activity" is also "this journey version".
Execute answers are stored with the MID they were given for (executions.mid, NULL when
the call named none): skipped and subscribed contacts are counted per MID too.

Re-queuing a dead item keeps its "may have reached Rokt" mark only when it died giving up on
unanswered or failing tries (gave_up): the worker then asks Rokt before sending it again.
Every other dead reason is a definite answer from Rokt (or no call at all), so the mark goes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from activity.rokt.outcomes import GAVE_UP
from activity.storage.models import DEAD, QUEUED, SENDING, SENT, ActivityStats
from activity.storage.rows import Row

DEAD_REASONS_SHOWN = 100
# Execute statuses that put nothing in the outbox.
SKIPPED_STATUSES = ("skipped_no_subscription", "skipped_not_configured", "invalid")
# The action subscribe's successes: counted from its execute answers, as it queues nothing.
SUBSCRIBED = "subscribed"
RETRYING = f"state = '{QUEUED}' AND attempts > 0 AND last_error <> ''"


def _sql(template: str, backend: str) -> str:
    """`?` placeholders for SQLite, `$1..$n` for PostgreSQL."""
    if backend == "sqlite":
        return template
    parts = template.split("?")
    return "".join(f"{p}${i}" for i, p in enumerate(parts[:-1], 1)) + parts[-1]


def queries(backend: str) -> dict[str, str]:
    status = (
        "json_extract(body, '$.roktStatus')"
        if backend == "sqlite"
        else "(body::jsonb)->>'roktStatus'"
    )
    marks = ", ".join(f"'{s}'" for s in (*SKIPPED_STATUSES, SUBSCRIBED))
    templates = {
        "states": "SELECT state, COUNT(*) AS n, MAX(sent_at) AS last_sent, "
        f"SUM(CASE WHEN {RETRYING} THEN 1 ELSE 0 END) AS retrying, "
        f"MIN(CASE WHEN {RETRYING} THEN next_attempt_at END) AS next_attempt "
        "FROM outbox WHERE mid = ? AND activity_id = ? GROUP BY state",
        "last_error": "SELECT last_error FROM outbox "
        f"WHERE mid = ? AND activity_id = ? AND {RETRYING} "
        "ORDER BY updated_at DESC, id DESC LIMIT 1",
        "dead_reasons": "SELECT last_error, COUNT(*) AS n FROM outbox "
        f"WHERE mid = ? AND activity_id = ? AND state = '{DEAD}' "
        "GROUP BY last_error ORDER BY n DESC, last_error LIMIT ?",
        "skipped": f"SELECT {status} AS status, COUNT(*) AS n FROM executions "
        f"WHERE mid = ? AND activity_id = ? AND {status} IN ({marks}) "
        f"GROUP BY {status} ORDER BY n DESC",
        "dead_items": "SELECT * FROM outbox "
        f"WHERE mid = ? AND activity_id = ? AND state = '{DEAD}' "
        "ORDER BY updated_at DESC, id DESC LIMIT ?",
        "requeue_dead": f"UPDATE outbox SET state = '{QUEUED}', attempts = 0, next_attempt_at = ?, "
        "last_error = '', lease_owner = '', lease_until = 0, updated_at = ?, "
        f"maybe_sent_at = CASE WHEN last_error LIKE '{GAVE_UP}:%' THEN maybe_sent_at END "
        f"WHERE mid = ? AND activity_id = ? AND state = '{DEAD}'",
    }
    return {name: _sql(sql, backend) for name, sql in templates.items()}


def stats_from_rows(
    states: Iterable[Row],
    last_error: Sequence[Row],
    dead_reasons: Iterable[Row],
    skipped: Iterable[Row],
) -> ActivityStats:
    answered = list(skipped)  # execute statuses: the skipped ones and subscribed
    counts: dict[str, int] = {}
    retrying, next_attempt, last_sent = 0, None, None
    for row in states:
        counts[row["state"]] = int(row["n"])
        retrying += int(row["retrying"] or 0)
        if row["next_attempt"] is not None:
            next_attempt = float(row["next_attempt"])
        if row["last_sent"] is not None:
            last_sent = float(row["last_sent"])
    return ActivityStats(
        queued=counts.get(QUEUED, 0),
        sending=counts.get(SENDING, 0),
        sent=counts.get(SENT, 0),
        dead=counts.get(DEAD, 0),
        retrying=retrying,
        last_error=str(last_error[0]["last_error"]) if last_error else "",
        next_attempt_at=next_attempt,
        dead_reasons=tuple((str(r["last_error"]), int(r["n"])) for r in dead_reasons),
        skipped=tuple(
            (str(r["status"]), int(r["n"])) for r in answered if r["status"] != SUBSCRIBED
        ),
        subscribed=sum(int(r["n"]) for r in answered if r["status"] == SUBSCRIBED),
        last_sent_at=last_sent,
    )


def stats_params(mid: str, activity_id: str) -> dict[str, tuple[Any, ...]]:
    return {
        "states": (mid, activity_id),
        "last_error": (mid, activity_id),
        "dead_reasons": (mid, activity_id, DEAD_REASONS_SHOWN),
        "skipped": (mid, activity_id),
    }
