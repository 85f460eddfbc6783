"""The sync worker: the delivery worker's twin for the second flow. It claims inbox items
(accepted Rokt webhooks) with leases, folds each subscription's changes into its newest state,
upserts those rows into the "Calendar Subscription" data extension in batches, and records
each item's outcome: sent, retried later (429, 5xx, network, still pending: the same backoff
policy as delivery to Rokt), dead with Marketing Cloud's message (a row it refuses), or held
while the business unit's connection needs a new sign-in (held work is never lost; it resumes
once someone signs in again).

The row sent is always the subscription's merged state, never one webhook's, so items synced
in any order, or twice, leave the newest state in Marketing Cloud. When the state changed
while a batch was in flight (another instance merged newer changes), the item is sent again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import aiohttp

from activity.errors import SfmcError, SfmcGrantRefused
from activity.sfmc import rows_api
from activity.sfmc.connections import ConnectionService
from activity.sfmc.data_extension import CUSTOMER_KEY
from activity.sfmc.rows_api import RowsRejected, SfmcRetryLater
from activity.sfmc.sync_outcomes import SyncOutcomes
from activity.sfmc.tokens import Access, SfmcTokens, SfmcUnauthorized
from activity.storage.base import Store
from activity.storage.inbox import Changes, InboxItem, SubscriptionRow
from activity.storage.worker_loop import LeasedWorker

if TYPE_CHECKING:
    from activity.ops.metrics import Metrics

log = logging.getLogger(__name__)

ROWS_PER_CALL = 5000  # well under the async API's 32,000; one webhook burst, one call
STATUS_DELAYS = (0.5, 1.0, 2.0, 2.0, 4.0, 4.0, 8.0, 8.0)  # ~30 s of polling, then retry later
UNHOLD_CHECK_SECONDS = 30.0
DEPTH_REFRESH_SECONDS = 5.0  # the inbox depth gauge: one count at most this often
NEEDS_SIGNIN = "needs_sign_in"
NOT_CONNECTED = "not_connected"
NOT_INSTALLED = "not_installed"
# The data extension does not exist (yet): the rows are fine, so they are held, and tried
# again at each unhold check until someone installs it.
MISSING_DATA_EXTENSION = frozenset({404})
# The connection's token may not write rows (a sign-in without data_extensions_write, or a
# user without the permission): held until someone who may signs in.
FORBIDDEN_WHY = (
    "Marketing Cloud refused this connection permission to write the data extension; sign in "
    "with a user and SFMC_SCOPES that include data_extensions_write"
)
REJECTED = "sfmc_rejected"


def de_row(row: SubscriptionRow) -> dict[str, Any]:
    """The data extension's row: an unknown value (None) is sent empty, which clears it."""
    return {name: ("" if value is None else value) for name, value in row.values.items()}


class SyncWorker(SyncOutcomes, LeasedWorker):
    _log = log
    task_name = "sync-worker"
    what = "sync"
    leases = "inbox leases"
    # Webhooks arriving together share one upsert: the first of a burst waits one interval.
    collect_bursts = True

    def __init__(
        self,
        store: Store,
        connections: ConnectionService,
        tokens: SfmcTokens,
        http: aiohttp.ClientSession,
        *,
        owner: str = "local",
        batch_size: int = 10_000,
        rows_per_call: int = ROWS_PER_CALL,
        lease_seconds: float = 120.0,
        poll_seconds: float = 1.0,
        round_interval_seconds: float = 5.0,
        status_delays: Sequence[float] = STATUS_DELAYS,
        unhold_check_seconds: float = UNHOLD_CHECK_SECONDS,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(
            owner=owner,
            batch_size=batch_size,
            poll_seconds=poll_seconds,
            round_interval_seconds=round_interval_seconds,
            stop_grace_seconds=5.0,
        )
        self._metrics = metrics
        self._store = store
        self._inbox = store.inbox
        self._connections = connections
        self._tokens = tokens
        self._http = http
        self._rows_per_call = rows_per_call
        self._lease = lease_seconds
        self._status_delays = tuple(status_delays)
        self._unhold_every = unhold_check_seconds
        self._clock = clock
        self._rand = rand
        self._unhold_at = float("-inf")
        self._depth_at = float("-inf")
        self.rows_synced = 0  # rows Marketing Cloud took, for the demo and the benchmark

    async def _release(self) -> None:
        await self._inbox.release(self._owner)

    async def _sleep(self, claimed: int) -> bool:
        """Until new work here (True), work due, or the next poll for other instances' work."""
        delay = self._poll
        due = await self._inbox.next_due_at()
        if due is not None:
            delay = max(0.05, min(delay, due - self._clock()))
        try:
            await asyncio.wait_for(self._wakeup.wait(), delay)
        except TimeoutError:
            return False
        return True

    # --- one round --------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Release held work whose connection is back, then claim and sync one batch."""
        await self._release_held()
        now = self._clock()
        items = await self._inbox.claim(self._owner, now, self._lease, self._batch_size)
        by_mid: dict[str, list[InboxItem]] = defaultdict(list)
        for item in items:
            by_mid[item.mid].append(item)
        for mid, group in by_mid.items():
            try:
                await self._sync_unit(mid, group)
            except Exception as exc:
                log.exception("syncing a business unit failed", extra={"mid": mid})
                await self._retry(group, f"internal: {type(exc).__name__}")
        await self._refresh_depth()
        return len(items)

    async def _refresh_depth(self) -> None:
        now = time.monotonic()
        if self._metrics is None or now - self._depth_at < DEPTH_REFRESH_SECONDS:
            return
        self._depth_at = now
        self._metrics.inbox_depth.set(await self._inbox.depth())

    async def _release_held(self) -> None:
        now = self._clock()
        if now - self._unhold_at < self._unhold_every:
            return
        self._unhold_at = now
        for mid in await self._inbox.held_mids():
            connection = await self._connections.get(mid)
            if connection is not None and not connection.needs_signin:
                released = await self._inbox.unhold(mid, now)
                log.info("held webhooks resume", extra={"mid": mid, "count": released})

    def unhold_soon(self) -> None:
        """A connection was (re)made: look at held work in the next round."""
        self._unhold_at = float("-inf")
        self.wake()

    async def _sync_unit(self, mid: str, items: list[InboxItem]) -> None:
        try:
            access = await self._tokens.get(mid)
        except SfmcGrantRefused as exc:
            await self._hold(items, f"{NEEDS_SIGNIN}: {exc.message}")
            return
        except SfmcError as exc:
            if exc.reason == NOT_CONNECTED:
                await self._hold(items, f"{NOT_CONNECTED}: no Marketing Cloud connection")
            else:
                await self._retry(items, f"token: {exc.message}", exc)
            return
        changes: dict[str, list[Changes]] = defaultdict(list)
        for item in sorted(items, key=lambda i: i.id):
            changes[item.subscription_id].append(item.changes)
        rows = await self._inbox.merge(mid, changes, self._clock())
        items_of: dict[str, list[InboxItem]] = defaultdict(list)
        for item in items:
            items_of[item.subscription_id].append(item)
        for start in range(0, len(rows), self._rows_per_call):
            chunk = rows[start : start + self._rows_per_call]
            await self._send(mid, access, chunk, items_of)

    async def _send(
        self,
        mid: str,
        access: Access,
        rows: list[SubscriptionRow],
        items_of: dict[str, list[InboxItem]],
    ) -> None:
        items = [i for r in rows for i in items_of[r.subscription_id]]
        try:
            errors = await self._tokens.call(mid, lambda a: self._upsert(a, rows))
        except SfmcGrantRefused as exc:
            await self._hold(items, f"{NEEDS_SIGNIN}: {exc.message}")
            return
        except rows_api.SfmcForbidden as exc:  # the connection may not write: no row's fault
            await self._store.mark_sfmc_needs_signin(mid, "forbidden", self._clock())
            await self._hold(items, f"{NEEDS_SIGNIN}: {FORBIDDEN_WHY} ({exc.message})")
            return
        except RowsRejected as exc:
            if exc.status in MISSING_DATA_EXTENSION:  # not this batch's fault: wait for install
                await self._hold(items, f"{NOT_INSTALLED}: {exc.message}")
            elif len(rows) > 1:  # one bad row must not cost the others: find it
                half = len(rows) // 2
                await self._send(mid, access, rows[:half], items_of)
                await self._send(mid, access, rows[half:], items_of)
            else:
                await self._dead(items, f"{REJECTED}: {exc.message}")
            return
        except (SfmcRetryLater, SfmcUnauthorized, SfmcError) as exc:
            await self._retry(items, exc.message, exc)
            return
        named = {e.subscription_id: e.message for e in errors if e.subscription_id}
        if len(named) < len(errors) and len(rows) > 1:  # errors that name no row: split
            half = len(rows) // 2
            await self._send(mid, access, rows[:half], items_of)
            await self._send(mid, access, rows[half:], items_of)
            return
        if errors and not named:
            named = {rows[0].subscription_id: errors[0].message}
        ok = [r for r in rows if r.subscription_id not in named]
        for sub, message in named.items():
            await self._dead(items_of.get(sub, []), f"{REJECTED}: {message}")
        await self._done(mid, ok, items_of)

    async def _upsert(self, access: Access, rows: list[SubscriptionRow]) -> list[rows_api.RowError]:
        request_id = await rows_api.upsert(
            self._http, access, CUSTOMER_KEY, [de_row(r) for r in rows]
        )
        if not await rows_api.wait(self._http, access, request_id, delays=self._status_delays):
            return []
        errors = await rows_api.row_errors(self._http, access, request_id)
        if not errors:
            # Errors reported, none named: nothing says these rows arrived. Send them again
            # (upserts are idempotent) rather than count them sent.
            raise rows_api.SfmcRetryLater(
                f"Marketing Cloud reported errors for request {request_id} but named no row"
            )
        return errors
