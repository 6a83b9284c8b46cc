//! The one place that decides what a caller may do: [`authorize`] over a [`Principal`] (role and
//! team), an [`Action`] and the team of the resource it touches. Every user handler calls it;
//! the claim takes its team scope from [`claim_team`]. ARCHITECTURE.md ("Trust model") shows the
//! same rules as a role × resource matrix.
//!
//! - **admin** (`TRELLIS_ADMIN_TOKEN`, or a token created with role `admin`): everything, in
//!   every team.
//! - **user** (`TRELLIS_API_TOKEN` — team `default` — or a token created with role `user`): the
//!   resources of its own team. Another team's job, log, identity or worker is *hidden*: the
//!   handler answers 404 exactly as for a resource that does not exist. Admin-only actions (the
//!   worker job types, registering or deleting workers, tokens, `/metrics`) are *forbidden*: 403.
//! - **worker**: not a bearer token; a worker authenticates with its id and token and claims jobs
//!   of [`claim_team`] only (its own team when self-hosted, any team when cloud-hosted).

use super::admin_only;
use crate::error::ApiErr;
use grape_api::{JobType, TokenRole, WorkerMode};

/// What a bearer token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Its own team's resources, except the admin-only actions.
    User,
    /// Everything, every team.
    Admin,
}

impl From<&TokenRole> for Role {
    /// An unknown role (a newer server's row) gets the least power.
    fn from(r: &TokenRole) -> Self {
        match r {
            TokenRole::Admin => Role::Admin,
            _ => Role::User,
        }
    }
}

/// The caller of a user endpoint: its role and team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Role.
    pub role: Role,
    /// Team (for an admin: the team its submissions default to).
    pub team: String,
}

/// What the caller wants to do.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    /// Read a job, its logs (page or stream), or list jobs.
    ReadJob,
    /// Cancel a job.
    CancelJob,
    /// Submit a job of this type (into the resource team).
    SubmitJob(&'a JobType),
    /// Retry a job of this type.
    RetryJob(&'a JobType),
    /// Read or list cloud identities, or name one in a submission.
    ReadIdentity,
    /// Create a cloud identity (in the resource team).
    CreateIdentity,
    /// List workers.
    ListWorkers,
    /// Register a worker (into the resource team).
    RegisterWorker,
    /// Delete a worker.
    DeleteWorker,
    /// Create, list or revoke API tokens.
    ManageTokens,
    /// Read `/metrics` on the API listener.
    ReadMetrics,
}

/// Why [`authorize`] said no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// The resource belongs to another team: answer as if it did not exist (404).
    Hidden,
    /// The caller may not do this at all (403), with the reason.
    Forbidden(String),
}

impl Denied {
    /// The answer: 404 with `not_found` (the handler's own "not found" message) or 403.
    pub fn into_api(self, not_found: impl FnOnce() -> String) -> ApiErr {
        match self {
            Denied::Hidden => ApiErr::not_found(not_found()),
            Denied::Forbidden(m) => ApiErr::forbidden(m),
        }
    }
}

/// Whether `principal` may do `action` on a resource of `resource_team`.
pub fn authorize(
    principal: &Principal,
    action: Action<'_>,
    resource_team: &str,
) -> Result<(), Denied> {
    if principal.role == Role::Admin {
        return Ok(());
    }
    let other_team = resource_team != principal.team;
    // Another team's existing resource is hidden before anything else is said about it.
    let existing = matches!(
        action,
        Action::ReadJob
            | Action::CancelJob
            | Action::RetryJob(_)
            | Action::ReadIdentity
            | Action::ListWorkers
            | Action::DeleteWorker
    );
    if existing && other_team {
        return Err(Denied::Hidden);
    }
    match action {
        Action::SubmitJob(t) | Action::RetryJob(t) if admin_only(t) => {
            return Err(Denied::Forbidden(format!(
                "{t} jobs need the admin token: they run with the platform's AWS credentials \
                 and the admin token, and the API token may not submit or retry them"
            )));
        }
        Action::RegisterWorker
        | Action::DeleteWorker
        | Action::ManageTokens
        | Action::ReadMetrics => {
            return Err(Denied::Forbidden(
                "this needs an admin token (TRELLIS_ADMIN_TOKEN or a token with role admin)"
                    .to_owned(),
            ));
        }
        _ => {}
    }
    if other_team {
        // The caller named the team itself (a submission, a new identity): nothing to hide.
        return Err(Denied::Forbidden(format!(
            "a user token of team `{}` acts for its own team only, not `{resource_team}`",
            principal.team
        )));
    }
    Ok(())
}

/// The team whose resources a listing shows `principal`: its own (a user), or every team (an
/// admin: `None`, narrowed by `requested`).
pub fn list_scope<'a>(principal: &'a Principal, requested: Option<&'a str>) -> Option<&'a str> {
    match principal.role {
        Role::Admin => requested,
        Role::User => Some(principal.team.as_str()),
    }
}

/// The team a claim of a worker takes jobs from: its own when self-hosted, any (`None`) when
/// cloud-hosted (a platform worker).
pub fn claim_team<'a>(mode: &WorkerMode, team: &'a str) -> Option<&'a str> {
    match mode {
        WorkerMode::CloudHosted => None,
        _ => Some(team),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(team: &str) -> Principal {
        Principal {
            role: Role::User,
            team: team.to_owned(),
        }
    }

    #[test]
    fn the_matrix() {
        let a = user("a");
        let admin = Principal {
            role: Role::Admin,
            team: "default".to_owned(),
        };
        let plan = JobType::Plan;
        let deploy = JobType::DeployWorker;
        for act in [
            Action::ReadJob,
            Action::CancelJob,
            Action::ReadIdentity,
            Action::ListWorkers,
        ] {
            assert_eq!(authorize(&a, act, "a"), Ok(()));
            assert_eq!(authorize(&a, act, "b"), Err(Denied::Hidden), "{act:?}");
            assert_eq!(authorize(&admin, act, "b"), Ok(()));
        }
        assert_eq!(authorize(&a, Action::SubmitJob(&plan), "a"), Ok(()));
        assert!(matches!(
            authorize(&a, Action::SubmitJob(&plan), "b"),
            Err(Denied::Forbidden(_))
        ));
        assert_eq!(
            authorize(&a, Action::RetryJob(&plan), "b"),
            Err(Denied::Hidden)
        );
        for act in [
            Action::SubmitJob(&deploy),
            Action::RetryJob(&deploy),
            Action::RegisterWorker,
            Action::DeleteWorker,
            Action::ManageTokens,
            Action::ReadMetrics,
        ] {
            assert!(
                matches!(authorize(&a, act, "a"), Err(Denied::Forbidden(_))),
                "{act:?}"
            );
            assert_eq!(authorize(&admin, act, "z"), Ok(()));
        }
        assert_eq!(list_scope(&a, Some("b")), Some("a"));
        assert_eq!(list_scope(&admin, Some("b")), Some("b"));
        assert_eq!(list_scope(&admin, None), None);
        assert_eq!(claim_team(&WorkerMode::SelfHosted, "a"), Some("a"));
        assert_eq!(claim_team(&WorkerMode::CloudHosted, "a"), None);
        assert_eq!(claim_team(&WorkerMode::Unknown("x".into()), "a"), Some("a"));
    }
}
