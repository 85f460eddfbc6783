"""Fixtures of the storage tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from activity.storage.base import Store
from tests.backends import BACKENDS, open_store


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An open, empty store of each backend: the contract tests run once per backend."""
    backend = await open_store(request.param, request, tmp_path)
    yield backend
    await backend.close()
