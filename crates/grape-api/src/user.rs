//! [`UserApiClient`]: the calls of a user (the grape CLI), with the API bearer token.

use crate::enums::{JobStatus, JobType};
use crate::error::Result;
use crate::http::{Auth, Http, Req, new_idempotency_key};
use crate::options::ClientOptions;
use crate::secret::Secret;
use crate::sse::{LogLineStream, log_stream};
use crate::tokens::{ApiToken, CreateTokenRequest, CreatedToken, TokenList};
use crate::types::{
    CloudIdentity, CreateIdentityRequest, Health, IdentityList, Job, JobList, LogPage,
    SubmitJobRequest, SubmittedJob, Worker, WorkerList,
};
use reqwest::Method;
use uuid::Uuid;

/// Which jobs `GET /api/jobs` lists ([`UserApiClient::list_jobs_where`]); `None`: any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// Only jobs of this status.
    pub status: Option<JobStatus>,
    /// Only jobs of this type.
    pub job_type: Option<JobType>,
    /// At most this many (the server's default: 100).
    pub limit: Option<u32>,
    /// Only this team's jobs (an admin's filter; a user sees its own team's only).
    pub team: Option<String>,
}

/// The client of a user (`Authorization: Bearer <TRELLIS_API_TOKEN>`).
#[derive(Debug, Clone)]
pub struct UserApiClient {
    http: Http,
    auth: Auth,
}

impl UserApiClient {
    /// A client for the Trellis at `base_url` with default options.
    pub fn new(base_url: &str, token: Secret) -> Result<Self> {
        Self::with_options(base_url, token, ClientOptions::default())
    }

    /// A client with explicit options.
    pub fn with_options(base_url: &str, token: Secret, options: ClientOptions) -> Result<Self> {
        Ok(Self {
            http: Http::new(base_url, options)?,
            auth: Auth::Bearer(token),
        })
    }

    /// The Trellis base URL.
    pub fn base_url(&self) -> &str {
        self.http.base()
    }

    /// `POST /api/jobs` → the new QUEUED job.
    pub async fn submit_job(&self, request: &SubmitJobRequest) -> Result<Job> {
        Ok(self.submit_job_with_warnings(request).await?.job)
    }

    /// `POST /api/jobs`, with the answer's warnings (e.g. no online worker offers the type), and
    /// a new `Idempotency-Key` (the same on the retries of this call: a retried submit whose
    /// first answer was lost makes no second job).
    pub async fn submit_job_with_warnings(
        &self,
        request: &SubmitJobRequest,
    ) -> Result<SubmittedJob> {
        self.submit_job_with_key(request, &new_idempotency_key())
            .await
    }

    /// `POST /api/jobs` with the idempotency key `key` (1 to 255 visible ASCII characters): the
    /// same key and body within 24 h answer the job the first request made; the same key with
    /// another body is refused (422). Keys are per token.
    pub async fn submit_job_with_key(
        &self,
        request: &SubmitJobRequest,
        key: &str,
    ) -> Result<SubmittedJob> {
        const CALL: &str = "submit_job";
        let req = Req::new(Method::POST, "/api/jobs")
            .json(CALL, request)?
            .idempotency_key(key);
        self.http.json(CALL, &req, &self.auth).await
    }

    /// `GET /api/jobs?status=&limit=`: jobs, newest first.
    pub async fn list_jobs(
        &self,
        status: Option<&JobStatus>,
        limit: Option<u32>,
    ) -> Result<Vec<Job>> {
        self.list_jobs_where(&JobFilter {
            status: status.cloned(),
            limit,
            ..JobFilter::default()
        })
        .await
    }

    /// `GET /api/jobs?status=&job_type=&limit=&team=`: the jobs `filter` keeps, newest first.
    pub async fn list_jobs_where(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        const CALL: &str = "list_jobs";
        let mut req = Req::new(Method::GET, "/api/jobs");
        if let Some(s) = &filter.status {
            req.query.push(("status", s.as_str().to_owned()));
        }
        if let Some(t) = &filter.job_type {
            req.query.push(("job_type", t.as_str().to_owned()));
        }
        if let Some(l) = filter.limit {
            req.query.push(("limit", l.to_string()));
        }
        if let Some(team) = &filter.team {
            req.query.push(("team", team.clone()));
        }
        let list: JobList = self.http.json(CALL, &req, &self.auth).await?;
        Ok(list.jobs)
    }

    /// `GET /api/jobs/{id}`.
    pub async fn get_job(&self, id: Uuid) -> Result<Job> {
        const CALL: &str = "get_job";
        self.http
            .json(
                CALL,
                &Req::new(Method::GET, format!("/api/jobs/{id}")),
                &self.auth,
            )
            .await
    }

    /// `GET /api/jobs/{id}/logs?after_seq=`: the stored lines after `after_seq`.
    pub async fn get_logs(&self, id: Uuid, after_seq: Option<u64>) -> Result<LogPage> {
        const CALL: &str = "get_logs";
        let mut req = Req::new(Method::GET, format!("/api/jobs/{id}/logs"));
        if let Some(a) = after_seq {
            req.query.push(("after_seq", a.to_string()));
        }
        self.http.json(CALL, &req, &self.auth).await
    }

    /// `GET /api/jobs/{id}/logs/stream` (server-sent events): the lines after `after_seq`, live;
    /// the stream ends when the job has ended and every line was sent.
    pub async fn stream_logs(&self, id: Uuid, after_seq: Option<u64>) -> Result<LogLineStream> {
        const CALL: &str = "stream_logs";
        let mut req = Req::new(Method::GET, format!("/api/jobs/{id}/logs/stream"));
        req.streaming = true;
        if let Some(a) = after_seq {
            req.query.push(("after_seq", a.to_string()));
        }
        let resp = self.http.send(CALL, &req, &self.auth).await?;
        Ok(log_stream(CALL, Box::pin(resp.bytes_stream())))
    }

    /// `POST /api/jobs/{id}/cancel`: a QUEUED job is CANCELLED at once; a CLAIMED/RUNNING job gets
    /// a cancel request delivered to its worker.
    pub async fn cancel_job(&self, id: Uuid) -> Result<Job> {
        const CALL: &str = "cancel_job";
        self.http
            .json(
                CALL,
                &Req::new(Method::POST, format!("/api/jobs/{id}/cancel")).idempotent(),
                &self.auth,
            )
            .await
    }

    /// `POST /api/jobs/{id}/retry`: a FAILED/CANCELLED job → a new QUEUED job (`retry_of` = id),
    /// with a new `Idempotency-Key` (a retried call gets the same new job).
    pub async fn retry_job(&self, id: Uuid) -> Result<Job> {
        const CALL: &str = "retry_job";
        self.http
            .json(
                CALL,
                &Req::new(Method::POST, format!("/api/jobs/{id}/retry"))
                    .idempotency_key(new_idempotency_key()),
                &self.auth,
            )
            .await
    }

    /// `GET /api/workers`.
    pub async fn list_workers(&self) -> Result<Vec<Worker>> {
        const CALL: &str = "list_workers";
        let list: WorkerList = self
            .http
            .json(CALL, &Req::new(Method::GET, "/api/workers"), &self.auth)
            .await?;
        Ok(list.workers)
    }

    /// `DELETE /api/workers/{id}` with the admin token (requeues its CLAIMED jobs).
    pub async fn delete_worker(&self, id: Uuid, admin_token: &Secret) -> Result<()> {
        const CALL: &str = "delete_worker";
        let req = Req::new(Method::DELETE, format!("/api/workers/{id}"));
        self.http
            .send(CALL, &req, &Auth::Bearer(admin_token.clone()))
            .await
            .map(|_| ())
    }

    /// `POST /api/cloud-identities` → 201 identity.
    pub async fn create_identity(&self, request: &CreateIdentityRequest) -> Result<CloudIdentity> {
        const CALL: &str = "create_identity";
        let req = Req::new(Method::POST, "/api/cloud-identities").json(CALL, request)?;
        self.http.json(CALL, &req, &self.auth).await
    }

    /// `GET /api/cloud-identities` → every identity, newest first.
    pub async fn list_identities(&self) -> Result<IdentityList> {
        const CALL: &str = "list_identities";
        let req = Req::new(Method::GET, "/api/cloud-identities");
        self.http.json(CALL, &req, &self.auth).await
    }

    /// `GET /api/cloud-identities/{id}` (with its cached `credentials`).
    pub async fn get_identity(&self, id: Uuid) -> Result<CloudIdentity> {
        const CALL: &str = "get_identity";
        let req = Req::new(Method::GET, format!("/api/cloud-identities/{id}"));
        self.http.json(CALL, &req, &self.auth).await
    }

    /// `POST /api/tokens` (an admin token) → the new token, shown this once.
    pub async fn create_token(&self, request: &CreateTokenRequest) -> Result<CreatedToken> {
        const CALL: &str = "create_token";
        let req = Req::new(Method::POST, "/api/tokens").json(CALL, request)?;
        self.http.json(CALL, &req, &self.auth).await
    }

    /// `GET /api/tokens` (an admin token): every token, without its secret.
    pub async fn list_tokens(&self) -> Result<Vec<ApiToken>> {
        const CALL: &str = "list_tokens";
        let req = Req::new(Method::GET, "/api/tokens");
        let list: TokenList = self.http.json(CALL, &req, &self.auth).await?;
        Ok(list.tokens)
    }

    /// `DELETE /api/tokens/{id}` (an admin token): the token gets 401 from now on.
    pub async fn revoke_token(&self, id: Uuid) -> Result<()> {
        const CALL: &str = "revoke_token";
        let req = Req::new(Method::DELETE, format!("/api/tokens/{id}"));
        self.http.send(CALL, &req, &self.auth).await.map(|_| ())
    }

    /// `GET /healthz` (no token needed).
    pub async fn health(&self) -> Result<Health> {
        const CALL: &str = "health";
        self.http
            .json(CALL, &Req::new(Method::GET, "/healthz"), &Auth::None)
            .await
    }

    /// `GET /api/openapi.json` (no token needed).
    pub async fn openapi(&self) -> Result<serde_json::Value> {
        const CALL: &str = "openapi";
        self.http
            .json(
                CALL,
                &Req::new(Method::GET, "/api/openapi.json"),
                &Auth::None,
            )
            .await
    }
}
