//! Job secrets: the `secrets` map of `POST /api/jobs` — names to values, stored by Trellis apart
//! from the payload, handed only to the worker holding the job (in the claim answer) and copied
//! on retry. Job documents carry their names ([`crate::Job::secret_names`]), never their values.
//!
//! The bounds below are checked by Trellis (422 naming the field) and by the CLI before it
//! sends anything.

use crate::secret::Secret;
use std::collections::BTreeMap;

/// The secrets of one job: name → value.
pub type JobSecrets = BTreeMap<String, Secret>;

/// Most secrets one job may carry.
pub const MAX_SECRETS: usize = 64;
/// Longest secret name, in bytes.
pub const MAX_SECRET_NAME_BYTES: usize = 128;
/// Shortest secret value, in bytes: a shorter value cannot be masked in log lines (the redactor
/// of grape-process ignores values under 6 bytes, as they would match everywhere).
pub const MIN_SECRET_BYTES: usize = 6;
/// Largest secret value, in bytes.
pub const MAX_SECRET_BYTES: usize = 32 * 1024;
/// Largest sum of the values of one job, in bytes.
pub const MAX_SECRETS_TOTAL_BYTES: usize = 256 * 1024;

/// Why a `secrets` map is refused. The messages name the field (`secrets.NAME`) and never quote
/// a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretsError {
    /// More than [`MAX_SECRETS`] entries.
    #[error("secrets: {count} secrets, at most {MAX_SECRETS} per job")]
    TooMany {
        /// How many were given.
        count: usize,
    },
    /// A name that is not `[A-Za-z_][A-Za-z0-9_]{0,127}`.
    #[error(
        "secrets.{shown}: a secret name must match [A-Za-z_][A-Za-z0-9_]{{0,127}} (it becomes an \
         environment variable, e.g. TF_VAR_<name>)"
    )]
    InvalidName {
        /// The name, cut to 64 characters and escaped.
        shown: String,
    },
    /// A value shorter than [`MIN_SECRET_BYTES`].
    #[error(
        "secrets.{name}: the value is {len} bytes; a secret must be at least {MIN_SECRET_BYTES} \
         bytes (a shorter value cannot be masked in logs)"
    )]
    TooShort {
        /// The secret's name.
        name: String,
        /// Its length.
        len: usize,
    },
    /// A value longer than [`MAX_SECRET_BYTES`].
    #[error("secrets.{name}: the value is {len} bytes, at most {MAX_SECRET_BYTES}")]
    TooLarge {
        /// The secret's name.
        name: String,
        /// Its length.
        len: usize,
    },
    /// A value holding a NUL byte (no environment variable can carry one).
    #[error("secrets.{name}: the value holds a NUL byte, which no environment variable can carry")]
    Nul {
        /// The secret's name.
        name: String,
    },
    /// The values add up to more than [`MAX_SECRETS_TOTAL_BYTES`].
    #[error("secrets: the values add up to {total} bytes, at most {MAX_SECRETS_TOTAL_BYTES}")]
    TotalTooLarge {
        /// Their sum.
        total: usize,
    },
}

/// Whether `name` matches `[A-Za-z_][A-Za-z0-9_]{0,127}`.
pub fn valid_secret_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let Some(first) = bytes.first() else {
        return false;
    };
    bytes.len() <= MAX_SECRET_NAME_BYTES
        && (first.is_ascii_alphabetic() || *first == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// Checks names, sizes and count of a `secrets` map.
pub fn validate_secrets(secrets: &JobSecrets) -> Result<(), SecretsError> {
    if secrets.len() > MAX_SECRETS {
        return Err(SecretsError::TooMany {
            count: secrets.len(),
        });
    }
    let mut total = 0usize;
    for (name, value) in secrets {
        if !valid_secret_name(name) {
            let cut: String = name.chars().take(64).collect();
            return Err(SecretsError::InvalidName {
                shown: format!("{cut:?}"),
            });
        }
        let len = value.expose().len();
        let name = name.clone();
        if len < MIN_SECRET_BYTES {
            return Err(SecretsError::TooShort { name, len });
        }
        if len > MAX_SECRET_BYTES {
            return Err(SecretsError::TooLarge { name, len });
        }
        if value.expose().contains('\0') {
            return Err(SecretsError::Nul { name });
        }
        total += len;
    }
    if total > MAX_SECRETS_TOTAL_BYTES {
        return Err(SecretsError::TotalTooLarge { total });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(name: &str, value: &str) -> JobSecrets {
        BTreeMap::from([(name.to_owned(), Secret::new(value))])
    }

    #[test]
    fn names_and_bounds() {
        assert!(valid_secret_name("db_password"));
        assert!(valid_secret_name("_X9"));
        assert!(valid_secret_name(&"a".repeat(128)));
        for bad in ["", "9lives", "db-pass", "a b", "é", &"a".repeat(129)] {
            assert!(!valid_secret_name(bad), "{bad}");
        }
        assert_eq!(validate_secrets(&one("ok_name", "hunter22")), Ok(()));
        let err = validate_secrets(&one("db-pass", "hunter22")).unwrap_err();
        assert!(err.to_string().starts_with("secrets.\"db-pass\":"), "{err}");
        let err = validate_secrets(&one("pw", "abc")).unwrap_err();
        assert_eq!(
            err,
            SecretsError::TooShort {
                name: "pw".into(),
                len: 3
            }
        );
        let big = "x".repeat(MAX_SECRET_BYTES + 1);
        assert!(matches!(
            validate_secrets(&one("pw", &big)),
            Err(SecretsError::TooLarge { .. })
        ));
        assert!(matches!(
            validate_secrets(&one("pw", "abc\0defg")),
            Err(SecretsError::Nul { .. })
        ));
        let many: JobSecrets = (0..=MAX_SECRETS)
            .map(|i| (format!("s{i}"), Secret::new("secret-value")))
            .collect();
        assert_eq!(
            validate_secrets(&many),
            Err(SecretsError::TooMany {
                count: MAX_SECRETS + 1
            })
        );
        let heavy: JobSecrets = (0..9)
            .map(|i| (format!("s{i}"), Secret::new("y".repeat(MAX_SECRET_BYTES))))
            .collect();
        assert!(matches!(
            validate_secrets(&heavy),
            Err(SecretsError::TotalTooLarge { .. })
        ));
        // No message quotes a value.
        let err = validate_secrets(&one("pw", "abc\0hunter2")).unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }
}
