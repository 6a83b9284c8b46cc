//! The browser of the console tests: Debian's `chromium` (an apt install, as root) driven by npm
//! `playwright-core` (pinned to a release that drives Chromium 156) with npm `axe-core` (pinned)
//! for the accessibility checks, both into `.peers/browser/node_modules` from a `package.json`
//! written here. `.peers/browser/chromium` names the browser executable the tests start.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::Stamps;
use crate::util::{self, Workspace};

/// npm `playwright-core`: drives Chromium 156 (Debian bookworm's `chromium` package).
pub const PLAYWRIGHT_VERSION: &str = "1.64.1";
/// npm `axe-core`, the accessibility rules engine.
pub const AXE_VERSION: &str = "4.14.1";
/// The Chromium major version the pinned Playwright drives.
pub const CHROMIUM_MAJOR: &str = "156";
/// Where Debian's package puts the browser.
const CHROMIUM: &str = "/usr/bin/chromium";
const APT_INSTALL: &str = "apt-get install -y --no-install-recommends chromium";

/// The browser directory: `.peers/browser`.
pub fn dir(ws: &Workspace) -> PathBuf {
    ws.peers.join("browser")
}

/// Installs chromium (apt) and the npm packages; returns whether it installed anything and the
/// versions.
pub fn install(ws: &Workspace, stamps: &Stamps) -> Result<(bool, Vec<(&'static str, String)>)> {
    let (chromium_fresh, chromium) = ensure_chromium()?;
    let dir = dir(ws);
    let modules = dir.join("node_modules");
    let needs = [
        modules.join("playwright-core/package.json"),
        modules.join("axe-core/axe.min.js"),
    ];
    let needs: Vec<&Path> = needs.iter().map(PathBuf::as_path).collect();
    let pin = format!("playwright-core@{PLAYWRIGHT_VERSION} axe-core@{AXE_VERSION}");
    let mut fresh = chromium_fresh;
    if !stamps.is_current("browser-npm", &pin, &needs) {
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let manifest = format!(
            "{{\n  \"name\": \"vintner-console-test-peers\",\n  \"private\": true,\n  \"dependencies\": {{\n    \"playwright-core\": \"{PLAYWRIGHT_VERSION}\",\n    \"axe-core\": \"{AXE_VERSION}\"\n  }}\n}}\n"
        );
        fs::write(dir.join("package.json"), manifest)?;
        println!("peers: npm install {pin}");
        util::run(
            util::command("npm")
                .args([
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--no-package-lock",
                    "--omit=dev",
                ])
                .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
                .current_dir(&dir),
        )
        .with_context(|| format!("npm could not install {pin}: is the npm registry reachable?"))?;
        stamps.mark("browser-npm", &pin)?;
        fresh = true;
    }
    fs::write(dir.join("chromium"), format!("{CHROMIUM}\n"))?;
    Ok((
        fresh,
        vec![
            ("chromium", chromium),
            ("playwright", PLAYWRIGHT_VERSION.to_owned()),
            ("axe-core", AXE_VERSION.to_owned()),
        ],
    ))
}

fn chromium_version() -> Option<String> {
    let out = util::output(util::command(CHROMIUM).arg("--version")).ok()?;
    // "Chromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm)"
    out.split_whitespace().nth(1).map(str::to_owned)
}

/// Debian's chromium, installed with apt when missing (as root; otherwise the error names the
/// command); its version.
fn ensure_chromium() -> Result<(bool, String)> {
    let mut fresh = false;
    if !Path::new(CHROMIUM).exists() {
        let root = util::output(util::command("id").arg("-u")).is_ok_and(|u| u.trim() == "0");
        if !root {
            bail!(
                "Chromium is missing: install it as root with `{APT_INSTALL}`, then run `cargo xtask peers` again"
            );
        }
        println!("peers: {APT_INSTALL}");
        let apt = || {
            util::run(
                util::command("apt-get")
                    .args(["install", "-y", "--no-install-recommends", "chromium"])
                    .env("DEBIAN_FRONTEND", "noninteractive"),
            )
        };
        if apt().is_err() {
            util::run(util::command("apt-get").arg("update"))?;
            apt().with_context(|| format!("`{APT_INSTALL}` failed"))?;
        }
        fresh = true;
    }
    let version =
        chromium_version().with_context(|| format!("{CHROMIUM} --version printed no version"))?;
    if !version.starts_with(&format!("{CHROMIUM_MAJOR}.")) {
        println!(
            "  warning: chromium {version} is not {CHROMIUM_MAJOR}.x, the release playwright-core {PLAYWRIGHT_VERSION} drives"
        );
    }
    Ok((fresh, version))
}
