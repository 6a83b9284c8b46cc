//! cargo-deny, built once from crates.io into cargo's own bin directory (`$CARGO_HOME/bin`), so
//! that fresh clones on the same machine (CI) find it instead of building it again (~3 min).

use std::path::PathBuf;

use anyhow::{Context, Result};

use super::{CARGO_DENY_VERSION, Stamps};
use crate::util::{self, Workspace};

fn binary(_ws: &Workspace) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    home.unwrap_or_default().join("bin").join("cargo-deny")
}

/// The cargo-deny binary if an earlier run installed it.
pub fn existing(ws: &Workspace) -> Option<PathBuf> {
    on_path_at_pinned_version().or_else(|| Some(binary(ws)).filter(|p| p.is_file()))
}

/// Builds the pinned cargo-deny unless its stamp matches; returns its path and whether it built.
pub fn install(ws: &Workspace, stamps: &Stamps) -> Result<(PathBuf, bool)> {
    let bin = binary(ws);
    if stamps.is_current("cargo-deny", CARGO_DENY_VERSION, &[&bin]) {
        return Ok((bin, false));
    }
    if let Some(on_path) = on_path_at_pinned_version() {
        return Ok((on_path, false));
    }
    println!("peers: cargo install cargo-deny {CARGO_DENY_VERSION} (about 2 minutes, once)");
    util::run(
        util::command(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["install", "cargo-deny", "--locked", "--quiet", "--force"])
            .args(["--version", CARGO_DENY_VERSION]),
    )
    .context("could not build cargo-deny from crates.io: is the registry reachable?")?;
    stamps.mark("cargo-deny", CARGO_DENY_VERSION)?;
    Ok((bin, true))
}

/// A `cargo-deny` already on PATH (e.g. in `~/.cargo/bin`) that is the pinned version.
fn on_path_at_pinned_version() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join("cargo-deny"))
        .find(|p| p.is_file())?;
    let version = util::output(util::command(&found).arg("--version")).ok()?;
    version
        .split_whitespace()
        .any(|word| word == CARGO_DENY_VERSION)
        .then_some(found)
}
