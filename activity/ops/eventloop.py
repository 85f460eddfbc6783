"""The event loop for served processes: uvloop, the usual production loop for aiohttp.

The service and the benchmark's baseline both run on it, so the benchmark's ratio compares
our work, not two different loops.
"""

from __future__ import annotations

import asyncio
import sys

import uvloop

# How long a thread waiting for the GIL (the SQLite thread) lets the loop keep it. Python's
# default, 5 ms, makes the SQLite thread wait up to that long after each statement it runs
# under load, and a commit runs several; measured under `make bench`, 0.1 ms halved the time
# a group commit spends in the thread.
SWITCH_INTERVAL_SECONDS = 0.0001


def new_event_loop() -> asyncio.AbstractEventLoop:
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop
