//! `cargo xtask ci`: what CI runs. Every step runs even when an earlier one failed (so one
//! run shows every problem); the exit code is non-zero when any step failed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::peers;
use crate::util::{self, Workspace};

/// Options of `cargo xtask ci`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Skip `cargo deny` (and do not build cargo-deny).
    #[arg(long)]
    pub skip_deny: bool,
}

struct Step {
    name: &'static str,
    took: Duration,
    outcome: Outcome,
}

enum Outcome {
    Passed,
    Failed(String),
    Skipped(&'static str),
}

/// Runs the CI steps in order and prints their timings.
pub fn run(ws: &Workspace, args: &Args) -> Result<()> {
    let mut steps = Vec::new();
    let cargo = || util::command(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));

    let peer_args = peers::Args {
        with_deny: !args.skip_deny,
        force: false,
    };
    let (installed, took) = util::timed(|| peers::run(ws, &peer_args));
    let installed = match installed {
        Ok(installed) => {
            steps.push(Step {
                name: "peers",
                took,
                outcome: Outcome::Passed,
            });
            Some(installed)
        }
        Err(err) => {
            eprintln!("ci: peers failed: {err:#}");
            steps.push(Step {
                name: "peers",
                took,
                outcome: Outcome::Failed(format!("{err:#}")),
            });
            None
        }
    };

    steps.push(step(ws, "fmt", cargo().args(["fmt", "--all", "--check"])));
    steps.push(step(
        ws,
        "clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    ));

    let deny = installed.as_ref().and_then(|i| i.cargo_deny.clone());
    match deny {
        _ if args.skip_deny => steps.push(skipped("deny", "--skip-deny")),
        Some(deny) => {
            println!(
                "ci: note: `cargo deny check advisories` is skipped: the advisory database \
                 cannot be fetched in this sandbox"
            );
            steps.push(step(
                ws,
                "deny",
                util::command(deny).args([
                    "deny",
                    "check",
                    "--hide-inclusion-graph",
                    "bans",
                    "licenses",
                    "sources",
                ]),
            ));
        }
        None => {
            println!("ci: note: cargo-deny is not installed: skipping `cargo deny check`");
            steps.push(skipped("deny", "cargo-deny not installed"));
        }
    }

    // A report left by an earlier run must not pass for this run's counts.
    let _ = std::fs::remove_file(junit_path(ws));
    let mut nextest = cargo();
    nextest.args(["nextest", "run", "--workspace", "--profile", "ci"]);
    match ws.test_env() {
        Ok(env) => {
            nextest.envs(env);
            steps.push(step(ws, "test", &mut nextest));
        }
        Err(err) => steps.push(Step {
            name: "test",
            took: Duration::ZERO,
            outcome: Outcome::Failed(format!("{err:#}")),
        }),
    }

    print_summary(ws, &steps);
    let failed: Vec<&str> = steps
        .iter()
        .filter(|s| matches!(s.outcome, Outcome::Failed(_)))
        .map(|s| s.name)
        .collect();
    if !failed.is_empty() {
        bail!("ci failed in: {}", failed.join(", "));
    }
    Ok(())
}

fn step(ws: &Workspace, name: &'static str, cmd: &mut Command) -> Step {
    println!("ci: ==> {name}: {}", util::describe(cmd));
    let (result, took) = util::timed(|| util::run(cmd.current_dir(&ws.root)));
    let outcome = match result {
        Ok(()) => Outcome::Passed,
        Err(err) => Outcome::Failed(format!("{err:#}")),
    };
    let verdict = if matches!(outcome, Outcome::Passed) {
        "passed"
    } else {
        "FAILED"
    };
    println!("ci: <== {name} {verdict} in {}", util::secs(took));
    Step {
        name,
        took,
        outcome,
    }
}

fn skipped(name: &'static str, why: &'static str) -> Step {
    Step {
        name,
        took: Duration::ZERO,
        outcome: Outcome::Skipped(why),
    }
}

fn print_summary(ws: &Workspace, steps: &[Step]) {
    println!();
    println!("ci: step timings");
    let mut total = Duration::ZERO;
    for s in steps {
        total += s.took;
        let outcome = match &s.outcome {
            Outcome::Passed => "passed".to_owned(),
            Outcome::Failed(why) => format!("FAILED: {why}"),
            Outcome::Skipped(why) => format!("skipped ({why})"),
        };
        println!("ci:   {:<7} {:>8}  {outcome}", s.name, util::secs(s.took));
    }
    println!("ci:   {:<7} {:>8}", "total", util::secs(total));
    if let Some(counts) = junit_counts(&junit_path(ws)) {
        // The closing line: the test counts of this run, read from nextest's JUnit report.
        println!(
            "tests: {} passed, {} failed, {} skipped",
            counts.passed, counts.failed, counts.skipped
        );
    }
}

/// nextest writes `<target>/nextest/ci/junit.xml` (see `.config/nextest.toml`).
fn junit_path(ws: &Workspace) -> PathBuf {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| ws.root.join("target"), PathBuf::from);
    let target = if target.is_absolute() {
        target
    } else {
        ws.root.join(target)
    };
    target.join("nextest").join("ci").join("junit.xml")
}

#[derive(Debug, PartialEq)]
struct Counts {
    passed: u64,
    failed: u64,
    skipped: u64,
}

/// Test counts from the `<testsuites …>` element of a JUnit report written by this run.
fn junit_counts(path: &Path) -> Option<Counts> {
    let text = std::fs::read_to_string(path).ok()?;
    parse_junit(&text)
}

fn parse_junit(text: &str) -> Option<Counts> {
    let start = text.find("<testsuites")?;
    let head = &text[start..start + text[start..].find('>')?];
    let attr = |name: &str| -> u64 {
        let key = format!(" {name}=\"");
        head.find(&key)
            .and_then(|i| {
                let rest = &head[i + key.len()..];
                rest[..rest.find('"')?].parse().ok()
            })
            .unwrap_or(0)
    };
    let (tests, failures, errors) = (attr("tests"), attr("failures"), attr("errors"));
    let skipped = attr("skipped");
    Some(Counts {
        passed: tests.saturating_sub(failures + errors + skipped),
        failed: failures + errors,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::{Counts, parse_junit};

    #[test]
    fn counts_from_junit_header() {
        let xml = r#"<?xml version="1.0"?><testsuites name="nextest-run" tests="12" failures="1" errors="1" time="3.2"><testsuite/></testsuites>"#;
        let counts = parse_junit(xml);
        assert_eq!(
            counts,
            Some(Counts {
                passed: 10,
                failed: 2,
                skipped: 0
            })
        );
        assert_eq!(parse_junit("not xml"), None);
    }
}
