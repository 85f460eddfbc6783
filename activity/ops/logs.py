"""Structured logs: one JSON object a line, with request, journey and activity ids."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from contextvars import ContextVar
from types import TracebackType
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

CONTEXT_FIELDS = (
    "request_id",
    "journey_id",
    "activity_id",
    "route",
    "reason",
    "status",
    "path",
    "mid",
    "count",
    "attempt",
    "endpoint",
    "outcome",
    "account",
    "action",
    "items",
    "rokt_status",
    "duration_ms",
    "sent",
    "retried",
    "dead",
    "url",
    "item_id",
    "event_id",
)

# Ids of the work in hand (request, journey, activity), added to every line logged while it
# runs. A ContextVar follows each request's task, so concurrent requests never mix them up.
_CONTEXT: ContextVar[dict[str, str] | None] = ContextVar("log_context", default=None)


class log_context:
    """Add `fields` (empty ones ignored) to every log line written inside the block.

    A class, not a generator-based context manager: it runs twice per execute."""

    __slots__ = ("_fields", "_token")

    def __init__(self, **fields: str) -> None:
        self._fields = fields

    def __enter__(self) -> None:
        merged = {**(_CONTEXT.get() or {}), **{k: v for k, v in self._fields.items() if v}}
        self._token = _CONTEXT.set(merged)

    def __exit__(self, *exc: object) -> None:
        _CONTEXT.reset(self._token)


def current_context() -> dict[str, str]:
    return dict(_CONTEXT.get() or {})


class ContextFilter(logging.Filter):
    """Copies the log context onto each record when it is made, for handlers that format
    later (in another context) or not at all; fields given in `extra` win."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_CONTEXT.get() or {}).items():
            if getattr(record, name, None) in (None, ""):
                setattr(record, name, value)
        return True


class MalformedHttpFilter(logging.Filter):
    """aiohttp answers a request it cannot parse (bad chunk sizes, bad header bytes) with 400
    itself, then logs the parser's traceback as an error. That is a stranger's mistake, not
    ours: one info line with the parser's reason, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.msg, record.args = "malformed HTTP request refused", ()
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.reason = str(error.message).splitlines()[0][:200] if error.message else ""
        return True


WEBHOOK_PATH_PREFIX = "/webhooks/rokt/"  # the rest of such a path is a business unit's secret


def redacted_path(path: str) -> str:
    """A path fit for logs: a webhook URL's secret token is left out."""
    if path.startswith(WEBHOOK_PATH_PREFIX):
        return WEBHOOK_PATH_PREFIX + "(token)"
    return path


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created if record.created else time.time(), 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value not in (None, ""):
                entry[name] = value
        if isinstance(entry.get("path"), str):
            entry["path"] = redacted_path(entry["path"])
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: int | str = logging.INFO) -> None:
    """Every line a served process writes becomes one JSON object: its own records, Python
    warnings (PyJWT's key-length warning, deprecations) and uncaught exceptions alike."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper() if isinstance(level, str) else level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedHttpFilter) for f in server.filters):
        server.addFilter(MalformedHttpFilter())
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_thread_uncaught


def json_logging_active() -> bool:
    return any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    logging.getLogger("activity").critical("uncaught exception", exc_info=(kind, exc, tb))


def _log_thread_uncaught(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or isinstance(args.exc_value, SystemExit):
        return
    logging.getLogger("activity").critical(
        "uncaught exception in thread %s",
        args.thread.name if args.thread else "?",
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )
