-- One row that /readyz rewrites (at most every few seconds): a database that cannot commit a
-- write (read-only, disk full, I/O errors) is not ready, however well it answers SELECT 1.
CREATE TABLE readiness_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at DOUBLE PRECISION NOT NULL
);
