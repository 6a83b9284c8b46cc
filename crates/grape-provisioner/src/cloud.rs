//! The spec's "assume cloud credentials" step: a job's cloud identity becomes credentials that
//! are refreshed during the job, registered with the redactor the moment they are minted, and
//! handed to children through the environment only.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use grape_api::{CloudProvider, Job};
use grape_cloud_aws::{AwsCredentials, CredentialRefresher, CredentialsHook};
use grape_process::Redactor;

use crate::{CloudEnv, JobError, JobLog, ProvisionerSettings};

/// Temporary AWS credentials of one job, renewed before they expire.
#[derive(Debug)]
pub struct AwsSession {
    refresher: CredentialRefresher,
}

impl AwsSession {
    /// How many times the credentials were renewed so far.
    pub fn refreshes(&self) -> u64 {
        self.refresher.refreshes()
    }
}

impl CloudEnv for AwsSession {
    fn env(&self) -> Vec<(String, String)> {
        self.refresher.current().env()
    }

    fn aws_credentials(&self) -> Option<Arc<AwsCredentials>> {
        Some(self.refresher.current())
    }
}

/// Assumes the cloud identity of `job`, if it has one. Every set of credentials minted (now and
/// at each refresh) is added to `redactor` before anything can print it; each refresh is noted
/// in the job's `log` (with the new expiry, never a secret).
///
/// A job without an identity gets `Ok(None)`. A failure is a [`JobError::Failed`] with the
/// classified reason (what to fix), and no tool has run yet.
pub async fn open_session(
    job: &Job,
    settings: &ProvisionerSettings,
    redactor: &Redactor,
    log: &JobLog,
) -> Result<Option<Arc<AwsSession>>, JobError> {
    let Some(identity) = &job.identity else {
        if let Some(id) = job.cloud_identity_id {
            return Err(JobError::Failed(format!(
                "the job names cloud identity {id}, but Trellis sent none of its settings"
            )));
        }
        return Ok(None);
    };
    match &identity.provider {
        CloudProvider::Aws => {}
        other => {
            return Err(JobError::Failed(format!(
                "cloud identity {} is a {other} identity; this worker can assume AWS identities only",
                identity.id
            )));
        }
    }
    let aws = grape_cloud_aws::parse_identity(&identity.settings).map_err(aws_failure)?;
    let hook_redactor = redactor.clone();
    let hook_log = log.clone();
    let first = AtomicBool::new(true);
    let hook: CredentialsHook = Arc::new(move |creds: &AwsCredentials| {
        for secret in creds.secrets() {
            hook_redactor.add(secret);
        }
        if !first.swap(false, Ordering::Relaxed) {
            let until = creds.expiration.map_or_else(
                || "without expiry".to_owned(),
                |t| format!("valid until {}", t.format("%Y-%m-%dT%H:%M:%SZ")),
            );
            hook_log.system(format!(
                "renewed the cloud identity's credentials ({until})"
            ));
        }
    });
    let refresher =
        CredentialRefresher::start(aws, settings.aws_base.clone(), settings.aws_refresh, hook)
            .await
            .map_err(aws_failure)?;
    Ok(Some(Arc::new(AwsSession { refresher })))
}

/// An AWS error as a job failure: its message already says what to fix.
#[allow(clippy::needless_pass_by_value)] // used as `map_err(aws_failure)`
pub(crate) fn aws_failure(e: grape_cloud_aws::AwsError) -> JobError {
    JobError::Failed(format!("AWS: {e}"))
}
