//! The [`Command`] builder.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::Redactor;

/// Default time between SIGINT and SIGKILL on cancel or timeout.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);

/// Default time the pipes are still read after the main child exited (grandchildren may hold
/// them open); then the process group is killed and reading stops.
pub const DEFAULT_PIPE_DRAIN: Duration = Duration::from_secs(2);

/// Default bound of the stdout [`Command::output`] captures (e.g. `terraform show -json` of a
/// big plan): 256 MiB. Past it the process group is killed and the run fails with
/// [`crate::ProcessError::OutputTooLarge`].
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 256 * 1024 * 1024;

/// A child process to run: program, arguments, working directory and an explicit environment.
///
/// The child starts from an EMPTY environment: it gets only what [`Command::env`],
/// [`Command::envs`] and [`Command::inherit_env`] gave it. Values of variables whose name looks
/// secret ([`crate::is_secret_env_name`]) are registered with the redactor when the command runs.
///
/// Program lookup: a program containing `/` is used as is (relative to `cwd` if relative). A bare
/// name is searched in the `PATH` of the child's environment, or — when the child has no `PATH` —
/// in this process's `PATH`; relative `PATH` entries are relative to `cwd`. Not found →
/// [`crate::ProcessError::NotFound`].
#[derive(Clone)]
pub struct Command {
    pub(crate) program: OsString,
    pub(crate) args: Vec<OsString>,
    pub(crate) cwd: PathBuf,
    pub(crate) env: BTreeMap<OsString, OsString>,
    pub(crate) stdin: Option<Vec<u8>>,
    pub(crate) grace: Duration,
    pub(crate) timeout: Option<Duration>,
    pub(crate) pipe_drain: Duration,
    pub(crate) max_output: usize,
    pub(crate) redactor: Redactor,
}

impl fmt::Debug for Command {
    /// Prints the environment's names only: values may be secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("command", &self.display())
            .field("cwd", &self.cwd)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("stdin_bytes", &self.stdin.as_ref().map(Vec::len))
            .field("grace", &self.grace)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Command {
    /// A command running `program` in `cwd` (required), with an empty environment, stdin from
    /// `/dev/null`, a 30 s grace and no timeout.
    pub fn new(program: impl Into<OsString>, cwd: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            cwd: cwd.into(),
            env: BTreeMap::new(),
            stdin: None,
            grace: DEFAULT_GRACE,
            timeout: None,
            pipe_drain: DEFAULT_PIPE_DRAIN,
            max_output: DEFAULT_MAX_OUTPUT_BYTES,
            redactor: Redactor::new(),
        }
    }

    /// Adds one argument. Arguments must never carry secrets (pass them by environment); they are
    /// still redacted in [`Command::display`].
    #[must_use]
    pub fn arg(mut self, a: impl Into<OsString>) -> Self {
        self.args.push(a.into());
        self
    }

    /// Adds arguments.
    #[must_use]
    pub fn args<I, S>(mut self, it: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(it.into_iter().map(Into::into));
        self
    }

    /// Sets one environment variable of the child.
    #[must_use]
    pub fn env(mut self, k: impl Into<OsString>, v: impl Into<OsString>) -> Self {
        self.env.insert(k.into(), v.into());
        self
    }

    /// Sets environment variables of the child.
    #[must_use]
    pub fn envs<I, K, V>(mut self, it: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<OsString>,
        V: Into<OsString>,
    {
        self.env
            .extend(it.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Copies the named variables (e.g. `PATH`, `HOME`, `LANG`, `TMPDIR`) from this process's
    /// environment, those that are set, at the time of the call.
    #[must_use]
    pub fn inherit_env(mut self, names: &[&str]) -> Self {
        for name in names {
            if let Some(v) = std::env::var_os(name) {
                self.env.insert(OsString::from(name), v);
            }
        }
        self
    }

    /// Bytes written to the child's stdin, which is then closed (default: `/dev/null`).
    #[must_use]
    pub fn stdin_bytes(mut self, bytes: Vec<u8>) -> Self {
        self.stdin = Some(bytes);
        self
    }

    /// On cancel or timeout: time between SIGINT and SIGKILL of the process group (default 30 s).
    #[must_use]
    pub fn grace(mut self, d: Duration) -> Self {
        self.grace = d;
        self
    }

    /// Wall-clock limit from spawn; when hit the run behaves as cancelled and reports
    /// `timed_out`. `None` (default): no limit.
    #[must_use]
    pub fn timeout(mut self, d: Option<Duration>) -> Self {
        self.timeout = d;
        self
    }

    /// After the main child exited, how long its pipes are still read (default 2 s) before the
    /// process group is killed and reading stops.
    #[must_use]
    pub fn pipe_drain(mut self, d: Duration) -> Self {
        self.pipe_drain = d;
        self
    }

    /// The most stdout [`Command::output`] captures (default [`DEFAULT_MAX_OUTPUT_BYTES`]).
    #[must_use]
    pub fn max_output(mut self, bytes: usize) -> Self {
        self.max_output = bytes;
        self
    }

    /// The redactor applied to every line, to captured stdout and to [`Command::display`].
    #[must_use]
    pub fn redactor(mut self, r: Redactor) -> Self {
        self.redactor = r;
        self
    }

    /// Program and arguments, shell-quoted where needed and redacted, for logs and errors.
    pub fn display(&self) -> String {
        let mut out = quote(&self.program);
        for a in &self.args {
            out.push(' ');
            out.push_str(&quote(a));
        }
        self.redactor.redact(&out).into_owned()
    }

    /// The program as given, for error messages.
    pub(crate) fn program_name(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }

    /// Resolves the program to a path (see the type docs), or `None` when not found.
    pub(crate) fn resolve_program(&self) -> Option<PathBuf> {
        let program = Path::new(&self.program);
        if self.program.as_encoded_bytes().contains(&b'/') {
            let path = self.cwd.join(program);
            return path.exists().then_some(path);
        }
        if self.program.is_empty() {
            return None;
        }
        let parent_path;
        let search: &OsStr = if let Some(p) = self.env.get(OsStr::new("PATH")) {
            p
        } else {
            parent_path = std::env::var_os("PATH").unwrap_or_default();
            &parent_path
        };
        std::env::split_paths(search)
            .map(|dir| self.cwd.join(dir).join(program))
            .find(|candidate| is_executable(candidate))
    }
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn quote(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_and_redacts() {
        let r = Redactor::new();
        r.add("supersecret");
        let c = Command::new("echo", "/")
            .args(["a b", "it's", "x=supersecret", ""])
            .redactor(r);
        assert_eq!(c.display(), r"echo 'a b' 'it'\''s' x=[REDACTED] ''");
    }

    #[test]
    fn debug_hides_env_values() {
        let c = Command::new("true", "/").env("API_TOKEN", "value-of-the-token");
        let dbg = format!("{c:?}");
        assert!(dbg.contains("API_TOKEN"));
        assert!(!dbg.contains("value-of-the-token"));
    }
}
