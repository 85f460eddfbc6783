"""Sends that repeat, against a served process with real sockets (issue: a Rokt slower than
the client timeout, or a SIGKILL mid-call, used to send every contact of the call twice).

activity.devtools.resend_faults serves `rokt-activity serve` on SQLite against the fake Rokt
and reads the fake's count of events attached twice to one subscription.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from activity.devtools.resend_faults import KILL_CALL_SECONDS, SLOW_SECONDS, measure
from tests import pg

pytestmark = pytest.mark.slow


async def test_rokt_slower_than_the_timeout_sends_each_contact_once(tmp_path: Path) -> None:
    assert SLOW_SECONDS > 10.0  # the service's Rokt timeout
    result = await measure("slow", 300, tmp_path)
    assert result.contacts == 300
    assert result.delivered == 300
    assert result.duplicates == 0


async def test_sigkill_mid_call_then_restart_sends_each_contact_once(tmp_path: Path) -> None:
    assert KILL_CALL_SECONDS > 1.0
    result = await measure("kill", 300, tmp_path)
    assert result.contacts == 300
    assert result.delivered == 300
    assert result.duplicates == 0


@pytest.mark.postgres
async def test_sigkill_mid_call_on_postgresql_sends_each_contact_once(
    tmp_path: Path, postgres_url: str
) -> None:
    # The restarted instance has another name, so it takes the killed one's items over when
    # their lease runs out, marks and all.
    await pg.empty_tables(postgres_url)
    result = await measure("kill", 300, tmp_path, database_url=postgres_url)
    assert result.contacts == 300
    assert result.delivered == 300
    assert result.duplicates == 0
