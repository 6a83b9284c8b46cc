//! Grape, the CLI of platform engineers.
//!
//! `main` calls [`run`]: parse the command line (clap exits 2 on a usage error), run the command
//! on a tokio runtime, print an error as one sentence plus a `hint:` line, and return the exit
//! code (see [`error`]). Data goes to stdout, progress and messages to stderr.
#![warn(missing_docs)]

pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::error::CliError;
use crate::output::Printer;

/// Runs grape with the process's arguments and returns its exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let printer = Printer::detect(cli.output, cli.no_color);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            printer.error(
                &CliError::failed(format!("cannot start the async runtime: {e}."))
                    .hint("the system refused threads or file descriptors: check `ulimit -a`"),
            );
            return ExitCode::from(error::EXIT_FAILED);
        }
    };
    let result = runtime.block_on(commands::dispatch(cli, printer));
    // Do not wait for blocking tasks (a pending stdin read) at exit.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if !err.message.is_empty() {
                printer.error(&err);
            }
            err.exit_code()
        }
    }
}
