-- Sign-in with Marketing Cloud: server-side admin sessions, single-use OAuth states, used
-- legacy-login token ids, and each business unit's Marketing Cloud connection.
-- Cookies and states are stored as SHA-256 hashes: a copy of the database opens no session.

CREATE TABLE sessions (
    id_hash       TEXT PRIMARY KEY,
    mid           TEXT NOT NULL,
    enterprise_id TEXT NOT NULL DEFAULT '',
    user_id       TEXT NOT NULL,
    email         TEXT NOT NULL DEFAULT '',
    csrf_token    TEXT NOT NULL,
    source        TEXT NOT NULL,
    flash         TEXT NOT NULL DEFAULT '',
    created_at    REAL NOT NULL,
    expires_at    REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_mid ON sessions (mid);

CREATE TABLE sso_states (
    state_hash   TEXT PRIMARY KEY,
    browser_hash TEXT NOT NULL,
    next_path    TEXT NOT NULL,
    created_at   REAL NOT NULL,
    expires_at   REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX sso_states_expires ON sso_states (expires_at);

CREATE TABLE used_jtis (
    jti        TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX used_jtis_expires ON used_jtis (expires_at);

-- grant_type 'refresh_token': secret_token is the Fernet-encrypted refresh token (SSO);
-- 'client_credentials': the encrypted client secret of a server-to-server integration.
CREATE TABLE sfmc_connections (
    mid               TEXT PRIMARY KEY,
    enterprise_id     TEXT NOT NULL DEFAULT '',
    grant_type        TEXT NOT NULL,
    client_id         TEXT NOT NULL,
    secret_token      BLOB NOT NULL,
    tssd              TEXT NOT NULL DEFAULT '',
    auth_url          TEXT NOT NULL,
    rest_instance_url TEXT NOT NULL DEFAULT '',
    soap_instance_url TEXT NOT NULL DEFAULT '',
    scope             TEXT NOT NULL DEFAULT '',
    user_id           TEXT NOT NULL DEFAULT '',
    user_email        TEXT NOT NULL DEFAULT '',
    connected_at      REAL NOT NULL,
    updated_at        REAL NOT NULL,
    needs_signin      INTEGER NOT NULL DEFAULT 0,
    needs_signin_why  TEXT NOT NULL DEFAULT ''
);
