"""Pick the backend from ACTIVITY_DATABASE_URL."""

from __future__ import annotations

from activity.config import ConfigError, Settings
from activity.storage.base import Store


def store_for(settings: Settings) -> Store:
    path = settings.sqlite_path
    if path is not None:
        from activity.storage.sqlite import SQLiteStore

        return SQLiteStore(path)
    if settings.database_url.startswith(("postgresql://", "postgres://")):
        from activity.storage.postgres import PostgresStore

        store: Store = PostgresStore(settings.database_url)
        return store
    raise ConfigError("ACTIVITY_DATABASE_URL must start with sqlite:/// or postgresql://")
