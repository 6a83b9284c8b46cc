-- Trellis schema (SQLite). UUIDs are 16-byte BLOBs, times RFC 3339 TEXT, JSON documents TEXT.
CREATE TABLE workers (
    id                BLOB PRIMARY KEY NOT NULL,
    name              TEXT NOT NULL,
    mode              TEXT NOT NULL,
    labels            TEXT NOT NULL DEFAULT '{}',
    token_hash        TEXT NOT NULL,
    reported_status   TEXT NOT NULL DEFAULT 'OFFLINE',
    current_job_id    BLOB,
    info              TEXT,
    last_heartbeat_at TEXT,
    created_at        TEXT NOT NULL
);

CREATE TABLE cloud_identities (
    id          BLOB PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    provider    TEXT NOT NULL,
    settings    TEXT NOT NULL DEFAULT '{}',
    credentials TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE jobs (
    id                BLOB PRIMARY KEY NOT NULL,
    job_type          TEXT NOT NULL,
    status            TEXT NOT NULL,
    payload           TEXT NOT NULL DEFAULT 'null',
    cloud_identity_id BLOB,
    worker_id         BLOB,
    error             TEXT,
    result            TEXT,
    retry_of          BLOB,
    cancel_requested  BOOLEAN NOT NULL DEFAULT FALSE,
    last_seq          INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL,
    queued_at         TEXT NOT NULL,
    claimed_at        TEXT,
    started_at        TEXT,
    finished_at       TEXT,
    updated_at        TEXT NOT NULL,
    last_activity_at  TEXT NOT NULL
);
CREATE INDEX jobs_queue ON jobs (status, created_at);
CREATE INDEX jobs_worker ON jobs (worker_id, status);

CREATE TABLE job_logs (
    job_id BLOB NOT NULL,
    seq    INTEGER NOT NULL,
    ts     TEXT NOT NULL,
    stream TEXT NOT NULL,
    text   TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);

CREATE TABLE plan_artifacts (
    job_id     BLOB PRIMARY KEY NOT NULL,
    body       TEXT NOT NULL,
    bytes      INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
