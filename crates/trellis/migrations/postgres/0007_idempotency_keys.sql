-- Idempotency keys of writes (issue 16): `POST /api/jobs`, worker registration and retry take an
-- `Idempotency-Key` header. A key belongs to the token that sent it (`token_hash`, the SHA-256 of
-- the bearer token: never the token) and lives 24 h (`expires_at`; the sweeper deletes expired
-- rows). `fingerprint` is the SHA-256 of the request (operation, path and body), so the same key
-- with another request is refused; `resource_id` is the job or worker the first request made.
CREATE TABLE idempotency_keys (
    token_hash  TEXT NOT NULL,
    idem_key    TEXT NOT NULL,
    operation   TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    resource_id UUID NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (token_hash, idem_key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
