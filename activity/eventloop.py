"""The event loop for served processes: uvloop, the usual production loop for aiohttp.

The service and the benchmark's baseline both run on it, so the benchmark's ratio compares
our work, not two different loops.
"""

from __future__ import annotations

import asyncio

import uvloop


def new_event_loop() -> asyncio.AbstractEventLoop:
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop
