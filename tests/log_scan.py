"""Search captured log output for secrets, tokens and JWTs (used by the attack, fault and
log-hygiene tests)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import pytest

from activity.devtools.fake_rokt import FakeRokt
from activity.devtools.jb import TEST_SECRET
from activity.ops.logs import JsonFormatter

JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")
# Fernet tokens: session cookies and encrypted client secrets.
FERNET = re.compile(r"gAAAAA[\w-]{20,}")
PATTERNS = (JWT, FERNET)


@dataclass
class Watch:
    """What a test must never see in a log line: add secrets as they appear; fakes' access
    tokens are read at the end."""

    secrets: set[str] = field(default_factory=lambda: {TEST_SECRET})
    fakes: list[FakeRokt] = field(default_factory=list)

    def add(self, *values: str) -> None:
        self.secrets.update(v for v in values if v)

    def remember_tokens(self) -> None:
        """Call before `FakeRokt.expire_tokens()`, which forgets them."""
        for fake in self.fakes:
            self.secrets.update(fake.tokens)

    def all_secrets(self) -> set[str]:
        self.remember_tokens()
        return self.secrets


def record_lines(records: Iterable[logging.LogRecord]) -> list[str]:
    """Every way a record can reach an operator: the JSON line, its raw fields and arguments."""
    formatter = JsonFormatter()
    return [f"{formatter.format(r)} {r.__dict__!r}" for r in records]


def leaks(lines: Iterable[str], secrets: Iterable[str]) -> list[str]:
    wanted = [s for s in secrets if s]
    found = []
    for line in lines:
        if any(s in line for s in wanted) or any(p.search(line) for p in PATTERNS):
            found.append(line[:500])
    return found


def assert_clean(lines: Iterable[str], secrets: Iterable[str]) -> None:
    found = leaks(list(lines), set(secrets))
    assert not found, "secret, token or JWT in the logs:\n" + "\n".join(found[:5])


def captured(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Records from the setup and call phases (a fixture's teardown sees a reset handler)."""
    return [r for phase in ("setup", "call") for r in caplog.get_records(phase)]
