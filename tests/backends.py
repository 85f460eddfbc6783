"""Tests that run once per storage backend: SQLite always, PostgreSQL where marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from activity.storage.base import Store
from activity.storage.postgres import PostgresStore
from activity.storage.sqlite import SQLiteStore
from tests import pg

BACKENDS: list[Any] = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


async def open_store(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """An open, empty store of `backend` ("sqlite" or "postgres"); the caller closes it."""
    store: Store
    if backend == "sqlite":
        store = SQLiteStore(tmp_path / "activity.db")
        await store.open()
        return store
    url = request.getfixturevalue("postgres_url")
    store = PostgresStore(url)
    await store.open()
    await pg.empty_tables(url)
    return store
