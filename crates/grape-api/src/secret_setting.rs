//! [`SecretSetting`]: how the programs (trellis, tendril) take a secret setting — from its
//! environment variable or from a file named by its `--…-file` flag, never from a value on the
//! command line (every user of the machine sees a process's arguments in `ps` and
//! `/proc/PID/cmdline`, and shells keep them in their history).

use crate::Secret;
use std::path::{Path, PathBuf};

/// One secret setting: its environment variable, its `--…-file PATH` flag, and the refused
/// flag that would carry the value itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretSetting {
    /// The environment variable, e.g. `GRAPE_WORKER_TOKEN`.
    pub var: &'static str,
    /// The flag naming a file that holds the value, e.g. `--worker-token-file`.
    pub file_flag: &'static str,
    /// The flag that would carry the value on the command line (refused), e.g. `--worker-token`.
    pub value_flag: &'static str,
}

/// A secret setting that cannot be used; its `Display` names the variable or flag and never
/// contains the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretSettingError {
    /// The value was given on the command line.
    #[error(
        "{value_flag} is refused: a secret on the command line is visible to every user of the \
         machine; set {var} or pass {file_flag} PATH"
    )]
    OnCommandLine {
        /// The refused flag.
        value_flag: &'static str,
        /// The environment variable to use instead.
        var: &'static str,
        /// The file flag to use instead.
        file_flag: &'static str,
    },
    /// Both the variable and the file flag are set.
    #[error("{var} and {file_flag} are both set: use one of them")]
    Ambiguous {
        /// The environment variable.
        var: &'static str,
        /// The file flag.
        file_flag: &'static str,
    },
    /// The file cannot be read.
    #[error("{file_flag} {}: cannot read the file: {reason}", path.display())]
    Unreadable {
        /// The file flag.
        file_flag: &'static str,
        /// The file.
        path: PathBuf,
        /// Why (the IO error).
        reason: String,
    },
    /// The file holds nothing but (at most) a newline.
    #[error("{file_flag} {}: the file is empty", path.display())]
    Empty {
        /// The file flag.
        file_flag: &'static str,
        /// The file.
        path: PathBuf,
    },
}

impl SecretSetting {
    /// A secret setting.
    pub const fn new(var: &'static str, file_flag: &'static str, value_flag: &'static str) -> Self {
        Self {
            var,
            file_flag,
            value_flag,
        }
    }

    /// The error of a value given with [`SecretSetting::value_flag`].
    pub fn refused(&self) -> SecretSettingError {
        SecretSettingError::OnCommandLine {
            value_flag: self.value_flag,
            var: self.var,
            file_flag: self.file_flag,
        }
    }

    /// The secret from `env_value` (the variable's value: surrounding whitespace is trimmed, an
    /// empty value counts as unset) or from `file` (its content less one trailing newline).
    /// `on_command_line`: the refused value flag was given. `None` when neither is set.
    pub fn resolve(
        &self,
        on_command_line: bool,
        env_value: Option<&str>,
        file: Option<&Path>,
    ) -> Result<Option<Secret>, SecretSettingError> {
        if on_command_line {
            return Err(self.refused());
        }
        let env_value = env_value.map(str::trim).filter(|v| !v.is_empty());
        match (env_value, file) {
            (Some(_), Some(_)) => Err(SecretSettingError::Ambiguous {
                var: self.var,
                file_flag: self.file_flag,
            }),
            (Some(v), None) => Ok(Some(Secret::new(v))),
            (None, Some(path)) => self.read_file(path).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// Like [`SecretSetting::resolve`], with the variable read from this process's environment.
    pub fn from_env(
        &self,
        on_command_line: bool,
        file: Option<&Path>,
    ) -> Result<Option<Secret>, SecretSettingError> {
        let value = std::env::var(self.var).ok();
        self.resolve(on_command_line, value.as_deref(), file)
    }

    fn read_file(&self, path: &Path) -> Result<Secret, SecretSettingError> {
        let text = std::fs::read_to_string(path).map_err(|e| SecretSettingError::Unreadable {
            file_flag: self.file_flag,
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let value = text
            .strip_suffix('\n')
            .map_or(text.as_str(), |t| t.strip_suffix('\r').unwrap_or(t));
        if value.is_empty() {
            return Err(SecretSettingError::Empty {
                file_flag: self.file_flag,
                path: path.to_owned(),
            });
        }
        Ok(Secret::new(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: SecretSetting = SecretSetting::new(
        "GRAPE_WORKER_TOKEN",
        "--worker-token-file",
        "--worker-token",
    );

    #[test]
    fn the_command_line_is_refused_naming_the_alternatives() {
        let err = TOKEN
            .resolve(true, Some("t"), None)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("--worker-token is refused"), "{err}");
        assert!(
            err.contains("GRAPE_WORKER_TOKEN") && err.contains("--worker-token-file PATH"),
            "{err}"
        );
    }

    #[test]
    fn variable_or_file_but_not_both() {
        assert_eq!(TOKEN.resolve(false, None, None).unwrap(), None);
        assert_eq!(TOKEN.resolve(false, Some("  "), None).unwrap(), None);
        let v = TOKEN
            .resolve(false, Some(" tok \n"), None)
            .unwrap()
            .unwrap();
        assert_eq!(v.expose(), "tok");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "file-token\n").unwrap();
        let err = TOKEN.resolve(false, Some("tok"), Some(&path)).unwrap_err();
        assert!(matches!(err, SecretSettingError::Ambiguous { .. }), "{err}");
        let v = TOKEN.resolve(false, None, Some(&path)).unwrap().unwrap();
        assert_eq!(v.expose(), "file-token");
    }

    #[test]
    fn the_file_loses_one_trailing_newline_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        for (content, want) in [("a\n\n", "a\n"), ("a\r\n", "a"), (" a ", " a "), ("a", "a")] {
            std::fs::write(&path, content).unwrap();
            let v = TOKEN.resolve(false, None, Some(&path)).unwrap().unwrap();
            assert_eq!(v.expose(), want, "{content:?}");
        }
        std::fs::write(&path, "\n").unwrap();
        let err = TOKEN
            .resolve(false, None, Some(&path))
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("the file is empty"), "{err}");
    }

    #[test]
    fn a_missing_file_is_an_error_naming_the_flag() {
        let err = TOKEN
            .resolve(false, None, Some(Path::new("/nonexistent/token")))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("--worker-token-file /nonexistent/token: cannot read the file: "),
            "{err}"
        );
    }
}
