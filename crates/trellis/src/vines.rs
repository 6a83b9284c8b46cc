//! The vine a job works on: `team/project/environment/region`, from the `vine` of a PLAN or
//! DESTROY payload read with grape-vine's own (IO-free) model, or, for an APPLY, its PLAN's. Kept
//! in `jobs.vine_key` at submit, so listing vines is one grouped query over an index.

use crate::state::AppState;
use crate::store::StoreError;
use grape_api::JobType;
use serde_json::Value;

/// The parts of a vine key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VineKey {
    /// The job's team.
    pub team: String,
    /// `project_name` of the vine.
    pub project: String,
    /// `environment_stage` of the vine.
    pub environment: String,
    /// `region` of the vine.
    pub region: String,
}

impl VineKey {
    /// `team/project/environment/region`.
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.team, self.project, self.environment, self.region
        )
    }

    /// The parts of a stored key.
    pub fn parse(key: &str) -> Option<Self> {
        let mut parts = key.splitn(4, '/').map(str::to_owned);
        Some(Self {
            team: parts.next()?,
            project: parts.next()?,
            environment: parts.next()?,
            region: parts.next()?,
        })
    }
}

/// The vine of a PLAN/DESTROY/BOOTSTRAP payload `{"vine": {...}}` of `team`; `None` for any other job or a
/// vine that does not parse (its job fails at the worker with the field paths).
pub fn of_payload(team: &str, job_type: &JobType, payload: &Value) -> Option<VineKey> {
    if !matches!(
        job_type,
        JobType::Plan | JobType::Destroy | JobType::Bootstrap
    ) {
        return None;
    }
    let vine = grape_vine::vine_from_value(payload.get("vine")?.clone()).ok()?;
    Some(VineKey {
        team: team.to_owned(),
        project: vine.project_name,
        environment: vine.environment_stage,
        region: vine.region,
    })
}

/// The vine key of a job being submitted: its payload's vine, or an APPLY's PLAN's.
pub async fn key_for_submission(
    state: &AppState,
    team: &str,
    job_type: &JobType,
    payload: &Value,
) -> Result<Option<String>, StoreError> {
    if *job_type == JobType::Apply {
        let plan = payload
            .get(grape_api::PLAN_JOB_ID_FIELD)
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<uuid::Uuid>().ok());
        return match plan {
            Some(p) => state.store.vine_key_of(p).await,
            None => Ok(None),
        };
    }
    Ok(of_payload(team, job_type, payload).map(|k| k.key()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_plan_of_a_vine_has_its_key_and_other_jobs_none() {
        let vine: Value = serde_json::from_str(include_str!(
            "../../grape-vine/tests/samples/valid-azure.json"
        ))
        .expect("the sample");
        let key = of_payload("blue", &JobType::Plan, &json!({ "vine": vine })).expect("a key");
        assert_eq!(key.key(), "blue/shop/staging/westeurope");
        assert_eq!(VineKey::parse(&key.key()), Some(key));
        assert_eq!(
            of_payload("blue", &JobType::Exec, &json!({"vine": {}})),
            None
        );
        assert_eq!(
            of_payload("blue", &JobType::Plan, &json!({"source": {}})),
            None
        );
        assert_eq!(
            of_payload(
                "blue",
                &JobType::Plan,
                &json!({"vine": {"project_name": 3}})
            ),
            None
        );
    }
}
