//! One module per command group; [`dispatch`] runs the parsed command.

pub mod auth;
pub mod cost;
pub mod follow;
pub mod identities;
pub mod jobs;
mod local;
pub mod secrets;
pub mod terraform;
pub mod tokens;
pub mod vine;
pub mod worker;
pub mod workers;

use std::io::Read;
use std::time::Duration;

use clap::CommandFactory;
use grape_api::{ClientOptions, RetryPolicy, Secret, UserApiClient};
use uuid::Uuid;

use crate::cli::{
    Cli, Command, IdentitiesCommand, JobsCommand, TokensCommand, WorkerCommand, WorkersCommand,
};
use crate::config::Resolved;
use crate::error::{CliError, CliResult};
use crate::output::Printer;

/// What every command gets: the printer and the resolved settings.
#[derive(Debug)]
pub struct Ctx {
    /// How to print.
    pub printer: Printer,
    /// The `--url` flag / `TRELLIS_URL`, as given.
    pub url_flag: Option<String>,
}

impl Ctx {
    /// The settings in force (flags and environment over the config file).
    pub fn resolved(&self) -> CliResult<Resolved> {
        Resolved::load(self.url_flag.as_deref())
    }

    /// A user API client for the configured server and token.
    pub fn client(&self) -> CliResult<Api> {
        let resolved = self.resolved()?;
        let url = resolved.require_url()?.to_owned();
        let token = resolved.require_token()?.clone();
        Api::new(&url, token)
    }
}

/// A [`UserApiClient`] and the URL it talks to (for error messages).
#[derive(Debug, Clone)]
pub struct Api {
    /// The client.
    pub client: UserApiClient,
    /// Its base URL.
    pub url: String,
}

impl Api {
    /// A client with the CLI's options: short retries (a person is waiting).
    pub fn new(url: &str, token: Secret) -> CliResult<Self> {
        let client = UserApiClient::with_options(url, token, client_options())
            .map_err(|e| CliError::from_api(&e, url, None))?;
        Ok(Self {
            client,
            url: url.to_owned(),
        })
    }

    /// Maps an API error of this server.
    pub fn err(&self, e: &grape_api::ApiError) -> CliError {
        CliError::from_api(e, &self.url, None)
    }

    /// Maps an API error of a call about `what` (for a 404 message).
    pub fn err_about(&self, e: &grape_api::ApiError, what: &str) -> CliError {
        CliError::from_api(e, &self.url, Some(what))
    }
}

/// The client options of the CLI: short retries (a person is waiting).
pub fn client_options() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
            max_elapsed: Some(Duration::from_secs(10)),
        },
        user_agent: concat!("grape/", env!("CARGO_PKG_VERSION")).to_owned(),
        ..ClientOptions::default()
    }
}

/// Parses an id argument.
pub fn parse_id(text: &str, what: &str) -> CliResult<Uuid> {
    text.trim().parse().map_err(|_| {
        CliError::usage(format!(
            "`{text}` is not a valid {what} id (a UUID is expected)."
        ))
        .hint("copy the id from `grape jobs list` or `grape workers list`")
    })
}

/// Reads all of standard input (for `--payload -`, `--token-stdin`).
pub fn read_stdin(what: &str) -> CliResult<String> {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s).map_err(|e| {
        CliError::usage(format!("cannot read {what} from standard input: {e}."))
            .hint("pipe it in as UTF-8 text, for example `grape … < file`")
    })?;
    Ok(s)
}

/// Runs the parsed command.
pub async fn dispatch(cli: Cli, printer: Printer) -> CliResult<()> {
    let ctx = Ctx {
        printer,
        url_flag: cli.url.clone(),
    };
    match cli.command {
        Command::Login(args) => auth::login(&ctx, &args).await,
        Command::Logout => auth::logout(&ctx),
        Command::Status => auth::status(&ctx).await,
        Command::Jobs(cmd) => match cmd {
            JobsCommand::Submit(a) => jobs::submit(&ctx, &a).await,
            JobsCommand::List(a) => jobs::list(&ctx, &a).await,
            JobsCommand::Show(a) => jobs::show(&ctx, &a.id).await,
            JobsCommand::Logs(a) => jobs::logs(&ctx, &a).await,
            JobsCommand::Cancel(a) => jobs::cancel(&ctx, &a.id).await,
            JobsCommand::Retry(a) => jobs::retry(&ctx, &a.id).await,
        },
        Command::Workers(cmd) => match cmd {
            WorkersCommand::List => workers::list(&ctx).await,
            WorkersCommand::Register(a) => workers::register(&ctx, &a).await,
            WorkersCommand::Remove(a) => workers::remove(&ctx, &a).await,
        },
        Command::Worker(WorkerCommand::Start(a)) => worker::start(&ctx, *a).await,
        Command::Identities(cmd) => match cmd {
            IdentitiesCommand::List => identities::list(&ctx).await,
            IdentitiesCommand::Add(a) => identities::add(&ctx, &a).await,
            IdentitiesCommand::Show(a) => identities::show(&ctx, &a.id).await,
            IdentitiesCommand::Test(a) => identities::run_discovery(&ctx, &a.id, true).await,
            IdentitiesCommand::Refresh(a) => identities::run_discovery(&ctx, &a.id, false).await,
        },
        Command::Tokens(cmd) => match cmd {
            TokensCommand::Create(a) => tokens::create(&ctx, &a).await,
            TokensCommand::List(a) => tokens::list(&ctx, &a).await,
            TokensCommand::Revoke(a) => tokens::revoke(&ctx, &a).await,
        },
        Command::Plan(a) => terraform::plan(&ctx, &a).await,
        Command::Apply(a) => terraform::apply(&ctx, &a).await,
        Command::Destroy(a) => terraform::destroy(&ctx, &a).await,
        Command::Vine(cmd) => vine::dispatch(&ctx, cmd).await,
        Command::Cluster(cmd) => vine::cluster(&ctx, cmd).await,
        Command::Completions(a) => {
            let mut cmd = Cli::command();
            clap_complete::generate(a.shell, &mut cmd, "grape", &mut std::io::stdout());
            Ok(())
        }
    }
}
