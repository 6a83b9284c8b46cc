-- Trellis schema (PostgreSQL).
CREATE TABLE workers (
    id                UUID PRIMARY KEY,
    name              TEXT NOT NULL,
    mode              TEXT NOT NULL,
    labels            JSONB NOT NULL DEFAULT '{}',
    token_hash        TEXT NOT NULL,
    reported_status   TEXT NOT NULL DEFAULT 'OFFLINE',
    current_job_id    UUID,
    info              JSONB,
    last_heartbeat_at TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL
);

CREATE TABLE cloud_identities (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    provider    TEXT NOT NULL,
    settings    JSONB NOT NULL DEFAULT '{}',
    credentials JSONB,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE jobs (
    id                UUID PRIMARY KEY,
    job_type          TEXT NOT NULL,
    status            TEXT NOT NULL,
    payload           JSONB NOT NULL DEFAULT 'null',
    cloud_identity_id UUID,
    worker_id         UUID,
    error             TEXT,
    result            JSONB,
    retry_of          UUID,
    cancel_requested  BOOLEAN NOT NULL DEFAULT FALSE,
    last_seq          BIGINT NOT NULL DEFAULT 0,
    created_at        TIMESTAMPTZ NOT NULL,
    queued_at         TIMESTAMPTZ NOT NULL,
    claimed_at        TIMESTAMPTZ,
    started_at        TIMESTAMPTZ,
    finished_at       TIMESTAMPTZ,
    updated_at        TIMESTAMPTZ NOT NULL,
    last_activity_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX jobs_queue ON jobs (status, created_at);
CREATE INDEX jobs_worker ON jobs (worker_id, status);

CREATE TABLE job_logs (
    job_id UUID NOT NULL,
    seq    BIGINT NOT NULL,
    ts     TIMESTAMPTZ NOT NULL,
    stream TEXT NOT NULL,
    text   TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);

CREATE TABLE plan_artifacts (
    job_id     UUID PRIMARY KEY,
    body       JSONB NOT NULL,
    bytes      BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
