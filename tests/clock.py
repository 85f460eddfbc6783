"""A clock the test sets and moves: pass it where code takes `clock=`, then `clock.now += 60`."""

from __future__ import annotations


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
