-- The idempotency key of the claim that took a job (ClaimRequest.request_id): a retried claim
-- with the same key gets the job again while the worker holds it CLAIMED.
ALTER TABLE jobs ADD COLUMN claim_request_id BLOB;
CREATE UNIQUE INDEX jobs_claim_request ON jobs (claim_request_id) WHERE claim_request_id IS NOT NULL;
