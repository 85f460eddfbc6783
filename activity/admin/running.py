"""Journey Builder's running-journey UIs: GET /running/hover and /running/modal (config.json
`userInterfaces.runningHover` / `runningModal`), and the JSON they read.

The pages are static files (no inline script: the page's CSP is `script-src 'self'`); their
script learns the activity from Postmonger's `initActivityRunningHover` /
`initActivityRunningModal` and asks GET /running/stats. Stats are stored data, so they need the
admin session and cover only the session's business unit; the activity id JB gives each
journey version's activity makes them per version. POST /running/retry re-queues the
activity's dead items (CSRF token in a header, audited) and wakes the delivery worker.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from activity.admin import sessions
from activity.admin.sessions import AdminSession
from activity.appkeys import STORE, WORKER
from activity.journey.editor import PAGE_CSP, REVALIDATE, STATIC
from activity.storage.models import ActivityStats, AuditEntry, DeadItem

DEAD_SHOWN = 50
CSRF_HEADER = "X-CSRF-Token"
SKIPPED_LABELS = {
    "skipped_no_subscription": "No calendar subscription",
    "skipped_not_configured": "Business unit without Rokt settings",
    "invalid": "Invalid data or configuration",
}
_ACTIVITY_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
REASONS_SHOWN = 5

log = logging.getLogger("activity.running")


@dataclass(frozen=True)
class RunningPages:
    hover_page: str
    modal_page: str

    @classmethod
    def load(cls, version: str, static: Path = STATIC) -> RunningPages:
        def read(name: str) -> str:
            return (static / "running" / name).read_text("utf-8").replace("{{version}}", version)

        return cls(read("hover.html"), read("modal.html"))

    async def hover(self, request: web.Request) -> web.Response:
        return _page(self.hover_page)

    async def modal(self, request: web.Request) -> web.Response:
        return _page(self.modal_page)


def _page(text: str) -> web.Response:
    headers = {"Cache-Control": REVALIDATE, "Content-Security-Policy": PAGE_CSP}
    return web.Response(text=text, content_type="text/html", charset="utf-8", headers=headers)


def _error(status: int, reason: str, message: str) -> web.Response:
    return web.json_response(
        {"error": message, "reason": reason}, status=status, headers={"Cache-Control": "no-store"}
    )


def _not_signed_in() -> web.Response:
    return _error(
        401,
        "not_signed_in",
        "Sign in to the Rokt Calendar app in Marketing Cloud (AppExchange > Rokt Calendar), "
        "then reopen this view.",
    )


def _activity_id(value: Any) -> str | None:
    return value if isinstance(value, str) and _ACTIVITY_ID.fullmatch(value) else None


def _iso(at: float | None) -> str | None:
    return None if at is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def stats_json(stats: ActivityStats) -> dict[str, Any]:
    return {
        "counts": {
            "queued": stats.queued + stats.sending,
            "sent": stats.sent,
            "retrying": stats.retrying,
            "dead": stats.dead,
            "skipped": sum(n for _, n in stats.skipped),
            "subscribed": stats.subscribed,
        },
        "lastError": stats.last_error,
        "nextAttemptAt": _iso(stats.next_attempt_at),
        "lastSentAt": _iso(stats.last_sent_at),
        "deadReasons": reasons(stats.dead_reasons),
        "skipped": [
            {"status": s, "label": SKIPPED_LABELS.get(s, s), "count": n} for s, n in stats.skipped
        ],
    }


def reasons(raw: tuple[tuple[str, int], ...]) -> list[dict[str, Any]]:
    """Dead reasons that differ only by a subscription ID count as one, most frequent first."""
    merged: dict[str, int] = {}
    for reason, n in raw:
        key = _GUID.sub("<subscription>", reason)
        merged[key] = merged.get(key, 0) + n
    ranked = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))[:REASONS_SHOWN]
    return [{"reason": r, "count": n} for r, n in ranked]


def dead_json(items: list[DeadItem]) -> list[dict[str, Any]]:
    return [
        {"contactKey": d.contact_key, "eventId": d.event_id, "reason": d.reason, "at": _iso(d.at)}
        for d in items
    ]


async def stats(request: web.Request) -> web.Response:
    admin = await sessions.current(request)
    if admin is None:
        return _not_signed_in()
    activity_id = _activity_id(request.query.get("activityId"))
    if activity_id is None:
        return _error(400, "bad_request", "activityId is missing or malformed")
    store = request.app[STORE]
    mid = admin.identity.mid
    body = {
        "activityId": activity_id,
        "businessUnit": mid,
        "csrf": admin.csrf_token,
        **stats_json(await store.activity_stats(mid, activity_id)),
    }
    if request.query.get("dead") == "1":
        body["dead"] = dead_json(await store.dead_of_activity(mid, activity_id, DEAD_SHOWN))
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def retry(request: web.Request) -> web.Response:
    admin = await sessions.current(request)
    if admin is None:
        return _not_signed_in()
    if not admin.csrf_ok(request.headers.get(CSRF_HEADER)):
        return _error(403, "csrf", "This view has expired; close it and open it again.")
    activity_id = await _posted_activity(request)
    if activity_id is None:
        return _error(400, "bad_request", 'expected a JSON body {"activityId": "..."}')
    count = await _requeue(request, admin, activity_id)
    log.info("dead items re-queued", extra={"mid": admin.identity.mid, "count": count})
    return web.json_response({"requeued": count}, headers={"Cache-Control": "no-store"})


async def _posted_activity(request: web.Request) -> str | None:
    try:
        # JSON is UTF-8 (RFC 8259 section 8.1), whatever charset the request declares.
        body = json.loads((await request.read()).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return _activity_id(body.get("activityId")) if isinstance(body, dict) else None


async def _requeue(request: web.Request, admin: AdminSession, activity_id: str) -> int:
    me = admin.identity
    now = time.time()
    audit = AuditEntry(
        me.mid, now, me.user_id, me.email, "retry_dead", f"re-queued dead items of {activity_id}"
    )
    count = await request.app[STORE].requeue_dead(me.mid, activity_id, now, audit)
    if count:
        request.app[WORKER].wake()
    return count
