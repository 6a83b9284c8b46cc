-- Job secrets (issue 16, "Secrets at rest"): the `secrets` map of a submission, stored apart from
-- the payload and handed only to the worker holding the job (in the claim answer); a retry copies
-- them, an APPLY gets its PLAN's. Job documents show `jobs.secret_names` (a JSON array of the
-- names, sorted), never a value.
ALTER TABLE jobs ADD COLUMN secret_names TEXT NOT NULL DEFAULT '[]';
CREATE TABLE job_secrets (
    job_id BLOB NOT NULL,
    name   TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (job_id, name)
);
