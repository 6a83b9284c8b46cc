//! Teams, roles and per-user tokens: cross-team 404s on every user endpoint, team-scoped and
//! label-matched claims, token create/list/revoke.

use crate::both_backends;
use crate::common::{Backend, Env, start};
use grape_api::{
    CloudProvider, CreateIdentityRequest, CreateTokenRequest, HeartbeatRequest, Job, JobStatus,
    JobType, RegisterRequest, Secret, StatusUpdate, SubmitJobRequest, TokenRole, UserApiClient,
    WorkerApiClient, WorkerMode, WorkerStatus,
};
use grape_testkit::trellis::TrellisServer;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;
use uuid::Uuid;

/// A new token of `team` with `role`, and a client using it.
async fn token(env: &Env, team: &str, role: TokenRole) -> (Uuid, Secret, UserApiClient) {
    let created = env
        .server
        .admin_client()
        .create_token(&CreateTokenRequest {
            team: team.to_owned(),
            role,
            name: Some(format!("{team} token")),
        })
        .await
        .expect("create token");
    let client = UserApiClient::with_options(
        env.server.url(),
        created.token.clone(),
        TrellisServer::test_options(),
    )
    .expect("client");
    (created.info.id, created.token, client)
}

/// A registered worker of `team` (with `mode` and `labels`) that sent its first heartbeat.
async fn team_worker(
    env: &Env,
    team: &str,
    mode: WorkerMode,
    labels: &[(&str, &str)],
) -> WorkerApiClient {
    let req = RegisterRequest {
        name: format!("{team}-worker"),
        mode,
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
        team: Some(team.to_owned()),
    };
    let reg = WorkerApiClient::register(
        env.server.url(),
        env.server.admin_token().clone(),
        &req,
        TrellisServer::test_options(),
    )
    .await
    .expect("register");
    let client = env.server.worker_client(reg.worker_id, reg.worker_token);
    client
        .send_heartbeat(&HeartbeatRequest {
            status: WorkerStatus::Online,
            current_job_id: None,
            info: None,
        })
        .await
        .expect("heartbeat");
    client
}

fn exec(labels: &[&str]) -> SubmitJobRequest {
    SubmitJobRequest {
        job_type: JobType::Exec,
        payload: json!({"argv": ["true"]}),
        cloud_identity_id: None,
        team: None,
        labels: labels.iter().map(|l| (*l).to_owned()).collect(),
        secrets: grape_api::JobSecrets::new(),
    }
}

/// A short claim: the hang guard of "this worker gets nothing".
async fn claim_briefly(w: &WorkerApiClient) -> Option<Job> {
    w.claim_job(Some(Duration::from_secs(1)))
        .await
        .expect("claim")
}

fn status_of(e: &grape_api::ApiError) -> Option<u16> {
    e.status()
}

async fn raw(env: &Env, method: reqwest::Method, path: &str, bearer: &Secret) -> StatusCode {
    reqwest::Client::new()
        .request(method, format!("{}{path}", env.server.url()))
        .bearer_auth(bearer.expose())
        .send()
        .await
        .expect("request")
        .status()
}

async fn tokens_create_list_revoke(backend: Backend) {
    let env = start(backend).await;
    let admin = env.server.admin_client();
    let (id, secret, a) = token(&env, "team-a", TokenRole::User).await;
    assert!(secret.expose().starts_with("trl_"));
    // The token works, as a user of its team.
    let job = a
        .submit_job(&exec(&[]))
        .await
        .expect("submit with the token");
    assert_eq!(job.team, "team-a");
    // The listing shows it, never a secret.
    let listed = admin.list_tokens().await.expect("list");
    let mine = listed.iter().find(|t| t.id == id).expect("listed");
    assert_eq!(
        (mine.team.as_str(), &mine.role),
        ("team-a", &TokenRole::User)
    );
    assert_eq!(mine.revoked_at, None);
    let body = reqwest::Client::new()
        .get(format!("{}/api/tokens", env.server.url()))
        .bearer_auth(env.server.admin_token().expose())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!body.contains(secret.expose()), "a secret in the listing");
    assert!(!body.contains("hash"), "{body}");
    // A user may not manage tokens: 403, for the API token and a per-user token alike.
    for user in [env.server.api_token(), &secret] {
        let req = CreateTokenRequest {
            team: "team-a".into(),
            role: TokenRole::Admin,
            name: None,
        };
        let err = UserApiClient::new(env.server.url(), user.clone())
            .unwrap()
            .create_token(&req)
            .await
            .unwrap_err();
        assert_eq!(status_of(&err), Some(403), "{err}");
        assert_eq!(
            raw(&env, reqwest::Method::GET, "/api/tokens", user).await,
            StatusCode::FORBIDDEN
        );
        let path = format!("/api/tokens/{id}");
        assert_eq!(
            raw(&env, reqwest::Method::DELETE, &path, user).await,
            StatusCode::FORBIDDEN
        );
        // Nor register workers.
        let reg = RegisterRequest {
            name: "x".into(),
            mode: WorkerMode::SelfHosted,
            labels: BTreeMap::new(),
            team: Some("team-a".into()),
        };
        let err = WorkerApiClient::register(
            env.server.url(),
            user.clone(),
            &reg,
            TrellisServer::test_options(),
        )
        .await
        .unwrap_err();
        assert_eq!(status_of(&err), Some(403), "{err}");
    }
    // Bad requests.
    let bad = CreateTokenRequest {
        team: "Not A Team".into(),
        role: TokenRole::User,
        name: None,
    };
    assert_eq!(
        status_of(&admin.create_token(&bad).await.unwrap_err()),
        Some(400)
    );
    // An admin-role token manages tokens and registers workers.
    let (_, _, admin2) = token(&env, "ops", TokenRole::Admin).await;
    assert!(admin2.list_tokens().await.expect("admin token lists").len() >= 2);
    // Revoked: 401 at once, listed with its revocation time; revoking again is fine.
    admin.revoke_token(id).await.expect("revoke");
    let err = a.list_jobs(None, None).await.unwrap_err();
    assert_eq!(status_of(&err), Some(401), "{err}");
    admin.revoke_token(id).await.expect("revoke again");
    let listed = admin.list_tokens().await.expect("list");
    assert!(
        listed
            .iter()
            .find(|t| t.id == id)
            .is_some_and(|t| t.revoked_at.is_some())
    );
    let err = admin.revoke_token(Uuid::new_v4()).await.unwrap_err();
    assert_eq!(status_of(&err), Some(404));
    // A made-up token of the right shape: 401.
    let forged = Secret::new(format!("trl_{}{}", id.simple(), "0".repeat(64)));
    assert_eq!(
        raw(&env, reqwest::Method::GET, "/api/jobs", &forged).await,
        StatusCode::UNAUTHORIZED
    );
}
both_backends!(tokens, super::tokens_create_list_revoke);

async fn another_teams_resources_are_not_found(backend: Backend) {
    let env = start(backend).await;
    let (_, _, a) = token(&env, "team-a", TokenRole::User).await;
    let (_, b_secret, b) = token(&env, "team-b", TokenRole::User).await;
    let identity = a
        .create_identity(&CreateIdentityRequest {
            name: "a-account".into(),
            provider: CloudProvider::Aws,
            settings: json!({"role_arn": "arn:aws:iam::123456789012:role/vintner-a", "external_id": "xa"}),
        })
        .await
        .expect("identity");
    assert_eq!(identity.team, "team-a");
    let job = a.submit_job(&exec(&[])).await.expect("submit");
    let worker_a = team_worker(&env, "team-a", WorkerMode::SelfHosted, &[]).await;

    let nf = |r: Result<(), grape_api::ApiError>, what: &str| {
        let e = r.expect_err(what);
        assert_eq!(status_of(&e), Some(404), "{what}: {e}");
    };
    nf(b.get_job(job.id).await.map(drop), "get");
    nf(b.get_logs(job.id, None).await.map(drop), "logs");
    nf(b.stream_logs(job.id, None).await.map(drop), "stream");
    nf(b.cancel_job(job.id).await.map(drop), "cancel");
    nf(b.get_identity(identity.id).await.map(drop), "identity");
    let path = format!("/api/jobs/{}/logs/stream", job.id);
    assert_eq!(
        raw(&env, reqwest::Method::GET, &path, &b_secret).await,
        StatusCode::NOT_FOUND
    );
    // Listings show only the caller's team.
    assert!(b.list_jobs(None, None).await.unwrap().is_empty());
    assert!(b.list_identities().await.unwrap().identities.is_empty());
    assert!(b.list_workers().await.unwrap().is_empty());
    assert_eq!(a.list_jobs(None, None).await.unwrap().len(), 1);
    assert_eq!(a.list_workers().await.unwrap().len(), 1);
    assert_eq!(a.list_identities().await.unwrap().identities.len(), 1);
    // The bootstrap API token is team `default`: it sees none of them either.
    let default = env.server.user_client();
    nf(default.get_job(job.id).await.map(drop), "default get");
    // Naming another team's identity: as unknown as a missing one.
    let mut with_identity = exec(&[]);
    with_identity.cloud_identity_id = Some(identity.id);
    let e = b.submit_job(&with_identity).await.unwrap_err();
    assert_eq!(status_of(&e), Some(400), "{e}");
    assert!(e.to_string().contains("unknown cloud identity"), "{e}");
    // A user submits to its own team only; an admin to any.
    let mut into_a = exec(&[]);
    into_a.team = Some("team-a".into());
    assert_eq!(
        status_of(&b.submit_job(&into_a).await.unwrap_err()),
        Some(403)
    );
    let admin_job = env
        .server
        .admin_client()
        .submit_job(&into_a)
        .await
        .expect("admin submits for team-a");
    assert_eq!(admin_job.team, "team-a");
    // Deleting another team's worker: 404 (an admin-only action besides).
    let path = format!("/api/workers/{}", worker_a.worker_id());
    assert_eq!(
        raw(&env, reqwest::Method::DELETE, &path, &b_secret).await,
        StatusCode::NOT_FOUND
    );
    // Retry of a failed job of another team: 404.
    let claimed = claim_briefly(&worker_a)
        .await
        .expect("team-a worker claims");
    worker_a
        .update_job_status(claimed.id, &StatusUpdate::failed("boom"))
        .await
        .expect("fail");
    nf(b.retry_job(claimed.id).await.map(drop), "retry");
    let retried = a.retry_job(claimed.id).await.expect("own team retries");
    assert_eq!(retried.team, "team-a");
    // The admin sees every team.
    let all = env
        .server
        .admin_client()
        .list_jobs(None, None)
        .await
        .unwrap();
    assert!(all.iter().all(|j| j.team == "team-a") && all.len() == 3);
}
both_backends!(cross_team_404, super::another_teams_resources_are_not_found);

async fn artifacts_stay_in_their_team(backend: Backend) {
    let env = start(backend).await;
    let (_, _, a) = token(&env, "team-a", TokenRole::User).await;
    let (_, _, b) = token(&env, "team-b", TokenRole::User).await;
    let platform = team_worker(&env, "default", WorkerMode::CloudHosted, &[]).await;
    let plan = a
        .submit_job(&SubmitJobRequest {
            job_type: JobType::Plan,
            payload: json!({}),
            cloud_identity_id: None,
            team: None,
            labels: Vec::new(),
            secrets: grape_api::JobSecrets::new(),
        })
        .await
        .expect("plan");
    let held = claim_briefly(&platform)
        .await
        .expect("platform claims team-a's PLAN");
    assert_eq!((held.id, held.team.as_str()), (plan.id, "team-a"));
    platform
        .update_job_status(plan.id, &StatusUpdate::running())
        .await
        .unwrap();
    platform
        .upload_plan_artifact(plan.id, &json!({"format": "grape.plan.v2"}))
        .await
        .expect("upload");
    platform
        .update_job_status(plan.id, &StatusUpdate::success(None))
        .await
        .unwrap();
    let apply = |team_client: &UserApiClient| {
        let c = team_client.clone();
        async move {
            c.submit_job(&SubmitJobRequest {
                job_type: JobType::Apply,
                payload: json!({ "plan_job_id": plan.id }),
                cloud_identity_id: None,
                team: None,
                labels: Vec::new(),
                secrets: grape_api::JobSecrets::new(),
            })
            .await
            .expect("apply")
        }
    };
    // Team b's APPLY naming team a's PLAN: to it, the artifact does not exist.
    let foreign = apply(&b).await;
    assert_eq!(
        claim_briefly(&platform).await.map(|j| j.id),
        Some(foreign.id)
    );
    let err = platform.download_plan_artifact(plan.id).await;
    assert!(
        matches!(err, Ok(None)) || err.as_ref().is_err_and(|e| status_of(e) == Some(404)),
        "{err:?}"
    );
    platform
        .update_job_status(foreign.id, &StatusUpdate::failed("no plan"))
        .await
        .unwrap();
    // Team a's own APPLY gets it.
    let own = apply(&a).await;
    assert_eq!(claim_briefly(&platform).await.map(|j| j.id), Some(own.id));
    let got = platform
        .download_plan_artifact(plan.id)
        .await
        .expect("download");
    assert_eq!(got, Some(json!({"format": "grape.plan.v2"})));
}
both_backends!(artifacts, super::artifacts_stay_in_their_team);

async fn self_hosted_workers_claim_their_teams_jobs(backend: Backend) {
    let env = start(backend).await;
    let (_, _, b) = token(&env, "team-b", TokenRole::User).await;
    let worker_a = team_worker(&env, "team-a", WorkerMode::SelfHosted, &[]).await;
    let worker_b = team_worker(&env, "team-b", WorkerMode::SelfHosted, &[]).await;
    // A long-polling claim of team a is not handed team b's job.
    let waiting_a = {
        let w = worker_a.clone();
        tokio::spawn(async move { w.claim_job(Some(Duration::from_secs(2))).await })
    };
    let job = b.submit_job(&exec(&[])).await.expect("submit");
    assert_eq!(job.team, "team-b");
    assert!(
        claim_briefly(&worker_a).await.is_none(),
        "team a got team b's job"
    );
    let got = claim_briefly(&worker_b)
        .await
        .expect("team b's worker claims it");
    assert_eq!((got.id, got.team.as_str()), (job.id, "team-b"));
    assert!(waiting_a.await.unwrap().expect("claim").is_none());
    // A platform (cloud-hosted) worker claims any team's job.
    let platform = team_worker(&env, "default", WorkerMode::CloudHosted, &[]).await;
    let job2 = b.submit_job(&exec(&[])).await.expect("submit");
    assert!(claim_briefly(&worker_a).await.is_none());
    assert_eq!(claim_briefly(&platform).await.map(|j| j.id), Some(job2.id));
    // A job of team `default` (the API token) goes to a default worker only.
    let job3 = env
        .server
        .user_client()
        .submit_job(&exec(&[]))
        .await
        .unwrap();
    assert_eq!(job3.team, "default");
    assert!(claim_briefly(&worker_b).await.is_none());
    let default_worker = team_worker(&env, "default", WorkerMode::SelfHosted, &[]).await;
    assert_eq!(
        claim_briefly(&default_worker).await.map(|j| j.id),
        Some(job3.id)
    );
}
both_backends!(
    team_claims,
    super::self_hosted_workers_claim_their_teams_jobs
);

async fn labels_must_all_be_offered(backend: Backend) {
    let env = start(backend).await;
    let user = env.server.user_client();
    let eu = team_worker(
        &env,
        "default",
        WorkerMode::SelfHosted,
        &[("region", "eu"), ("gpu", "")],
    )
    .await;
    let us_job = user.submit_job(&exec(&["region=us"])).await.unwrap();
    assert_eq!(us_job.labels, ["region=us"]);
    // Mismatch: the job stays QUEUED; a matching worker may take it later.
    assert!(claim_briefly(&eu).await.is_none(), "label mismatch claimed");
    assert_eq!(
        user.get_job(us_job.id).await.unwrap().status,
        JobStatus::Queued
    );
    let eu_job = user
        .submit_job(&exec(&["region=eu", "gpu", "region=eu"]))
        .await
        .unwrap();
    assert_eq!(eu_job.labels, ["gpu", "region=eu"], "canonical labels");
    assert_eq!(claim_briefly(&eu).await.map(|j| j.id), Some(eu_job.id));
    let any = user.submit_job(&exec(&[])).await.unwrap();
    assert_eq!(claim_briefly(&eu).await.map(|j| j.id), Some(any.id));
    let us = team_worker(&env, "default", WorkerMode::SelfHosted, &[("region", "us")]).await;
    assert_eq!(claim_briefly(&us).await.map(|j| j.id), Some(us_job.id));
    // Invalid labels: 400.
    let e = user.submit_job(&exec(&["has space"])).await.unwrap_err();
    assert_eq!(status_of(&e), Some(400), "{e}");
}
both_backends!(labels, super::labels_must_all_be_offered);
