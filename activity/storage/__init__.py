"""Storage: one interface (`Store`), a SQLite default and a PostgreSQL implementation."""
