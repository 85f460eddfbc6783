"""One writer at a time across the processes that share a SQLite database (`serve --workers N`).

SQLite lets one connection write at a time; another that finds the lock taken is put to sleep
by SQLite's busy handler for 1, 2, 5, 10 ms and more before it looks again, however soon the
lock is free. With two workers that sleep stood in front of half the commits. An advisory
`flock` on a file beside the database wakes the next writer as soon as the last one is done:
every write transaction of the store takes it first, so SQLite's own lock is then free.
Writers that do not take it (the CLI, migrations) still meet SQLite's lock and wait as before.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

SUFFIX = "-writer.lock"


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + SUFFIX)


class WriterLock:
    """A context manager around one write transaction; blocks until no other writer holds it.
    Without a database (a store not open yet, or closed) it holds nothing."""

    def __init__(self, database: Path | None = None) -> None:
        self._fd: int | None = None
        if database is not None:
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
            self._fd = os.open(lock_path(database), flags, 0o600)

    def __enter__(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
