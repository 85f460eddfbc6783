"""Pick the backend from ACTIVITY_DATABASE_URL."""

from __future__ import annotations

from activity.config import ConfigError, Settings
from activity.storage.base import Store


def store_for(settings: Settings, *, create: bool = True) -> Store:
    """`create=False` (read-only commands): a SQLite file that does not exist yet is an error,
    not something to make."""
    path = settings.sqlite_path
    if path is not None and not create and not path.exists():
        raise ConfigError(
            f"no database at {path}: nothing is stored yet (ACTIVITY_DATABASE_URL picks another)"
        )
    if path is not None:
        from activity.storage.sqlite import SQLiteStore

        return SQLiteStore(path)
    if settings.database_url.startswith(("postgresql://", "postgres://")):
        from activity.storage.postgres import PostgresStore

        store: Store = PostgresStore(settings.database_url)
        return store
    raise ConfigError(
        "ACTIVITY_DATABASE_URL has an unsupported scheme: use sqlite:/// or postgresql://"
    )
