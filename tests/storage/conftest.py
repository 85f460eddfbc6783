"""Fixtures of the storage tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from activity.storage.base import Store
from activity.storage.postgres import PostgresStore
from activity.storage.sqlite import SQLiteStore
from tests import pg


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    backend = SQLiteStore(tmp_path / "activity.db")
    await backend.open()
    yield backend
    await backend.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An open, empty store of each backend: the contract tests run once per backend."""
    backend: Store
    if request.param == "sqlite":
        backend = SQLiteStore(tmp_path / "activity.db")
        await backend.open()
    else:
        url = request.getfixturevalue("postgres_url")
        backend = PostgresStore(url)
        await backend.open()
        await pg.empty_tables(url)
    yield backend
    await backend.close()
