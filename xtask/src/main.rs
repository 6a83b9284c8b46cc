//! `cargo xtask`: the project's automation, one module per task.
//!
//! Adding a task is one variant of [`Task`] plus one module with a `run` function.

mod bench;
mod ci;
mod demo;
mod peers;
mod util;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Project automation for the Vintner workspace.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Install the pinned test peers (moto, terraform, helm, kubectl) into `.peers/`.
    Peers(peers::Args),
    /// Run what CI runs: peers, fmt, clippy, deny, then the whole test suite.
    Ci(ci::Args),
    /// Run one benchmark with the test peers on PATH.
    Bench(bench::Args),
    /// Run the main job end to end: Trellis (SQLite) + a Tendril + a Terraform plan and apply.
    Demo(demo::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = util::Workspace::locate().and_then(|ws| match cli.task {
        Task::Peers(args) => peers::run(&ws, &args).map(|_| ()),
        Task::Ci(args) => ci::run(&ws, &args),
        Task::Bench(args) => bench::run(&ws, &args),
        Task::Demo(args) => demo::run(&ws, &args),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
