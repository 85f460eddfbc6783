"""Whether this instance can do its job: the database takes writes. /readyz asks it."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable

from activity.errors import StorageUnavailable
from activity.storage.base import Store

log = logging.getLogger("activity.ops.health")
# After execute's own write fails, /readyz fails for this long unless a write succeeds since:
# a full disk can refuse new rows while a probe's one-row update still fits.
FAILED_WRITE_MEMORY_SECONDS = 30.0


class Readiness:
    """Whether the database takes writes, judged two ways: a probe write (one upserted row,
    at most once per `interval` seconds however often /readyz is asked) and the outcome of
    execute's latest write. Either failing makes the instance not ready."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._probed_at = -math.inf
        self._probe_error = ""
        self._probe_lock = asyncio.Lock()
        self._failed_at = -math.inf
        self._succeeded_at = -math.inf

    def write_failed(self) -> None:
        self._failed_at = self._clock()

    def write_succeeded(self) -> None:
        self._succeeded_at = self._clock()

    async def problem(self, store: Store) -> str:
        """Why the instance is not ready, or "" when it is."""
        now = self._clock()
        if self._failed_at > self._succeeded_at and now - self._failed_at < (
            FAILED_WRITE_MEMORY_SECONDS
        ):
            return "the database refused execute's latest write"
        async with self._probe_lock:
            if self._clock() - self._probed_at >= self._interval:
                self._probe_error = await _probe(store)
                self._probed_at = self._clock()
            return self._probe_error


async def _probe(store: Store) -> str:
    try:
        await store.probe_write(time.time())
    except StorageUnavailable as err:
        log.warning("readiness probe failed", extra={"reason": err.reason})
        return "the database cannot take a write"
    except Exception:  # the store is closed or half-open: not ready either way
        return "the database cannot take a write"
    return ""
