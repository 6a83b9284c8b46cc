//! The Terraform provider mirror: an unpacked filesystem mirror holding
//! `registry.terraform.io/hashicorp/aws/<version>/<os_arch>/terraform-provider-aws_*`.
//!
//! The hashicorp/aws provider cannot be installed from the registries this project reaches, so
//! it is the one peer that is found rather than installed: `VINTNER_TF_PROVIDER_MIRROR`, else a
//! search of the places such mirrors are kept. What was found is recorded in
//! `.peers/tf-provider-mirror` (read by `grape_testkit::tf_provider_mirror`); without one the
//! provider tier of the grape-vine tests says plainly that it did not run.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::util::Workspace;

/// The variable naming the mirror explicitly.
pub const MIRROR_VAR: &str = "VINTNER_TF_PROVIDER_MIRROR";
/// The file in `.peers` recording the mirror found.
pub const MIRROR_FILE: &str = "tf-provider-mirror";
/// Where mirrors are searched when the variable is not set (each to a small depth).
const SEARCH_ROOTS: &[&str] = &[
    "/opt",
    "/usr/share/terraform",
    "/usr/local/share/terraform",
    "/var/lib/terraform",
    "~/.terraform.d",
    "~/.local/share/terraform",
];
/// How deep below a search root a mirror may sit.
const SEARCH_DEPTH: usize = 3;

/// A mirror found: its directory and the aws provider versions it holds.
#[derive(Debug)]
pub struct Mirror {
    pub dir: PathBuf,
    pub aws_versions: Vec<String>,
}

/// Finds the mirror and records it (or removes a stale record).
pub fn locate(ws: &Workspace) -> Result<Option<Mirror>> {
    let record = ws.peers.join(MIRROR_FILE);
    let found = match std::env::var_os(MIRROR_VAR).filter(|v| !v.is_empty()) {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            match inspect(&dir) {
                Some(mirror) => Some(mirror),
                None => bail!(
                    "{MIRROR_VAR}={} holds no registry.terraform.io/hashicorp/aws/VERSION/OS_ARCH/terraform-provider-aws_*",
                    dir.display()
                ),
            }
        }
        None => search(),
    };
    match &found {
        Some(mirror) => fs::write(&record, format!("{}\n", mirror.dir.display()))
            .with_context(|| format!("cannot write {}", record.display()))?,
        None if record.exists() => fs::remove_file(&record)
            .with_context(|| format!("cannot remove {}", record.display()))?,
        None => {}
    }
    Ok(found)
}

fn search() -> Option<Mirror> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    SEARCH_ROOTS.iter().find_map(|root| {
        let root = match (root.strip_prefix("~/"), &home) {
            (Some(rest), Some(home)) => home.join(rest),
            (Some(_), None) => return None,
            (None, _) => PathBuf::from(root),
        };
        find_below(&root, SEARCH_DEPTH)
    })
}

/// The first mirror at `dir` or up to `depth` directories below it (sorted, so the search is
/// deterministic).
fn find_below(dir: &Path, depth: usize) -> Option<Mirror> {
    if let Some(mirror) = inspect(dir) {
        return Some(mirror);
    }
    if depth == 0 {
        return None;
    }
    let mut children: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    children.sort();
    children.iter().find_map(|c| find_below(c, depth - 1))
}

/// `dir` as a mirror: the aws provider versions that have a provider binary for some platform.
fn inspect(dir: &Path) -> Option<Mirror> {
    let aws = dir.join("registry.terraform.io/hashicorp/aws");
    let mut versions: Vec<String> = fs::read_dir(&aws)
        .ok()?
        .filter_map(Result::ok)
        .filter(|version| {
            fs::read_dir(version.path()).is_ok_and(|platforms| {
                platforms.filter_map(Result::ok).any(|platform| {
                    fs::read_dir(platform.path()).is_ok_and(|files| {
                        files.filter_map(Result::ok).any(|f| {
                            f.file_name()
                                .to_string_lossy()
                                .starts_with("terraform-provider-aws_")
                        })
                    })
                })
            })
        })
        .map(|v| v.file_name().to_string_lossy().into_owned())
        .collect();
    if versions.is_empty() {
        return None;
    }
    versions.sort();
    Some(Mirror {
        dir: dir.to_path_buf(),
        aws_versions: versions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mirror_is_found_below_a_root_and_an_empty_tree_is_not_one() {
        let root = tempfile::tempdir().unwrap();
        assert!(find_below(root.path(), SEARCH_DEPTH).is_none());
        let platform = root
            .path()
            .join("tools/tf-plugins/registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64");
        fs::create_dir_all(&platform).unwrap();
        assert!(
            find_below(root.path(), SEARCH_DEPTH).is_none(),
            "no binary yet"
        );
        fs::write(platform.join("terraform-provider-aws_v5.100.0_x5"), "").unwrap();
        let found = find_below(root.path(), SEARCH_DEPTH).expect("found");
        assert_eq!(found.dir, root.path().join("tools/tf-plugins"));
        assert_eq!(found.aws_versions, ["5.100.0"]);
    }
}
