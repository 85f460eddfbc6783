"""The calendars the fake Rokt holds (by account and calendar ID, with their URL codes) and the
subscriptions deactivated through them. The routes that read and change it: calendars.py."""

from __future__ import annotations

from dataclasses import dataclass, field

ANY_ACCOUNT = "*"
DEMO_CALENDAR_ID = "demo-calendar"
DEMO_CALENDAR_CODE = "demo"


@dataclass(frozen=True)
class Deactivation:
    account: str
    calendar_code: str
    subscription_id: str
    user_name: str
    reason_text: str


@dataclass
class FakeCalendars:
    """Calendars by (account code, calendar ID) -> calendar code, and what was deactivated."""

    codes: dict[tuple[str, str], str] = field(default_factory=dict)
    deactivations: list[Deactivation] = field(default_factory=list)

    def add(self, account: str, calendar_id: str, code: str) -> None:
        self.codes[(account, calendar_id)] = code

    def code_of(self, account: str, calendar_id: str) -> str | None:
        return self.codes.get((account, calendar_id), self.codes.get((ANY_ACCOUNT, calendar_id)))

    def has_code(self, account: str, code: str) -> bool:
        return any(c == code and a in (account, ANY_ACCOUNT) for (a, _), c in self.codes.items())

    def deactivated(self, subscription_id: str) -> bool:
        return any(d.subscription_id == subscription_id for d in self.deactivations)
