//! [`WorkerApiClient`]: the calls of a Tendril, and [`AdminClient`] for worker registration.

use crate::error::{ApiError, RawBody, Result, json_position};
use crate::http::{Auth, Http, Req, is_no_content, new_idempotency_key};
use crate::job_secrets::JobSecrets;
use crate::options::ClientOptions;
use crate::secret::Secret;
use crate::types::{
    ClaimRequest, ClaimResponse, HeartbeatRequest, HeartbeatResponse, Job, LogAck, LogBatch,
    LogLine, PlanArtifactAck, RegisterRequest, RegisterResponse, StatusUpdate,
};
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;
use uuid::Uuid;

/// Longest long-poll the server accepts.
pub const MAX_CLAIM_WAIT: Duration = Duration::from_secs(30);

/// A job a claim took, with its secrets (only the worker holding the job gets them).
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    /// The job (CLAIMED by this worker).
    pub job: Job,
    /// Its secrets, name → value.
    pub secrets: JobSecrets,
}

/// The client of a worker (Tendril). Every call sends `X-Worker-ID` and `X-Worker-Token`, has a
/// timeout and retries transient failures per [`ClientOptions::retry`].
#[derive(Debug, Clone)]
pub struct WorkerApiClient {
    http: Http,
    worker_id: Uuid,
    auth: Auth,
}

impl WorkerApiClient {
    /// A client for the worker `worker_id` of the Trellis at `base_url` (e.g. `http://host:8080`).
    pub fn new(
        base_url: &str,
        worker_id: Uuid,
        token: Secret,
        options: ClientOptions,
    ) -> Result<Self> {
        Ok(Self {
            http: Http::new(base_url, options)?,
            worker_id,
            auth: Auth::Worker {
                id: worker_id,
                token,
            },
        })
    }

    /// Registers a new worker with the admin token: `POST /api/tendrils/register`.
    pub async fn register(
        base_url: &str,
        admin_token: Secret,
        request: &RegisterRequest,
        options: ClientOptions,
    ) -> Result<RegisterResponse> {
        AdminClient::new(base_url, admin_token, options)?
            .register_worker(request)
            .await
    }

    /// This worker's id.
    pub fn worker_id(&self) -> Uuid {
        self.worker_id
    }

    /// The Trellis base URL.
    pub fn base_url(&self) -> &str {
        self.http.base()
    }

    /// `POST /api/jobs/claim`: a job, or `None` when none was queued (within `wait`, capped at
    /// 30 s, when given). The HTTP timeout of the request is the client timeout plus the wait.
    /// The job's secrets are dropped: see [`WorkerApiClient::claim`].
    pub async fn claim_job(&self, wait: Option<Duration>) -> Result<Option<Job>> {
        Ok(self.claim(wait).await?.map(|c| c.job))
    }

    /// `POST /api/jobs/claim`, like [`WorkerApiClient::claim_job`], with the job's secrets.
    pub async fn claim(&self, wait: Option<Duration>) -> Result<Option<ClaimedJob>> {
        const CALL: &str = "claim_job";
        let wait = wait.map(|w| w.min(MAX_CLAIM_WAIT));
        // One key per call, the same on its retries: a retried claim whose first answer was
        // lost gets the job that first attempt took.
        let body = ClaimRequest {
            wait_seconds: wait.map(|w| w.as_secs() as u32 + u32::from(w.subsec_nanos() > 0)),
            request_id: Some(Uuid::new_v4()),
        };
        let mut req = Req::new(Method::POST, "/api/jobs/claim")
            .json(CALL, &body)?
            .idempotent();
        req.extra_timeout = wait.unwrap_or_default() + Duration::from_secs(1);
        let resp = self.http.send(CALL, &req, &self.auth).await?;
        if is_no_content(&resp) {
            return Ok(None);
        }
        let body = crate::http::read_bounded(CALL, resp, crate::http::MAX_ANSWER_BYTES).await?;
        decode_claim(CALL, body.into()).map(Some)
    }

    /// `POST /api/workers/heartbeat`: the answer lists the held jobs the user asked to cancel.
    pub async fn send_heartbeat(&self, heartbeat: &HeartbeatRequest) -> Result<HeartbeatResponse> {
        const CALL: &str = "send_heartbeat";
        let req = Req::new(Method::POST, "/api/workers/heartbeat")
            .json(CALL, heartbeat)?
            .idempotent();
        self.http.json(CALL, &req, &self.auth).await
    }

    /// `PUT /api/jobs/{id}/status`: the job after the change. A 409 error carries the job's
    /// current status ([`ApiError::current_status`]).
    pub async fn update_job_status(&self, job_id: Uuid, update: &StatusUpdate) -> Result<Job> {
        const CALL: &str = "update_job_status";
        let req = Req::new(Method::PUT, format!("/api/jobs/{job_id}/status")).json(CALL, update)?;
        self.http.json(CALL, &req, &self.auth).await
    }

    /// `POST /api/jobs/{id}/logs`: stores the lines (lines whose seq is already stored are
    /// ignored, so resending is safe). Bodies over [`ClientOptions::gzip_threshold`] are gzipped.
    pub async fn send_logs(&self, job_id: Uuid, lines: &[LogLine]) -> Result<LogAck> {
        const CALL: &str = "send_logs";
        let batch = LogBatch {
            lines: lines.to_vec(),
        };
        let threshold = self.http.options().gzip_threshold;
        let req = Req::new(Method::POST, format!("/api/jobs/{job_id}/logs"))
            .json(CALL, &batch)?
            .idempotent()
            .gzip_over(CALL, threshold)
            .await?;
        self.http.json(CALL, &req, &self.auth).await
    }

    /// `POST /api/jobs/{id}/plan-artifact`: stores the plan artifact of a PLAN job this worker holds.
    pub async fn upload_plan_artifact(
        &self,
        job_id: Uuid,
        plan: &Value,
    ) -> Result<PlanArtifactAck> {
        const CALL: &str = "upload_plan_artifact";
        let threshold = self.http.options().gzip_threshold;
        let req = Req::new(Method::POST, format!("/api/jobs/{job_id}/plan-artifact"))
            .json(CALL, plan)?
            .idempotent()
            .gzip_over(CALL, threshold)
            .await?;
        self.http.json(CALL, &req, &self.auth).await
    }

    /// `GET /api/jobs/{id}/plan-artifact`: the plan artifact of a PLAN job, served only while this
    /// worker runs an APPLY job whose `payload.plan_job_id` names it; `None` when none is stored.
    pub async fn download_plan_artifact(&self, plan_job_id: Uuid) -> Result<Option<Value>> {
        const CALL: &str = "download_plan_artifact";
        let req = Req::new(
            Method::GET,
            format!("/api/jobs/{plan_job_id}/plan-artifact"),
        );
        match self.http.json(CALL, &req, &self.auth).await {
            Ok(v) => Ok(Some(v)),
            Err(ApiError::Status {
                status: 404,
                message,
                ..
            }) if message.contains("no plan artifact") => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Decodes a claim answer; one that is not a [`Job`] keeps its raw body and, when readable,
/// the id of the job the claim took (so the worker can report it FAILED).
fn decode_claim(call: &'static str, body: bytes::Bytes) -> Result<ClaimedJob> {
    match serde_json::from_slice::<ClaimResponse>(&body) {
        Ok(claimed) => Ok(ClaimedJob {
            job: claimed.job,
            secrets: claimed.secrets,
        }),
        Err(source) => {
            let job_id = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
                v.pointer("/job/id")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<Uuid>().ok())
            });
            Err(ApiError::UndecodableJob {
                call,
                job_id,
                reason: json_position(&source),
                body: RawBody(body),
            })
        }
    }
}

/// The client of an administrator (admin bearer token): registers and deletes workers.
#[derive(Debug, Clone)]
pub struct AdminClient {
    http: Http,
    auth: Auth,
}

impl AdminClient {
    /// A client with the admin token (`TRELLIS_ADMIN_TOKEN`).
    pub fn new(base_url: &str, admin_token: Secret, options: ClientOptions) -> Result<Self> {
        Ok(Self {
            http: Http::new(base_url, options)?,
            auth: Auth::Bearer(admin_token),
        })
    }

    /// `POST /api/tendrils/register` → 201 with the worker id and its token (shown once), with a
    /// new `Idempotency-Key` (the same on the retries of this call).
    pub async fn register_worker(&self, request: &RegisterRequest) -> Result<RegisterResponse> {
        self.register_worker_with_key(request, &new_idempotency_key())
            .await
    }

    /// `POST /api/tendrils/register` with the idempotency key `key`: a repeat (same key, same
    /// body, within 24 h) registers no second worker — it answers the same worker id with a new
    /// token (Trellis keeps only the hash of the first, which the repeat makes void).
    pub async fn register_worker_with_key(
        &self,
        request: &RegisterRequest,
        key: &str,
    ) -> Result<RegisterResponse> {
        const CALL: &str = "register";
        let req = Req::new(Method::POST, "/api/tendrils/register")
            .json(CALL, request)?
            .idempotency_key(key);
        self.http.json(CALL, &req, &self.auth).await
    }

    /// `DELETE /api/workers/{id}`: removes the worker and requeues its CLAIMED jobs.
    pub async fn delete_worker(&self, worker_id: Uuid) -> Result<()> {
        const CALL: &str = "delete_worker";
        let req = Req::new(Method::DELETE, format!("/api/workers/{worker_id}"));
        self.http.send(CALL, &req, &self.auth).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_undecodable_claim_answer_keeps_the_job_id_and_the_body() {
        let id = Uuid::new_v4();
        let body = bytes::Bytes::from(format!(
            r#"{{"job":{{"id":"{id}","type":"EXEC","status":7}}}}"#
        ));
        let err = decode_claim("claim_job", body.clone()).unwrap_err();
        let ok = format!(
            r#"{{"job":{{"id":"{id}","type":"EXEC","status":"CLAIMED","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}},"secrets":{{"db_password":"hunter22"}}}}"#
        );
        let claimed = decode_claim("claim_job", bytes::Bytes::from(ok)).expect("a job");
        assert_eq!(claimed.secrets["db_password"].expose(), "hunter22");
        assert_eq!(err.claimed_job_id(), Some(id));
        assert!(err.to_string().contains(&id.to_string()), "{err}");
        assert!(matches!(&err, ApiError::UndecodableJob { body: b, .. } if b.0 == body));
        // Neither the message nor Debug quotes a value of the answer.
        let secret = bytes::Bytes::from(format!(
            r#"{{"job":{{"id":"{id}","type":"EXEC","status":"QUEUED","payload":{{"s":"hunter2"}},"created_at":"hunter2"}}}}"#
        ));
        let err = decode_claim("claim_job", secret).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        let err = decode_claim("claim_job", bytes::Bytes::from_static(b"<html>")).unwrap_err();
        assert_eq!(err.claimed_job_id(), None);
        assert_eq!(err.call(), "claim_job");
    }
}
