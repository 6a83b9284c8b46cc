-- Sessions of the web console (issue 18). A session is signed in with an API token and keeps
-- only that token's SHA-256 (and, for a per-user token, its id): every request re-derives the
-- principal from it, so a revoked or rotated token ends its sessions. The session id is kept as
-- its SHA-256 too; the CSRF synchronizer token is the session's own random value.
CREATE TABLE console_sessions (
    id_hash      TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL,
    token_id     UUID,
    csrf_token   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX console_sessions_token ON console_sessions (token_id);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
