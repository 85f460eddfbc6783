"""What a Rokt webhook does once parsed: checked against the business unit, stored once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from activity.admin.settings_service import SettingsService
from activity.errors import InvalidInput
from activity.rokt.webhook_payloads import Webhook
from activity.storage.base import Store
from activity.storage.inbox import EventActivity, NewWebhook

log = logging.getLogger(__name__)

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
TEST = "test"
IGNORED = "ignored"


class AccountMismatch(InvalidInput):
    reason = "account_mismatch"


class WebhookIntake:
    def __init__(
        self,
        store: Store,
        settings: SettingsService,
        *,
        on_accept: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._settings = settings
        self.on_accept = on_accept  # wakes the sync worker
        self._clock = clock

    def now(self) -> float:
        return self._clock()

    async def receive(self, mid: str, hook: Webhook) -> str:
        """Store `hook` for business unit `mid`; the outcome, once it is on disk.

        Raises AccountMismatch when the webhook is for another Rokt account, and
        StorageUnavailable when it cannot be stored (Rokt retries).
        """
        if hook.is_test:
            return TEST
        stored = await self._settings.find(mid)
        if stored is None:
            # A business unit that uses its enterprise's default Rokt account: its Marketing
            # Cloud connection knows the enterprise.
            connection = await self._store.get_sfmc_connection(mid)
            if connection is not None and connection.enterprise_id:
                stored = await self._settings.find(mid, connection.enterprise_id)
        if stored is None:
            raise AccountMismatch(
                f"business unit {mid} has no Rokt settings, so no account code to check against"
            )
        if stored.account_code.casefold() != hook.account_code.casefold():
            raise AccountMismatch(
                f"accountCode {hook.account_code!r} is not business unit {mid}'s Rokt account"
            )
        now = self._clock()
        if hook.about_event:
            activity = EventActivity(
                mid, hook.webhook_id, hook.calendar_event_id, hook.event_type, hook.subscription_id
            )
            return ACCEPTED if await self._store.inbox.record_event(activity, now) else DUPLICATE
        if not hook.changes_row:
            log.info("ignored a webhook of unknown type", extra={"event_type": hook.event_type})
            return IGNORED
        webhook = NewWebhook(
            mid, hook.webhook_id, hook.event_type, hook.subscription_id, hook.changes
        )
        if not await self._store.inbox.accept(webhook, now):
            return DUPLICATE
        if self.on_accept is not None:
            self.on_accept()
        return ACCEPTED
