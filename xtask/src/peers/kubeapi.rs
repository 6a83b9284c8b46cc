//! The Kubernetes test peer: real kube-apiserver, kube-controller-manager and kube-scheduler
//! v1.20.2 plus etcd 3.4.23, built from Debian's `kubernetes` source and `etcd-server` packages
//! by `crates/grape-testkit/kube/build-k8s.sh` (about 8 minutes of 2 cores, once).
//!
//! The build lands in a cache **outside the clone**, keyed by a hash of the recipe, as the cargo
//! target directory is: `${XDG_CACHE_HOME:-$HOME/.cache}/vintner-core/kube-<hash>/bin`, so a fresh
//! clone on a machine that built it before reuses it, and an edited recipe rebuilds.
//! `.peers/kube` is a symlink to it (grape-testkit reads the binaries there and checks the hash).
//! A failed build leaves `kube-<hash>.build/` (with its Go cache) for the next attempt to resume.
//! `--force` does not rebuild it (the cache is keyed by the recipe's content): remove the cache
//! directory for that.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::util::{self, Workspace};

/// The recipe, relative to the workspace root.
pub const RECIPE: &str = "crates/grape-testkit/kube/build-k8s.sh";
/// The binaries the recipe leaves in `bin/`.
const BINARIES: [&str; 4] = [
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "etcd",
];
/// Tools the build and the start script need on the machine.
const HOST_TOOLS: [&str; 5] = ["apt-get", "dpkg", "curl", "openssl", "python3"];

/// Builds (or finds) the peer and links `.peers/kube` to it; returns whether it built, the
/// API server's version and the cache directory.
pub fn install(ws: &Workspace) -> Result<(bool, String, PathBuf)> {
    let recipe = ws.root.join(RECIPE);
    let text = fs::read(&recipe).with_context(|| format!("cannot read {}", recipe.display()))?;
    let dir = cache_root()?.join(format!("kube-{:016x}", fnv1a(&text)));
    let ready = |dir: &Path| BINARIES.iter().all(|b| dir.join("bin").join(b).is_file());
    let mut fresh = false;
    if !ready(&dir) {
        build(&recipe, &dir)?;
        fresh = true;
    }
    link(ws, &dir)?;
    let version = util::output(util::command(dir.join("bin/kube-apiserver")).arg("--version"))?;
    let version = version.trim().trim_start_matches("Kubernetes ").to_owned();
    Ok((fresh, version, dir))
}

fn build(recipe: &Path, dir: &Path) -> Result<()> {
    for tool in HOST_TOOLS {
        if util::output(util::command("sh").args(["-c", &format!("command -v {tool}")])).is_err() {
            bail!(
                "the Kubernetes test peer needs `{tool}` on this machine (Debian: apt-get install {tool})"
            );
        }
    }
    let partial = dir.with_extension("build");
    let log = dir.with_extension("build.log");
    let lock = dir.with_extension("lock");
    fs::create_dir_all(&partial).with_context(|| format!("cannot create {}", partial.display()))?;
    let _lock = BuildLock::take(&lock)?;
    println!(
        "peers: building kube-apiserver v1.20.2 + etcd from Debian's packages into {} \
         (about 8 minutes of 2 cores, once per machine; log: {})",
        partial.display(),
        log.display()
    );
    let log_file =
        fs::File::create(&log).with_context(|| format!("cannot write {}", log.display()))?;
    let (status, took) = util::timed(|| {
        util::command("bash")
            .arg(recipe)
            .env("PREFIX", &partial)
            .stdin(std::process::Stdio::null())
            .stdout(log_file.try_clone().expect("log handle"))
            .stderr(log_file)
            .status()
    });
    let status = status.context("cannot start bash for the Kubernetes recipe")?;
    if !status.success() {
        let text = fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "building the Kubernetes test peer failed ({status}) after {}; the next run resumes in {}. \
             Last lines of {}:\n{}",
            util::secs(took),
            partial.display(),
            log.display(),
            tail.join("\n")
        );
    }
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("cannot replace {}", dir.display()))?;
    }
    fs::rename(&partial, dir)
        .with_context(|| format!("cannot move {} to {}", partial.display(), dir.display()))?;
    println!("peers: Kubernetes test peer built in {}", util::secs(took));
    Ok(())
}

/// `.peers/kube` → the cache directory.
fn link(ws: &Workspace, dir: &Path) -> Result<()> {
    let link = ws.peers.join("kube");
    if fs::read_link(&link).is_ok_and(|t| t == dir) {
        return Ok(());
    }
    let _ = fs::remove_file(&link);
    std::os::unix::fs::symlink(dir, &link)
        .with_context(|| format!("cannot link {} to {}", link.display(), dir.display()))
}

/// `${XDG_CACHE_HOME:-$HOME/.cache}/vintner-core`.
fn cache_root() -> Result<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .context("neither XDG_CACHE_HOME nor HOME is set: nowhere to cache the Kubernetes build")?;
    Ok(base.join("vintner-core"))
}

/// FNV-1a, 64 bits: a stable hash of the recipe (grape-testkit computes the same).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One build at a time per cache directory (two clones on one machine).
struct BuildLock(PathBuf);

impl BuildLock {
    fn take(path: &Path) -> Result<Self> {
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(_) => {
                fs::write(path, std::process::id().to_string())?;
                Ok(Self(path.to_owned()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let pid = fs::read_to_string(path).unwrap_or_default();
                let alive = !pid.trim().is_empty() && Path::new("/proc").join(pid.trim()).exists();
                if alive {
                    bail!(
                        "another `cargo xtask peers` (pid {}) is building the Kubernetes peer; wait for it",
                        pid.trim()
                    );
                }
                fs::remove_file(path)?;
                Self::take(path)
            }
            Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
        }
    }
}

impl Drop for BuildLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fnv1a_is_the_reference_function() {
        assert_eq!(super::fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
