//! One API server per test binary, also under nextest (one process per test).
//!
//! Under nextest (`NEXTEST_RUN_ID` set) the server's state lives in
//! `$TMPDIR/vintner-kube/<run id>-<hash of the test binary>`: the first test process of the binary
//! starts it under an exclusive file lock, the others find its `ready` file and reuse it; its
//! watchdog stops it when nextest (the parent of every test process) exits. Without nextest all
//! tests of a binary share one process, and the server stops when that process exits.

use std::fs;
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};

use crate::TestkitError;
use crate::kube::{KubeApi, KubeApiBuilder, fnv1a, is_ready, start_in};

/// Starts or finds this test binary's server.
pub(crate) fn start() -> Result<KubeApi, TestkitError> {
    let base = std::env::temp_dir().join("vintner-kube");
    fs::create_dir_all(&base)
        .map_err(|e| TestkitError::io(format!("cannot create {}", base.display()), e))?;
    let Ok(run_id) = std::env::var("NEXTEST_RUN_ID") else {
        let run = base.join(format!("pid-{}", std::process::id()));
        return start_in(&run, &KubeApiBuilder::default(), std::process::id());
    };
    let exe = std::env::current_exe().unwrap_or_default();
    let key = format!("{run_id}-{:016x}", fnv1a(exe.as_os_str().as_bytes()));
    let lock_path = base.join(format!("{key}.lock"));
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| TestkitError::io(format!("cannot open {}", lock_path.display()), e))?;
    let _guard = Flock::lock(lock, FlockArg::LockExclusive)
        .map_err(|(_, e)| TestkitError::io("cannot lock the shared API server", e.into()))?;
    let run = base.join(&key);
    if let Some(api) = found(&run)? {
        return Ok(api);
    }
    let parent = nix::unistd::getppid().as_raw().unsigned_abs();
    let api = start_in(&run, &KubeApiBuilder::default(), parent)?;
    let ready = run.join("ready");
    let mut file = fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&ready)
        .map_err(|e| TestkitError::io(format!("cannot write {}", ready.display()), e))?;
    let port = api.url().rsplit(':').next().unwrap_or_default().to_owned();
    writeln!(file, "{port} {}", api.token())
        .map_err(|e| TestkitError::io(format!("cannot write {}", ready.display()), e))?;
    Ok(api)
}

/// The server another test process of this binary started, if it still answers.
fn found(run: &Path) -> Result<Option<KubeApi>, TestkitError> {
    let Ok(text) = fs::read_to_string(run.join("ready")) else {
        return Ok(None);
    };
    let mut parts = text.split_whitespace();
    let (Some(port), Some(token)) = (parts.next(), parts.next()) else {
        return Ok(None);
    };
    let Ok(port) = port.parse() else {
        return Ok(None);
    };
    let api = KubeApi::from_run(run, port, token.to_owned())?;
    Ok(is_ready(&api).then_some(api))
}
