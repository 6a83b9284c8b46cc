//! [`WorkerNames`]: every AWS name of one cloud-hosted worker, derived from its name.

use grape_cloud_aws::{AwsError, AwsErrorKind};

/// The cluster workers run in when the job names none.
pub const DEFAULT_CLUSTER: &str = "vintner-tendrils";
/// The folder of the deployed workers' own Secrets Manager secrets (`vintner/tendril/NAME/…`):
/// their tokens and state backend keys, which only DEPLOY_WORKER references.
pub const WORKER_SECRETS_PREFIX: &str = "vintner/tendril/";
/// The name of the Tendril container in the task definition.
pub const CONTAINER_NAME: &str = "tendril";
/// The longest worker name: the IAM role names (`vintner-tendril-NAME-execution`) must stay
/// within IAM's 64 characters.
const MAX_NAME: usize = 32;

/// The names of a worker's resources. Deterministic, so that every job on the same worker (a
/// re-run, an update, a destroy) finds what an earlier one created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerNames {
    /// The worker's name (letters, digits, `-`, `_`; at most 32).
    pub name: String,
    /// `/vintner/tendril/NAME`.
    pub log_group: String,
    /// `vintner-tendril-NAME-execution`: pulls the image, writes logs, reads the token secret.
    pub execution_role: String,
    /// `vintner-tendril-NAME-task`: the worker's own AWS identity.
    pub task_role: String,
    /// `vintner-tendril-NAME`.
    pub security_group: String,
    /// `vintner-tendril-NAME`: the task definition family.
    pub family: String,
    /// `vintner-tendril-NAME`.
    pub service: String,
    /// `vintner/tendril/NAME/token`.
    pub secret: String,
    /// `vintner/tendril/NAME/state-key-id`: the Terraform state backend's access key id, when
    /// the deploying worker hands its state backend on.
    pub state_key_id_secret: String,
    /// `vintner/tendril/NAME/state-secret-key`: the state backend's secret access key.
    pub state_secret_key_secret: String,
}

impl WorkerNames {
    /// The names of worker `name`, or an [`AwsErrorKind::InvalidSettings`] error when the name
    /// cannot be part of AWS names.
    pub fn new(name: &str) -> Result<Self, AwsError> {
        let valid = !name.is_empty()
            && name.len() <= MAX_NAME
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && name.starts_with(|c: char| c.is_ascii_alphanumeric());
        if !valid {
            return Err(AwsError::invalid(
                AwsErrorKind::InvalidSettings,
                format!(
                    "the worker name {name:?} is not valid: use 1 to {MAX_NAME} letters, digits, \
                     `-` or `_`, starting with a letter or digit"
                ),
            ));
        }
        let base = format!("vintner-tendril-{name}");
        Ok(Self {
            name: name.to_owned(),
            log_group: format!("/vintner/tendril/{name}"),
            execution_role: format!("{base}-execution"),
            task_role: format!("{base}-task"),
            security_group: base.clone(),
            family: base.clone(),
            service: base,
            secret: format!("{WORKER_SECRETS_PREFIX}{name}/token"),
            state_key_id_secret: format!("{WORKER_SECRETS_PREFIX}{name}/state-key-id"),
            state_secret_key_secret: format!("{WORKER_SECRETS_PREFIX}{name}/state-secret-key"),
        })
    }

    /// Every Secrets Manager secret a worker may have: its token and the state backend keys.
    pub fn secrets(&self) -> [&str; 3] {
        [
            &self.secret,
            &self.state_key_id_secret,
            &self.state_secret_key_secret,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::WorkerNames;

    #[test]
    fn names_derive_from_the_worker_name() {
        let n = WorkerNames::new("eu-1").unwrap();
        assert_eq!(n.log_group, "/vintner/tendril/eu-1");
        assert_eq!(n.execution_role, "vintner-tendril-eu-1-execution");
        assert_eq!(n.task_role, "vintner-tendril-eu-1-task");
        assert_eq!(n.service, "vintner-tendril-eu-1");
        assert_eq!(n.secret, "vintner/tendril/eu-1/token");
        assert_eq!(n.state_key_id_secret, "vintner/tendril/eu-1/state-key-id");
        assert_eq!(
            n.state_secret_key_secret,
            "vintner/tendril/eu-1/state-secret-key"
        );
        let longest = WorkerNames::new(&"a".repeat(32)).unwrap();
        assert!(longest.execution_role.len() <= 64);
    }

    #[test]
    fn bad_names_are_rejected() {
        for bad in ["", "-x", "a b", "a/b", "é", &"a".repeat(33)] {
            let err = WorkerNames::new(bad).unwrap_err();
            assert!(err.to_string().contains("worker name"), "{err}");
        }
    }
}
