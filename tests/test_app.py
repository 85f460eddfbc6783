"""create_app: what it hands the parts it wires from the settings."""

from __future__ import annotations

from pathlib import Path

from activity import create_app
from activity.appkeys import WORKER
from activity.devtools.jb import test_settings
from tests.conftest import ClientFactory


async def test_the_delivery_worker_takes_the_resend_timings_from_the_settings(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    settings = test_settings(
        tmp_path, run_delivery=False, rokt_visibility_wait_seconds=7.0, rokt_recheck_seconds=3.0
    )
    client = await aiohttp_client(create_app(settings))
    resend = client.app[WORKER]._resend
    assert (resend._wait, resend._recheck) == (7.0, 3.0)
