//! `cargo xtask bench NAME`: runs one benchmark with the test peers on PATH.

use anyhow::{Result, bail};

use crate::peers;
use crate::util::{self, Workspace};

/// Benchmark name → (package, bench target).
const BENCHES: &[(&str, &str, &str)] = &[
    ("trellis", "trellis", "claim"),
    ("tendril", "tendril", "pipeline"),
    ("terraform", "grape-terraform", "overhead"),
    ("aws", "grape-cloud-aws", "discovery"),
    ("vine", "grape-provisioner", "vine"),
];

/// Options of `cargo xtask bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Which benchmark: trellis, tendril, terraform, aws or vine.
    pub name: String,
    /// Extra arguments for the benchmark harness (after `--`), e.g. a filter.
    #[arg(last = true)]
    pub rest: Vec<String>,
}

/// Installs the peers if needed, then runs `cargo bench -p PACKAGE --bench BENCH`.
pub fn run(ws: &Workspace, args: &Args) -> Result<()> {
    let Some(&(_, package, bench)) = BENCHES.iter().find(|(name, _, _)| *name == args.name) else {
        let known: Vec<&str> = BENCHES.iter().map(|(name, _, _)| *name).collect();
        bail!(
            "unknown benchmark {:?}; known: {}",
            args.name,
            known.join(", ")
        );
    };
    peers::run(ws, &peers::Args::default())?;
    let mut cmd = util::command(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(&ws.root)
        .args(["bench", "-p", package, "--bench", bench])
        .envs(ws.test_env()?);
    if !args.rest.is_empty() {
        cmd.arg("--").args(&args.rest);
    }
    util::run(&mut cmd)
}
