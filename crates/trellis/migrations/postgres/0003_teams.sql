-- Teams, job labels and per-user API tokens (issue 16). Every job, worker, cloud identity and
-- plan artifact belongs to a team; rows stored before get `default`. Job labels are a JSONB array
-- of strings (canonical: sorted, no duplicates).
ALTER TABLE jobs ADD COLUMN team TEXT NOT NULL DEFAULT 'default';
ALTER TABLE jobs ADD COLUMN labels JSONB NOT NULL DEFAULT '[]';
ALTER TABLE workers ADD COLUMN team TEXT NOT NULL DEFAULT 'default';
ALTER TABLE cloud_identities ADD COLUMN team TEXT NOT NULL DEFAULT 'default';
ALTER TABLE plan_artifacts ADD COLUMN team TEXT NOT NULL DEFAULT 'default';
-- The claim of a self-hosted worker probes its team's queue in order (a platform worker's, every
-- team's: `jobs_queue`, now with the id tiebreak of the claim's ORDER BY); a team's job list too.
CREATE INDEX jobs_team_queue ON jobs (status, team, created_at, id);
DROP INDEX jobs_queue;
CREATE INDEX jobs_queue ON jobs (status, created_at, id);
CREATE INDEX jobs_team ON jobs (team, created_at);
CREATE INDEX cloud_identities_team ON cloud_identities (team, created_at);

-- Per-user API tokens: only the SHA-256 of the token is stored; the token names its id.
CREATE TABLE api_tokens (
    id         UUID PRIMARY KEY,
    name       TEXT,
    team       TEXT NOT NULL,
    role       TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
