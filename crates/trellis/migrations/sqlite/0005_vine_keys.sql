-- The vine a job works on (issue 18): `team/project/environment/region`, derived at submit from
-- the `vine` of a PLAN or DESTROY payload (grape-vine's model) and copied by an APPLY from the
-- PLAN it applies and by a retry from the job it retries. NULL: not a vine job (or a job stored
-- before this column).
ALTER TABLE jobs ADD COLUMN vine_key TEXT;
CREATE INDEX jobs_vine ON jobs (vine_key, created_at);
