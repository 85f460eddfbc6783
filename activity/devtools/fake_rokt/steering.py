"""How tests and tools steer the fake Rokt: scripted answers per endpoint, rejected
subscriptions, clients and the accounts they own, expired tokens. A mixin of FakeRokt, which
owns the state named below."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

ENDPOINTS = (
    "token",
    "create",
    "update",
    "cancel",
    "remove",
    "subscription",
    "calendar_events",
    "subscribe",
    "unsubscribe",
)
API = "api"  # script target matching every endpoint except the token endpoint


@dataclass(frozen=True)
class Step:
    """One scripted answer. `status` None answers normally (after `delay`); 0 drops the
    connection without answering."""

    status: int | None
    retry_after: str | None = None
    delay: float = 0.0
    body: dict[str, Any] | None = None


@dataclass
class Script:
    target: str
    steps: deque[Step]

    def matches(self, endpoint: str, path: str) -> bool:
        if self.target == "*":
            return True
        if self.target == API:
            return endpoint != "token"
        if self.target.startswith("/"):
            return path.startswith(self.target)
        return self.target == endpoint


class Steering:
    clients: dict[str, str]
    tokens: dict[str, float]
    token_clients: dict[str, str]
    account_owner: dict[str, str]
    strict_accounts: dict[str, set[str]]
    rejected_subscriptions: dict[str, str]
    _scripts: list[Script]

    # --- steering -------------------------------------------------------------------------

    def script(
        self,
        target: str,
        statuses: Iterable[int | None],
        *,
        retry_after: float | str | None = None,
        delay: float = 0.0,
        body: dict[str, Any] | None = None,
    ) -> None:
        """Answer the next matching requests with `statuses`, in order, then normally again.

        `target` is an endpoint name (see ENDPOINTS), "api" (every endpoint but the token
        endpoint), "*" or a path prefix starting with "/".
        """
        if not target.startswith("/") and target not in (*ENDPOINTS, API, "*"):
            raise ValueError(f"unknown script target {target!r}")
        after = None if retry_after is None else str(retry_after)
        steps = deque(Step(s, after, delay, body) for s in statuses)
        self._scripts.append(Script(target, steps))

    def next_step(self, endpoint: str, path: str) -> Step | None:
        for script in self._scripts:
            if script.steps and script.matches(endpoint, path):
                return script.steps.popleft()
        return None

    def clear_scripts(self) -> None:
        """Rokt answers normally again, whatever was scripted."""
        self._scripts.clear()

    @property
    def scripted_left(self) -> int:
        return sum(len(s.steps) for s in self._scripts)

    def reject_subscriptions(self, *ids: str, reason: str = "subscription not found") -> None:
        for sub in ids:
            self.rejected_subscriptions[sub] = reason

    def add_client(
        self, client_id: str, client_secret: str, *, accounts: Iterable[str] | None = None
    ) -> None:
        self.clients[client_id] = client_secret
        if accounts is not None:
            self.own(client_id, *accounts)

    def own(self, client_id: str, *account_codes: str) -> None:
        """`client_id` owns exactly these account codes (and any added later this way)."""
        self.strict_accounts.setdefault(client_id, set()).update(account_codes)
        for code in account_codes:
            self.account_owner[code] = client_id

    def account_refused(self, token: str, account: str) -> bool:
        """True when the token's client does not own `account` (the API answers 404)."""
        client = self.token_clients.get(token, "")
        owner = self.account_owner.get(account)
        if owner is None and client not in self.strict_accounts:
            self.account_owner[account] = client
            return False
        return owner != client

    def expire_tokens(self) -> None:
        self.tokens.clear()
