"""The served process's garbage collector, set for a server's steady state.

Under load every execute allocates a few hundred container objects (the request, the parsed
payload, the plan, futures) that die young by reference counting. With Python's default
thresholds (700, 10, 10) the collector still ran about 90 young-generation passes a second
over whatever was in flight, and every second or so a full pass over everything startup
built (aiohttp, Jinja2, the time-zone tables): 30-75 ms during which no contact was answered.
Measured under `make bench` (docs/performance.md): 5-7% of the event loop's time.

So, once startup is done, what it built is frozen (never scanned again; it lives as long as
the process anyway) and the young generation is collected after 10,000 net allocations
instead of 700. Cycles are still collected, just in fewer and larger passes.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000
OLDER_THRESHOLDS = (10, 10)


def settle() -> None:
    """Call once the process is ready to serve, in served processes only (not in tests that
    build many apps in one process: frozen objects stay until the process exits)."""
    gc.collect()  # garbage from startup is freed, not frozen
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
