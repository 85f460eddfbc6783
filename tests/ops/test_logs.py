"""Structured logs: one JSON object a line, carrying request, journey and activity ids."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator

import pytest
from aiohttp.test_utils import TestClient

from activity.devtools.jb import event_arguments, execute_payload, lifecycle_payload, sign
from activity.ops.logs import ContextFilter, JsonFormatter, current_context, log_context
from activity.rokt.outcomes import MAX_LOGGED_IDS, log_ids
from activity.storage.models import OutboxItem

log = logging.getLogger("tests.logs")


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Records get the log context copied on, as the CLI's handler does."""
    caplog.set_level(logging.DEBUG)
    context = ContextFilter()
    caplog.handler.addFilter(context)
    yield caplog
    caplog.handler.removeFilter(context)


def ours(logs: pytest.LogCaptureFixture, message: str | None = None) -> list[dict[str, object]]:
    return [
        line(r)
        for r in logs.records
        if r.name.startswith(("activity", "tests")) and message in (None, r.getMessage())
    ]


def line(record: logging.LogRecord) -> dict[str, object]:
    parsed: dict[str, object] = json.loads(JsonFormatter().format(record))
    return parsed


def test_context_is_added_nested_and_undone(logs: pytest.LogCaptureFixture) -> None:
    with log_context(request_id="r1"):
        with log_context(journey_id="j1", activity_id=""):
            log.info("inside")
            assert current_context() == {"request_id": "r1", "journey_id": "j1"}
        log.info("outside", extra={"request_id": "explicit"})
    log.info("after")
    inside, outside, after = ours(logs)
    assert inside["request_id"] == "r1" and inside["journey_id"] == "j1"
    assert "activity_id" not in inside, "empty fields are left out"
    assert outside["request_id"] == "explicit" and "journey_id" not in outside
    assert "request_id" not in after and current_context() == {}


async def test_concurrent_tasks_keep_their_own_ids(logs: pytest.LogCaptureFixture) -> None:
    async def work(rid: str) -> None:
        with log_context(request_id=rid):
            await asyncio.sleep(0.01)
            log.info("working")

    await asyncio.gather(*(work(f"r{i}") for i in range(20)))
    assert sorted(str(e["request_id"]) for e in ours(logs)) == sorted(f"r{i}" for i in range(20))


async def test_execute_lines_carry_the_request_journey_and_activity(
    client: TestClient, logs: pytest.LogCaptureFixture
) -> None:
    payload = execute_payload(event_arguments(start="soon"), journey_id="journey-7")
    resp = await client.post("/execute", data=sign(payload), headers={"X-Request-Id": "req-42"})
    assert (await resp.json())["roktStatus"] == "invalid"
    [invalid] = ours(logs, "contact invalid")
    assert invalid["request_id"] == "req-42"
    assert invalid["journey_id"] == "journey-7"
    assert invalid["activity_id"] == payload["activityId"]
    await client.post("/execute", data=b"nope", headers={"X-Request-Id": "req-43"})
    [rejected] = ours(logs, "execute rejected")
    assert rejected["request_id"] == "req-43" and "journey_id" not in rejected


async def test_lifecycle_lines_carry_the_request_journey_and_activity(
    client: TestClient, logs: pytest.LogCaptureFixture
) -> None:
    await client.post("/publish", data=sign(lifecycle_payload()), headers={"X-Request-Id": "r-9"})
    [entry] = ours(logs, "lifecycle call")
    assert entry["request_id"] == "r-9"
    assert entry["journey_id"] == lifecycle_payload()["interactionId"]
    assert entry["activity_id"] == lifecycle_payload()["activityObjectID"]


@pytest.mark.parametrize(
    "incoming",
    ["eyJhbGciOiJub25lIn0.e30.", "a b", "x" * 65, "ünicode", ""],
)
async def test_a_request_id_that_could_carry_a_token_or_a_line_break_is_replaced(
    client: TestClient, incoming: str
) -> None:
    resp = await client.get("/healthz", headers={"X-Request-Id": incoming} if incoming else {})
    made = resp.headers["X-Request-Id"]
    assert made != incoming and len(made) == 32


def _item(n: int, journey: str, activity: str) -> OutboxItem:
    return OutboxItem(
        n, "1", "acme", "create", "k", {}, (), "e", journey, activity, "d", "c", "sending", 1, 0, 0
    )


def test_delivery_lines_name_the_journeys_and_activities_of_a_batch() -> None:
    same = [_item(i, "j1", "a1") for i in range(3)]
    assert log_ids(same) == {"journey_id": "j1", "activity_id": "a1"}
    mixed = [_item(i, f"j{i}", "a1") for i in range(MAX_LOGGED_IDS + 2)]
    ids = log_ids(mixed)
    assert ids["journey_id"] == ",".join(f"j{i}" for i in range(MAX_LOGGED_IDS)) + ",+2"
    assert ids["activity_id"] == "a1"


PROGRAM = """
import threading, warnings
import jwt
from activity.ops.logs import configure_logging
configure_logging("{level}")
import logging
logging.getLogger("activity.t").debug("a debug line")
logging.getLogger("activity.t").info("an info line")
# PyJWT warns that a 5-byte HMAC key is too short, as it does for a weak ACTIVITY_JWT_SECRET.
jwt.decode(jwt.encode({{"a": 1}}, "short", algorithm="HS256"), "short", algorithms=["HS256"])
warnings.warn("multi\\nline warning", DeprecationWarning, stacklevel=1)
thread = threading.Thread(target=lambda: 1 / 0, name="worker")
thread.start()
thread.join()
raise RuntimeError("uncaught\\nat the top")
"""


@pytest.mark.parametrize("level", ["info", "debug"])
def test_warnings_and_uncaught_exceptions_become_json_lines(level: str) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", PROGRAM.format(level=level)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    entries = [json.loads(raw) for raw in done.stderr.splitlines()]  # every line is JSON
    messages = " ".join(str(e["msg"]) for e in entries)
    assert "InsecureKeyLengthWarning" in messages
    assert "multi\nline warning" in messages
    thread = [e for e in entries if "uncaught exception in thread worker" in str(e["msg"])]
    assert thread and "ZeroDivisionError" in str(thread[0]["exc"])
    top = [e for e in entries if e["msg"] == "uncaught exception"]
    assert top and top[0]["level"] == "critical" and "uncaught\nat the top" in str(top[0]["exc"])
    assert ("a debug line" in messages) == (level == "debug")
    assert "an info line" in messages


def test_a_webhook_urls_secret_token_never_reaches_a_log_line() -> None:
    import json as _json
    import logging as _logging

    from activity.ops.logs import JsonFormatter

    token = "tok-0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
    record = _logging.LogRecord("x", _logging.INFO, __file__, 1, "refused", (), None)
    record.path = f"/webhooks/rokt/{token}"
    line = JsonFormatter().format(record)
    assert token not in line
    assert _json.loads(line)["path"] == "/webhooks/rokt/(token)"
    record.path = "/execute"
    assert _json.loads(JsonFormatter().format(record))["path"] == "/execute"
