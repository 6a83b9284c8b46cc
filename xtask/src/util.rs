//! Shared helpers: where the workspace is, where the peers live, and running commands.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The workspace the xtask binary was built from, and the paths derived from it.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The directory holding the root `Cargo.toml`.
    pub root: PathBuf,
    /// `<root>/.peers`: git-ignored, holds every installed test peer.
    pub peers: PathBuf,
}

impl Workspace {
    /// The workspace root is the parent of this crate's manifest directory: as `cargo run`
    /// gives it at run time (the checkout being worked on), else as it was at build time. A
    /// target directory shared by several checkouts reuses one xtask binary for all of them,
    /// so the build-time path may name another checkout.
    pub fn locate() -> Result<Self> {
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
            .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
        let root = manifest_dir
            .parent()
            .context("xtask's manifest directory has no parent")?
            .to_path_buf();
        if !root.join("Cargo.toml").is_file() {
            bail!(
                "no Cargo.toml in {} (is xtask inside the workspace?)",
                root.display()
            );
        }
        let peers = root.join(".peers");
        Ok(Self { root, peers })
    }

    /// `.peers/bin`: the executables tests call (terraform, moto_server, helm, kubectl).
    pub fn peers_bin(&self) -> PathBuf {
        self.peers.join("bin")
    }

    /// `.peers/terraformrc`: an empty Terraform CLI configuration file.
    pub fn terraformrc(&self) -> PathBuf {
        self.peers.join("terraformrc")
    }

    /// `.peers/cargo`: the `--root` of cargo tools installed for CI (cargo-deny).
    pub fn peers_cargo_root(&self) -> PathBuf {
        self.peers.join("cargo")
    }

    /// The environment every test run gets: peers first on PATH, Terraform kept offline and quiet.
    pub fn test_env(&self) -> Result<Vec<(OsString, OsString)>> {
        let mut path = vec![self.peers_bin(), self.peers_cargo_root().join("bin")];
        if let Some(existing) = std::env::var_os("PATH") {
            path.extend(std::env::split_paths(&existing));
        }
        let path = std::env::join_paths(path).context("PATH holds a non-joinable entry")?;
        Ok(vec![
            ("PATH".into(), path),
            ("VINTNER_PEERS_DIR".into(), self.peers.clone().into()),
            ("TF_CLI_CONFIG_FILE".into(), self.terraformrc().into()),
            ("CHECKPOINT_DISABLE".into(), "1".into()),
            ("TF_IN_AUTOMATION".into(), "1".into()),
        ])
    }
}

/// Whether we run under CI (`CI=true` or `CI=1`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// A new command. xtask is developer tooling, not product code: the rule that only
/// grape-process spawns children (clippy.toml) guards the product, so xtask may use std here.
#[allow(clippy::disallowed_methods)]
pub fn command(program: impl AsRef<OsStr>) -> Command {
    Command::new(program)
}

/// A printable form of a command line, for messages.
pub fn describe(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// Runs a command with inherited stdio; fails when it cannot start or exits non-zero.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{}`", describe(cmd)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", describe(cmd));
    }
    Ok(())
}

/// Runs a command and returns its stdout; on failure the error carries its stderr.
pub fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not start `{}`", describe(cmd)))?;
    if !out.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            describe(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Times a closure.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

/// Formats a duration as seconds with one decimal.
pub fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}
