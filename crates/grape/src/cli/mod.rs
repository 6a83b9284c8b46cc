//! The command line (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod vine;

pub use vine::{
    ClusterBootstrapArgs, ClusterCommand, VineCommand, VineInitArgs, VinePlanArgs, VineRenderArgs,
};

use crate::output::Format;

/// Grape: submit and follow Trellis jobs, manage workers and cloud identities, run Terraform.
#[derive(Debug, Parser)]
#[command(name = "grape", version, about, propagate_version = true)]
#[command(
    after_help = "Environment: TRELLIS_URL (server), GRAPE_TOKEN (API token), \
TRELLIS_ADMIN_TOKEN (worker registration, tokens), NO_COLOR (no colours).\n\
Exit codes: 0 success, 1 job failed or request refused, 2 usage error, 3 Trellis unreachable or auth error."
)]
pub struct Cli {
    /// Trellis base URL (overrides the one saved by `grape login`).
    #[arg(long, global = true, env = "TRELLIS_URL", value_name = "URL")]
    pub url: Option<String>,
    /// Output format: human tables or JSON for scripts.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Format::Human)]
    pub output: Format,
    /// Never use colours (also: NO_COLOR=1).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Save the Trellis URL and API token (token read from a hidden prompt or stdin).
    Login(LoginArgs),
    /// Forget the saved URL and token.
    Logout,
    /// Show the server, whether it is reachable, its version, and whether you are logged in.
    Status,
    /// Submit, list, show, follow, cancel and retry jobs.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// List, register and remove workers (Tendrils).
    #[command(subcommand)]
    Workers(WorkersCommand),
    /// Run a worker (the Tendril runtime) in this process.
    #[command(subcommand)]
    Worker(WorkerCommand),
    /// Add, show, test and refresh cloud identities.
    #[command(subcommand)]
    Identities(IdentitiesCommand),
    /// Create, list and revoke per-user API tokens (needs an admin token).
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Plan a Terraform configuration (a PLAN job) and show the changes.
    Plan(PlanArgs),
    /// Apply a reviewed plan (an APPLY job of a PLAN job's result).
    Apply(ApplyArgs),
    /// Destroy what a Terraform configuration manages (a DESTROY job).
    Destroy(PlanArgs),
    /// Vines — one environment of a project, from a vine.yaml: init, plan, apply, destroy,
    /// render, schema.
    #[command(subcommand)]
    Vine(VineCommand),
    /// A vine's platform on an existing cluster: bootstrap.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Print shell completions.
    Completions(CompletionsArgs),
}

/// `grape login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Read the token from standard input instead of a hidden prompt.
    #[arg(long)]
    pub token_stdin: bool,
    /// Save without checking the token against the server.
    #[arg(long)]
    pub no_verify: bool,
}

/// `grape jobs …`.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Submit a job: `grape jobs submit EXEC --payload job.json` (or `--payload -` for stdin).
    Submit(SubmitArgs),
    /// List jobs, newest first.
    List(ListArgs),
    /// Show one job.
    Show(IdArg),
    /// Print a job's log; with --follow, follow it live and exit with the job's outcome.
    Logs(LogsArgs),
    /// Cancel a job.
    Cancel(IdArg),
    /// Retry a failed or cancelled job (a new job with the same payload).
    Retry(IdArg),
}

/// `grape jobs submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Job type: EXEC, PLAN, APPLY, DESTROY, CONNECTION_TEST, FETCH_RESOURCES, …
    #[arg(value_name = "TYPE")]
    pub job_type: String,
    /// JSON payload file, or `-` for standard input (default: `{}`).
    #[arg(long, value_name = "FILE|-")]
    pub payload: Option<String>,
    /// The cloud identity the job runs as.
    #[arg(long, value_name = "ID")]
    pub identity: Option<String>,
    /// A label every worker that claims the job must carry (`key=value` or `key`; repeatable).
    #[arg(long = "label", value_name = "LABEL")]
    pub labels: Vec<String>,
    /// The team of the job (an admin token only; default: the token's team).
    #[arg(long, value_name = "TEAM")]
    pub team: Option<String>,
    /// Follow the job's log until it ends and exit with its outcome.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// A job secret (repeatable): `NAME=@FILE` (the file's content, less one trailing newline),
    /// `NAME=@-` (standard input) or `NAME` (the environment variable NAME) — never a value on
    /// the command line, where `ps` and your shell history would show it. Only the worker that
    /// runs the job gets the value; the job shows its name; its log masks it. A PLAN or DESTROY
    /// gets it as the Terraform variable NAME (as TF_VAR_NAME, never in a file).
    #[arg(long = "secret", value_name = "NAME=@FILE|NAME=@-|NAME")]
    pub secrets: Vec<String>,
    /// The idempotency key of this submission (default: a new one): running the command again
    /// with the same key within 24 h makes no second job — it shows the first.
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
}

/// `grape jobs list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only jobs with this status (QUEUED, CLAIMED, RUNNING, SUCCESS, FAILED, CANCELLED).
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    /// Only jobs of this type (EXEC, PLAN, APPLY, DESTROY, CONNECTION_TEST, FETCH_RESOURCES, …).
    #[arg(long = "type", value_name = "TYPE")]
    pub job_type: Option<String>,
    /// At most this many jobs.
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
}

/// A single id argument.
#[derive(Debug, Args)]
pub struct IdArg {
    /// The id (a UUID).
    #[arg(value_name = "ID")]
    pub id: String,
}

/// `grape jobs logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The job id.
    #[arg(value_name = "ID")]
    pub id: String,
    /// Follow the log live until the job ends; exit 0 on SUCCESS, 1 on FAILED/CANCELLED.
    #[arg(long, short = 'f')]
    pub follow: bool,
}

/// `grape workers …`.
#[derive(Debug, Subcommand)]
pub enum WorkersCommand {
    /// List workers and their status.
    List,
    /// Register a worker; prints its id and token once (needs the admin token).
    Register(RegisterArgs),
    /// Remove a worker (needs the admin token); its claimed jobs are requeued.
    Remove(AdminIdArgs),
}

/// The admin token source.
#[derive(Debug, Args)]
pub struct AdminTokenArgs {
    /// Read the admin token from standard input (otherwise TRELLIS_ADMIN_TOKEN).
    #[arg(long)]
    pub admin_token_stdin: bool,
}

/// `grape workers register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The worker's name.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// How the worker is hosted.
    #[arg(long, default_value = "self-hosted", value_parser = ["self-hosted", "cloud-hosted"])]
    pub mode: String,
    /// A label `key=value` (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// The worker's team (default `default`): a self-hosted worker claims only its team's jobs.
    #[arg(long, value_name = "TEAM")]
    pub team: Option<String>,
    /// Admin token.
    #[command(flatten)]
    pub admin: AdminTokenArgs,
}

/// `grape tokens …`.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token; prints it once.
    Create(TokenCreateArgs),
    /// List the tokens (never their secrets).
    List(AdminTokenArgs),
    /// Revoke a token: it is refused from now on.
    Revoke(TokenIdArgs),
}

/// `grape tokens revoke`.
#[derive(Debug, Args)]
pub struct TokenIdArgs {
    /// The token id (from `grape tokens list`).
    #[arg(value_name = "ID")]
    pub id: String,
    /// Admin token.
    #[command(flatten)]
    pub admin: AdminTokenArgs,
}

/// `grape tokens create`.
#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// The team the token acts for.
    #[arg(long, value_name = "TEAM")]
    pub team: String,
    /// `user` (its team only) or `admin` (every team).
    #[arg(long, value_parser = ["user", "admin"])]
    pub role: String,
    /// A name to recognise the token by.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Admin token.
    #[command(flatten)]
    pub admin: AdminTokenArgs,
}

/// `grape workers remove`.
#[derive(Debug, Args)]
pub struct AdminIdArgs {
    /// The worker id.
    #[arg(value_name = "ID")]
    pub id: String,
    /// Admin token.
    #[command(flatten)]
    pub admin: AdminTokenArgs,
}

/// `grape worker …`.
#[derive(Debug, Subcommand)]
pub enum WorkerCommand {
    /// Run the Tendril worker runtime in this process (same flags and variables as `tendril start`).
    Start(Box<tendril::StartArgs>),
}

/// `grape identities …`.
#[derive(Debug, Subcommand)]
pub enum IdentitiesCommand {
    /// List the cloud identities, newest first.
    List,
    /// Add a cloud identity.
    #[command(subcommand)]
    Add(AddIdentityCommand),
    /// Show an identity with its cached discovery.
    Show(IdArg),
    /// Run a CONNECTION_TEST for the identity and show what it discovered.
    Test(IdArg),
    /// Refresh the identity's discovered resources (FETCH_RESOURCES).
    Refresh(IdArg),
}

/// `grape identities add …`.
#[derive(Debug, Subcommand)]
pub enum AddIdentityCommand {
    /// An AWS role that workers assume.
    Aws(AddAwsArgs),
    /// A GCP workload identity pool provider (optionally impersonating a service account).
    Gcp(AddGcpArgs),
    /// An Azure app registration with a federated credential.
    Azure(AddAzureArgs),
}

/// `grape identities add gcp`. Google's endpoints and the subject token file are the
/// worker's configuration (TENDRIL_GCP_*), never the identity's.
#[derive(Debug, Args)]
pub struct AddGcpArgs {
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// The project to work in, e.g. `acme-prod`.
    #[arg(long, value_name = "ID")]
    pub project_id: String,
    /// Its number, as the pool's audience names it.
    #[arg(long, value_name = "NUMBER")]
    pub project_number: String,
    /// The workload identity pool provider,
    /// `//iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER`
    /// (or give --external-account).
    #[arg(long, value_name = "AUDIENCE")]
    pub audience: Option<String>,
    /// The service account to impersonate, `NAME@PROJECT.iam.gserviceaccount.com`.
    #[arg(long, value_name = "EMAIL")]
    pub service_account: Option<String>,
    /// Where the worker takes the subject token: `aws` (its own AWS credentials) or `file`.
    #[arg(long, value_name = "SOURCE", default_value = "aws")]
    pub subject_token_source: String,
    /// The `external_account` JSON file `gcloud iam workload-identity-pools create-cred-config`
    /// wrote (its audience and service account are read; its credential source is refused).
    #[arg(long, value_name = "FILE")]
    pub external_account: Option<PathBuf>,
    /// A region to discover subnetworks in (repeatable; default: every region).
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
}

/// `grape identities add azure`. The authority host, Resource Manager URL and the assertion
/// file are the worker's configuration (TENDRIL_AZURE_*), never the identity's.
#[derive(Debug, Args)]
pub struct AddAzureArgs {
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// The Entra ID tenant (directory) id.
    #[arg(long, value_name = "GUID")]
    pub tenant_id: String,
    /// The application (client) id with the federated credential.
    #[arg(long, value_name = "GUID")]
    pub client_id: String,
    /// The subscription to work in.
    #[arg(long, value_name = "GUID")]
    pub subscription_id: String,
    /// Where the worker takes the client assertion: `file` or `aws`.
    #[arg(long, value_name = "SOURCE", default_value = "file")]
    pub assertion_source: String,
}

/// `grape identities add aws`.
#[derive(Debug, Args)]
pub struct AddAwsArgs {
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// The role to assume, `arn:aws:iam::ACCOUNT:role/NAME`.
    #[arg(long, value_name = "ARN")]
    pub role_arn: String,
    /// The external id the role's trust policy requires.
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// A region to discover resources in (repeatable; default: the worker's default). The
    /// AWS endpoint is the worker's configuration (TENDRIL_AWS_ENDPOINT_URL), never the
    /// identity's.
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
}

/// `grape plan DIR` / `grape destroy DIR`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The directory holding the `*.tf` files.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// A Terraform variable `name=value` (repeatable; visible in the job: give sensitive ones
    /// with --secret).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// A job secret (repeatable): `NAME=@FILE` (the file's content, less one trailing newline),
    /// `NAME=@-` (standard input) or `NAME` (the environment variable NAME) — never a value on
    /// the command line, where `ps` and your shell history would show it. Only the worker that
    /// runs the job gets the value; the job shows its name; its log masks it. A PLAN or DESTROY
    /// gets it as the Terraform variable NAME (as TF_VAR_NAME, never in a file).
    #[arg(long = "secret", value_name = "NAME=@FILE|NAME=@-|NAME")]
    pub secrets: Vec<String>,
    /// The state key (default: the directory's name).
    #[arg(long, value_name = "KEY")]
    pub state_key: Option<String>,
    /// The cloud identity the job runs as.
    #[arg(long, value_name = "ID")]
    pub identity: Option<String>,
    /// Run on this machine instead of a worker.
    #[arg(long)]
    pub local: bool,
}

/// `grape apply PLAN_JOB_ID`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The PLAN job whose reviewed plan to apply.
    #[arg(value_name = "PLAN_JOB_ID")]
    pub plan_job_id: String,
    /// Run on this machine instead of a worker.
    #[arg(long)]
    pub local: bool,
}

/// `grape completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
