//! [`WorkerJobPolicy`]: what the worker jobs may deploy, from the worker's configuration (never
//! from a payload): the images (an allow-list of registry/repository prefixes), the Secrets
//! Manager prefix every `secret_refs` ARN must be under, and the roles a deployed worker's task
//! role may assume.
//!
//! The rules, checked by DEPLOY_WORKER and UPDATE_WORKER before any AWS call:
//! - an image names a tag or a digest, and its repository lies below an allow-list entry on a
//!   whole path segment: `ghcr.io/vintner/` admits `ghcr.io/vintner/tendril:1`, never
//!   `ghcr.io/vintner-evil/tendril:1` nor `ghcr.io/vintner:1`; an entry without the trailing `/`
//!   (`ghcr.io/vintner/tendril`) admits that repository too; an image without a registry is Docker Hub's
//!   (`tendril:1` is `docker.io/library/tendril:1`), as `docker pull` and ECS read it;
//! - an empty allow-list admits no image: no allow-list, no deploys;
//! - without a secret prefix no `secret_refs` are accepted; a prefix names a folder of secrets
//!   (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:vintner/`) and never the deployed workers'
//!   own secrets (`vintner/tendril/…`).

use grape_api::JobType;
use grape_fleet_aws::WORKER_SECRETS_PREFIX;

use crate::JobError;

/// The worker variable of the image allow-list (comma-separated registry/repository prefixes).
pub const IMAGE_ALLOW_VAR: &str = "TENDRIL_WORKER_IMAGE_ALLOW";
/// The worker variable of the Secrets Manager ARN prefix of `secret_refs`.
pub const SECRET_PREFIX_VAR: &str = "TENDRIL_WORKER_SECRET_PREFIX";
/// The worker variable of the role ARN patterns a deployed worker may assume.
pub const ASSUMABLE_ROLES_VAR: &str = "TENDRIL_WORKER_ASSUMABLE_ROLES";
/// The default of [`ASSUMABLE_ROLES_VAR`]: roles named `vintner-*` in any account.
pub const DEFAULT_ASSUMABLE_ROLES: &str = "arn:aws:iam::*:role/vintner-*";

/// A malformed setting of the policy; the message names the entry and says why (never a secret:
/// these settings hold none).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(String);

/// What the worker jobs of this host may deploy. The default admits no image and no secret
/// reference, and lets deployed workers assume [`DEFAULT_ASSUMABLE_ROLES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerJobPolicy {
    images: Vec<String>,
    secret_prefix: Option<String>,
    assumable_roles: Vec<String>,
}

impl Default for WorkerJobPolicy {
    fn default() -> Self {
        Self {
            images: Vec::new(),
            secret_prefix: None,
            assumable_roles: vec![DEFAULT_ASSUMABLE_ROLES.to_owned()],
        }
    }
}

/// The comma-separated, trimmed, non-empty entries of `text`.
fn entries(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|e| !e.is_empty())
}

impl WorkerJobPolicy {
    /// With the image allow-list `text`: comma-separated registry/repository prefixes, each
    /// naming its registry (`ghcr.io/vintner/`, `123456789012.dkr.ecr.eu-west-1.amazonaws.com/tendril`).
    pub fn allow_images(mut self, text: &str) -> Result<Self, PolicyError> {
        self.images = entries(text).map(allow_entry).collect::<Result<_, _>>()?;
        Ok(self)
    }

    /// With the Secrets Manager prefix `text` of `secret_refs`, e.g.
    /// `arn:aws:secretsmanager:eu-west-1:123456789012:secret:vintner/` (it must end with `/`).
    pub fn secret_prefix(mut self, text: &str) -> Result<Self, PolicyError> {
        self.secret_prefix = Some(secret_prefix(text.trim())?);
        Ok(self)
    }

    /// With the role ARN patterns `text` (comma-separated, at least one) a deployed worker may
    /// assume, e.g. `arn:aws:iam::*:role/vintner-*`.
    pub fn assumable_roles(mut self, text: &str) -> Result<Self, PolicyError> {
        let roles: Vec<String> = entries(text).map(role_pattern).collect::<Result<_, _>>()?;
        if roles.is_empty() {
            return Err(PolicyError(
                "give at least one role ARN pattern, e.g. arn:aws:iam::*:role/vintner-*".into(),
            ));
        }
        self.assumable_roles = roles;
        Ok(self)
    }

    /// The role ARN patterns of the deployed workers' `sts:AssumeRole` (never empty).
    pub fn roles(&self) -> &[String] {
        &self.assumable_roles
    }

    /// Whether `job_type` may deploy `image`: a FAILED reason naming [`IMAGE_ALLOW_VAR`] when not.
    pub fn check_image(&self, job_type: &JobType, image: &str) -> Result<(), JobError> {
        let repository = image_repository(image).map_err(|reason| JobError::InvalidPayload {
            job_type: job_type.to_string(),
            reason: format!("`image` {image:?} {reason}"),
        })?;
        if self.images.is_empty() {
            return Err(JobError::Failed(format!(
                "{job_type} refused: {IMAGE_ALLOW_VAR} is not set on this worker, so it deploys \
                 no image (set it to the registry/repository prefixes it may deploy, e.g. \
                 ghcr.io/vintner/)"
            )));
        }
        let allowed = self
            .images
            .iter()
            .any(|entry| match entry.strip_suffix('/') {
                Some(_) => repository.starts_with(entry.as_str()),
                None => {
                    repository == *entry
                        || repository
                            .strip_prefix(entry.as_str())
                            .is_some_and(|rest| rest.starts_with('/'))
                }
            });
        if allowed {
            return Ok(());
        }
        Err(JobError::Failed(format!(
            "{job_type} refused: the image {image} ({repository}) is not under any prefix of \
             {IMAGE_ALLOW_VAR} ({})",
            self.images.join(", ")
        )))
    }

    /// Whether `secret_refs.{name}` may reference `arn`: a FAILED reason naming the field and
    /// [`SECRET_PREFIX_VAR`] when not.
    pub fn check_secret_ref(
        &self,
        job_type: &JobType,
        name: &str,
        arn: &str,
    ) -> Result<(), JobError> {
        let field = format!("`secret_refs.{name}`");
        let Some(prefix) = &self.secret_prefix else {
            return Err(JobError::Failed(format!(
                "{job_type} refused: {field} cannot be used: {SECRET_PREFIX_VAR} is not set on \
                 this worker, so it accepts no secret references"
            )));
        };
        let clean = !arn.contains(['*', '?']) && !arn.chars().any(char::is_whitespace);
        let Some(secret) = arn.strip_prefix(prefix.as_str()).filter(|_| clean) else {
            return Err(JobError::Failed(format!(
                "{job_type} refused: {field} ({arn}) is not a secret under {prefix} \
                 ({SECRET_PREFIX_VAR})"
            )));
        };
        if secret.is_empty() {
            return Err(JobError::Failed(format!(
                "{job_type} refused: {field} ({arn}) names no secret below {prefix}"
            )));
        }
        let secret_name = arn.split_once(":secret:").map_or("", |(_, n)| n);
        if secret_name.starts_with(WORKER_SECRETS_PREFIX) {
            return Err(JobError::Failed(format!(
                "{job_type} refused: {field} ({arn}) is a deployed worker's own secret \
                 ({WORKER_SECRETS_PREFIX}…), which only DEPLOY_WORKER itself references"
            )));
        }
        Ok(())
    }
}

fn is_registry(segment: &str) -> bool {
    segment.contains(['.', ':']) || segment == "localhost"
}

/// Checks the `/`-separated segments of a repository name (with or without a registry).
fn check_segments(name: &str) -> Result<(), String> {
    let mut segments = name.split('/');
    let first = segments.next().unwrap_or_default();
    let host_ok = !first.is_empty()
        && first
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-:_".contains(c));
    if !host_ok {
        return Err(format!("has a malformed first segment {first:?}"));
    }
    for segment in segments {
        let ok = !segment.is_empty()
            && segment
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            && segment.starts_with(|c: char| c.is_ascii_alphanumeric())
            && segment.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !ok {
            return Err(format!(
                "has a malformed path segment {segment:?} (lower-case letters, digits, `.`, `_`, \
                 `-`)"
            ));
        }
    }
    Ok(())
}

/// The registry/repository of an image reference, normalised as Docker does; an error when the
/// reference is malformed or names neither a tag nor a digest.
fn image_repository(image: &str) -> Result<String, String> {
    if image.is_empty() || image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("is not an image reference".into());
    }
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    if let Some(digest) = digest {
        let valid = digest.strip_prefix("sha256:").is_some_and(|hex| {
            hex.len() == 64
                && hex
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        });
        if !valid {
            return Err("has a malformed digest (expected @sha256: and 64 hex digits)".into());
        }
    }
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repository, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    if let Some(tag) = tag {
        let valid = !tag.is_empty()
            && tag.len() <= 128
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!("has a malformed tag {tag:?}"));
        }
    } else if digest.is_none() {
        return Err("names neither a tag nor a digest (e.g. `:1.4.2` or `@sha256:…`)".into());
    }
    check_segments(repository)?;
    Ok(match repository.split_once('/') {
        Some((first, _)) if is_registry(first) => repository.to_owned(),
        Some(_) => format!("docker.io/{repository}"),
        None => format!("docker.io/library/{repository}"),
    })
}

/// One entry of the image allow-list: with a trailing `/` (the repositories below it), or
/// without (that repository and those below it).
fn allow_entry(entry: &str) -> Result<String, PolicyError> {
    let trimmed = entry.trim_end_matches('/');
    let fail = |why: &str| PolicyError(format!("the entry {entry:?} {why}"));
    if trimmed.contains(['*', '?', '@']) {
        return Err(fail(
            "is not a registry/repository prefix (no wildcard, tag or digest)",
        ));
    }
    let first = trimmed.split('/').next().unwrap_or_default();
    if !is_registry(first) {
        return Err(fail(
            "does not start with a registry (e.g. ghcr.io/vintner/, docker.io/vintner/)",
        ));
    }
    if trimmed.split('/').skip(1).any(|s| s.contains(':')) {
        return Err(fail("names a tag: give a registry/repository prefix"));
    }
    check_segments(trimmed).map_err(|why| fail(&why))?;
    let slash = if entry.ends_with('/') { "/" } else { "" };
    Ok(format!("{trimmed}{slash}"))
}

/// An ARN `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` split into its six fields.
fn arn_fields(arn: &str) -> Option<[&str; 6]> {
    let mut it = arn.splitn(6, ':');
    let fields = [
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    ];
    (fields[0] == "arn" && fields[1].starts_with("aws")).then_some(fields)
}

fn secret_prefix(text: &str) -> Result<String, PolicyError> {
    let fail = |why: &str| PolicyError(format!("{text:?} {why}"));
    let [_, _, service, region, account, resource] = arn_fields(text).ok_or_else(|| {
        fail("is not an ARN prefix like arn:aws:secretsmanager:eu-west-1:123456789012:secret:vintner/")
    })?;
    if service != "secretsmanager" || !resource.starts_with("secret:") {
        return Err(fail(
            "is not a Secrets Manager secret ARN prefix (…:secretsmanager:…:secret:NAME/)",
        ));
    }
    let region_ok = !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !region_ok || account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return Err(fail("must name its region and 12-digit account"));
    }
    if text.contains(['*', '?']) || text.chars().any(char::is_whitespace) {
        return Err(fail("must not contain wildcards or spaces"));
    }
    if !resource.ends_with('/') || resource == "secret:" {
        return Err(fail(
            "must name a folder of secrets ending with `/`, e.g. …:secret:vintner/",
        ));
    }
    Ok(text.to_owned())
}

fn role_pattern(text: &str) -> Result<String, PolicyError> {
    let fail = |why: &str| PolicyError(format!("the role pattern {text:?} {why}"));
    let [_, _, service, region, account, resource] = arn_fields(text)
        .ok_or_else(|| fail("is not a role ARN pattern like arn:aws:iam::*:role/vintner-*"))?;
    if service != "iam" || !region.is_empty() || !resource.starts_with("role/") {
        return Err(fail(
            "is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)",
        ));
    }
    let account_ok =
        account == "*" || (account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()));
    if !account_ok {
        return Err(fail("must name a 12-digit account or `*`"));
    }
    let name = &resource["role/".len()..];
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/*?".contains(c));
    if !name_ok {
        return Err(fail("has a malformed role name"));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
#[path = "worker_policy_tests.rs"]
mod tests;
