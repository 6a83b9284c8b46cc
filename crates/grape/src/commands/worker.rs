//! `grape worker start`: the Tendril worker runtime in this process, with the same flags and
//! environment variables as `tendril start` (`tendril::StartArgs`). The Trellis URL defaults to
//! the one of `grape login` / `--url`.

use super::Ctx;
use crate::error::{CliError, CliResult};

/// `grape worker start`: runs until SIGINT/SIGTERM, then drains (exit 0).
pub async fn start(ctx: &Ctx, mut args: tendril::StartArgs) -> CliResult<()> {
    if args.trellis_url.is_none() {
        let resolved = ctx.resolved()?;
        args.trellis_url = resolved.url.map(|(u, _)| u);
    }
    let config = args.validate().map_err(|e| {
        CliError::usage(format!("cannot start the worker: {e}."))
            .hint("see `grape worker start --help` for the flags and their environment variables")
    })?;
    tendril::init_tracing(config.log_format);
    tendril::run(config).await.map_err(|e| {
        let code = e.exit_code();
        CliError {
            message: format!("the worker stopped: {e}."),
            hint: None,
            code,
        }
        .hint("check that Trellis is reachable and the worker id and token are right")
    })
}
