//! `GET /api/vines` and a vine's jobs: the vines the jobs of the caller's team (an admin: of
//! every team) worked on, keyed `team/project/environment/region` (see [`crate::vines`]).

use crate::auth::policy::list_scope;
use crate::auth::{Action, UserAuth};
use crate::error::ApiErr;
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use crate::vines::VineKey;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use grape_api::{ErrorBody, Job, JobList, JobStatus, JobType};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One vine.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VineSummary {
    /// `team/project/environment/region`.
    pub key: String,
    /// The team of its jobs.
    pub team: String,
    /// The vine's `project_name`.
    pub project: String,
    /// The vine's `environment_stage`.
    pub environment: String,
    /// The vine's `region`.
    pub region: String,
    /// How many jobs worked on it.
    pub jobs: u64,
    /// When the newest of them was submitted.
    pub last_job_at: DateTime<Utc>,
    /// The newest job.
    pub latest_job_id: Option<Uuid>,
    /// Its type.
    pub latest_job_type: Option<JobType>,
    /// Its status.
    pub latest_status: Option<JobStatus>,
}

/// `GET /api/vines`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VineList {
    /// The vines, the most recently worked on first.
    pub vines: Vec<VineSummary>,
}

/// Query of `GET /api/vines`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct VineQuery {
    /// Only this team's vines (an admin; a user sees its own team's only).
    pub team: Option<String>,
}

/// The vines of the caller's team (an admin: every team's, or `team`'s), derived from the `vine`
/// of their PLAN/DESTROY jobs (an APPLY counts for its PLAN's vine).
#[utoipa::path(get, path = "/api/vines", tag = "vines", params(VineQuery), security(("bearer" = [])),
    responses((status = 200, body = VineList), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: UserAuth,
    ApiQuery(q): ApiQuery<VineQuery>,
) -> Result<Json<VineList>, ApiErr> {
    let team = list_scope(&caller.0, q.team.as_deref().filter(|t| !t.is_empty()));
    let rows = state.store.list_vines(team).await?;
    let mut vines = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(key) = VineKey::parse(&row.vine_key) else {
            continue;
        };
        let latest = state.store.vine_jobs(&row.vine_key, 1).await?;
        let latest = latest.first();
        vines.push(VineSummary {
            key: row.vine_key.clone(),
            team: row.team,
            project: key.project,
            environment: key.environment,
            region: key.region,
            jobs: u64::try_from(row.jobs).unwrap_or(0),
            last_job_at: row.last_job_at,
            latest_job_id: latest.map(|j| j.id),
            latest_job_type: latest.map(crate::store::JobRow::job_type),
            latest_status: latest.map(crate::store::JobRow::status),
        });
    }
    Ok(Json(VineList { vines }))
}

/// The path of one vine.
#[derive(Debug, Deserialize)]
pub struct VinePath {
    team: String,
    project: String,
    environment: String,
    region: String,
}

impl VinePath {
    /// The path of the vine `team/project/environment/region`.
    pub fn new(team: &str, project: &str, environment: &str, region: &str) -> Self {
        Self {
            team: team.to_owned(),
            project: project.to_owned(),
            environment: environment.to_owned(),
            region: region.to_owned(),
        }
    }
}

/// The newest 200 jobs of one vine (another team's vine: 404, like a missing one).
#[utoipa::path(get, path = "/api/vines/{team}/{project}/{environment}/{region}/jobs", tag = "vines",
    params(("team" = String, Path), ("project" = String, Path), ("environment" = String, Path), ("region" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = JobList), (status = 404, body = ErrorBody)))]
pub async fn jobs(
    State(state): State<AppState>,
    caller: UserAuth,
    ApiPath(p): ApiPath<VinePath>,
) -> Result<Json<JobList>, ApiErr> {
    let team = p.team.clone();
    let key = VineKey {
        team: p.team,
        project: p.project,
        environment: p.environment,
        region: p.region,
    }
    .key();
    let not_found = || format!("vine {key} not found");
    caller.authorize(Action::ReadJob, &team, not_found)?;
    let rows = state.store.vine_jobs(&key, 200).await?;
    if rows.is_empty() {
        return Err(ApiErr::not_found(not_found()));
    }
    let jobs: Vec<Job> = rows.iter().map(crate::store::JobRow::to_job).collect();
    Ok(Json(JobList { jobs }))
}
