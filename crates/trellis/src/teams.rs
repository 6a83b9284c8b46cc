//! Team names and job labels: validation, the canonical form stored with a job, and the label
//! set a worker offers.
//!
//! A team name is `[a-z0-9][a-z0-9_-]*`, at most 63 characters: it becomes a path segment of the
//! vine state key (`vines/<team>/…`). A job label is 1–128 printable characters without
//! whitespace or commas, at most 32 per job. A worker registered with labels `{k: v}` offers the
//! labels `k` and `k=v`; it claims a job only when every job label is one it offers (a job
//! without labels fits any worker).

use std::collections::{BTreeMap, BTreeSet};

/// Most labels on one job.
pub const MAX_LABELS: usize = 32;
/// Longest label.
pub const MAX_LABEL_LEN: usize = 128;
/// Longest team name.
pub const MAX_TEAM_LEN: usize = 63;

/// Checks a team name; the error says what is allowed.
pub fn validate_team(team: &str) -> Result<(), String> {
    let ok = !team.is_empty()
        && team.len() <= MAX_TEAM_LEN
        && team
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && team
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid team `{}`: a team is [a-z0-9][a-z0-9_-]*, at most {MAX_TEAM_LEN} characters",
            team.escape_debug()
        ))
    }
}

/// The canonical form of a job's labels (sorted, without duplicates), or why they are refused.
pub fn canonical_labels(labels: &[String]) -> Result<Vec<String>, String> {
    let set: BTreeSet<&str> = labels.iter().map(String::as_str).collect();
    if set.len() > MAX_LABELS {
        return Err(format!("at most {MAX_LABELS} labels per job"));
    }
    for l in &set {
        let printable = l
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != ',');
        if l.is_empty() || l.len() > MAX_LABEL_LEN || !printable {
            return Err(format!(
                "invalid label `{}`: 1 to {MAX_LABEL_LEN} characters, no whitespace or commas \
                 (`key=value` or `key`)",
                l.escape_debug()
            ));
        }
    }
    Ok(set.into_iter().map(str::to_owned).collect())
}

/// The labels a worker registered with `labels` offers: `k` and `k=v` for each entry.
pub fn offered_labels(labels: &BTreeMap<String, String>) -> Vec<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    for (k, v) in labels {
        out.insert(k.clone());
        out.insert(format!("{k}={v}"));
    }
    out.into_iter().collect()
}

/// Whether a worker offering `offered` may claim a job with `job_labels`.
pub fn labels_fit(job_labels: &[String], offered: &[String]) -> bool {
    job_labels.iter().all(|l| offered.contains(l))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teams() {
        for ok in ["default", "a", "team-1", "x_y", "0abc"] {
            assert!(validate_team(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Team", "-a", "a/b", "..", "a b", &"a".repeat(64)] {
            assert!(validate_team(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn labels_are_canonical_and_checked() {
        let l = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            canonical_labels(&l(&["gpu", "region=eu", "gpu"])).unwrap(),
            l(&["gpu", "region=eu"])
        );
        assert!(canonical_labels(&l(&[""])).is_err());
        assert!(canonical_labels(&l(&["a b"])).is_err());
        assert!(canonical_labels(&l(&["a,b"])).is_err());
        let many: Vec<String> = (0..=MAX_LABELS).map(|i| i.to_string()).collect();
        assert!(canonical_labels(&many).is_err());
    }

    #[test]
    fn a_job_fits_when_its_labels_are_a_subset() {
        let worker = offered_labels(&BTreeMap::from([
            ("region".to_owned(), "eu".to_owned()),
            ("gpu".to_owned(), String::new()),
        ]));
        let fits = |job: &[&str]| {
            let job: Vec<String> = job.iter().map(|s| (*s).to_owned()).collect();
            labels_fit(&job, &worker)
        };
        assert!(fits(&[]));
        assert!(fits(&["gpu"]));
        assert!(fits(&["region", "region=eu"]));
        assert!(!fits(&["region=us"]));
        assert!(!fits(&["gpu", "arm"]));
    }
}
