//! Terraform versions: `terraform version -json` and a small semantic version type.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A Terraform version such as `1.15.5` or `1.10.0-beta1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    /// Major number.
    pub major: u64,
    /// Minor number.
    pub minor: u64,
    /// Patch number.
    pub patch: u64,
    /// Pre-release label (`beta1`), empty for releases.
    pub pre: String,
}

impl Version {
    /// A release version.
    pub const fn new(major: u64, minor: u64, patch: u64) -> Self {
        Self {
            major,
            minor,
            patch,
            pre: String::new(),
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        Ok(())
    }
}

/// A string that is not a version.
#[derive(Debug, Clone, thiserror::Error)]
#[error("not a version: {0:?}")]
pub struct ParseVersionError(pub String);

impl FromStr for Version {
    type Err = ParseVersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseVersionError(s.to_owned());
        let t = s.trim().trim_start_matches('v');
        let (core, pre) = t.split_once('-').unwrap_or((t, ""));
        let core = core.split_once('+').map_or(core, |(c, _)| c);
        let mut parts = core.split('.');
        let mut num = |required: bool| -> Result<u64, ParseVersionError> {
            match parts.next() {
                Some(p) => p.parse().map_err(|_| err()),
                None if required => Err(err()),
                None => Ok(0),
            }
        };
        let major = num(true)?;
        let minor = num(true)?;
        let patch = num(false)?;
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(Self {
            major,
            minor,
            patch,
            pre: pre.to_owned(),
        })
    }
}

/// What `terraform version -json` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    /// The Terraform version, e.g. `1.15.5`.
    pub terraform_version: String,
    /// Platform, e.g. `linux_amd64`.
    #[serde(default)]
    pub platform: String,
    /// Providers selected in the working directory (empty outside one).
    #[serde(default)]
    pub provider_selections: BTreeMap<String, String>,
    /// Whether a newer version exists (always false with `CHECKPOINT_DISABLE`).
    #[serde(default)]
    pub terraform_outdated: bool,
}

impl VersionInfo {
    /// The parsed version.
    pub fn version(&self) -> Result<Version, ParseVersionError> {
        self.terraform_version.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders_versions() {
        let v: Version = "1.15.5".parse().unwrap();
        assert_eq!(v, Version::new(1, 15, 5));
        assert!(v > Version::new(1, 5, 0));
        let beta: Version = "v1.10.0-beta1".parse().unwrap();
        assert!(beta < Version::new(1, 10, 0));
        assert!(beta > Version::new(1, 9, 9));
        assert!("1".parse::<Version>().is_err());
        assert!("1.x.0".parse::<Version>().is_err());
        assert_eq!("1.4".parse::<Version>().unwrap(), Version::new(1, 4, 0));
    }
}
