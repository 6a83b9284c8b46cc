//! `--secret` of `grape jobs submit`, `grape plan` and `grape destroy`: job secrets read from a
//! file, standard input or the environment — never from the command line, where `ps` and the
//! shell history would show them.

use grape_api::{JobSecrets, Secret, validate_secrets};

use super::read_stdin;
use crate::error::{CliError, CliResult};

/// What `--secret` accepts, for the hints.
const FORMS: &str = "--secret NAME=@FILE (the file's content), --secret NAME=@- (standard input) \
    or --secret NAME (the environment variable NAME)";

/// Reads the `--secret` arguments: `NAME=@FILE` (the file's content less one trailing newline),
/// `NAME=@-` (standard input, once) or `NAME` (the environment variable `NAME`). A literal value
/// (`NAME=VALUE`) is refused.
pub fn read_secrets(args: &[String]) -> CliResult<JobSecrets> {
    let mut secrets = JobSecrets::new();
    let mut stdin_used = false;
    for arg in args {
        let (name, value) = match arg.split_once('=') {
            None => (arg.as_str(), from_env(arg)?),
            Some((name, "@-")) => {
                if stdin_used {
                    return Err(
                        CliError::usage("only one --secret can read standard input.")
                            .hint("put the other secrets in files: --secret NAME=@FILE"),
                    );
                }
                stdin_used = true;
                (
                    name,
                    strip_newline(read_stdin(&format!("the secret {name}"))?),
                )
            }
            Some((name, source)) => match source.strip_prefix('@') {
                Some(path) => (name, from_file(name, path)?),
                None => {
                    return Err(CliError::usage(format!(
                        "--secret {name}=… gives the value on the command line, where `ps` and \
                         your shell history show it."
                    ))
                    .hint(FORMS));
                }
            },
        };
        if secrets.insert(name.to_owned(), value).is_some() {
            return Err(CliError::usage(format!("the secret {name} is given twice.")).hint(FORMS));
        }
    }
    validate_secrets(&secrets).map_err(|e| CliError::usage(format!("{e}.")).hint(FORMS))?;
    Ok(secrets)
}

fn from_env(name: &str) -> CliResult<Secret> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Ok(Secret::new(v)),
        _ => {
            Err(CliError::usage(format!("the environment variable {name} is not set.")).hint(FORMS))
        }
    }
}

fn from_file(name: &str, path: &str) -> CliResult<Secret> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::usage(format!("cannot read the secret {name} from {path}: {e}.")).hint(FORMS)
    })?;
    Ok(strip_newline(text))
}

/// The text less one trailing newline (`\n` or `\r\n`), as files and pipes usually end.
fn strip_newline(mut text: String) -> Secret {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Secret::new(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_the_environment_but_never_the_command_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret-value\n").expect("write");
        let got = read_secrets(&[format!("db_password=@{}", file.display())]).expect("read");
        assert_eq!(got["db_password"].expose(), "s3cret-value");
        let err = read_secrets(&["db_password=hunter22".to_owned()]).unwrap_err();
        assert!(!format!("{err:?}").contains("hunter22"), "{err:?}");
        assert!(read_secrets(&["GRAPE_TEST_UNSET_SECRET_VAR".to_owned()]).is_err());
        let twice = format!("a=@{}", file.display());
        assert!(read_secrets(&[twice.clone(), twice]).is_err());
        let bad = format!("db-password=@{}", file.display());
        assert!(read_secrets(&[bad]).is_err());
    }
}
