//! `grape cluster bootstrap`: a vine's platform (ArgoCD, the apps repository credential, the
//! platform's Applications) on a cluster that exists already — a BOOTSTRAP job.
//!
//! Through a worker the cluster is named (`--cluster-name`, `--endpoint`, `--ca-file`: nothing
//! secret) and the worker mints its token from the vine's identity; no kubeconfig travels.
//! `--local --kubeconfig FILE [--context NAME]` runs here against the kubeconfig's cluster with
//! its user's token.

use grape_api::{JobSecrets, JobType};
use grape_provisioner::{DirectCluster, VINE_FIELD, read_kubeconfig};
use serde_json::{Value, json};

use super::super::Ctx;
use super::super::terraform::{run_job, submit};
use super::read_vine;
use crate::cli::ClusterBootstrapArgs;
use crate::error::{CliError, CliResult};
use crate::output::Printer;

/// `grape cluster bootstrap`.
pub async fn run(ctx: &Ctx, args: &ClusterBootstrapArgs) -> CliResult<()> {
    let vine = read_vine(&args.vine)?;
    let vine_value = serde_json::to_value(&vine)
        .map_err(|e| CliError::failed(format!("cannot encode the vine: {e}.")))?;
    let identity = Some(vine.cloud_identity_id);
    let (cluster, local_cluster) = if args.local {
        let (cluster, local) = from_kubeconfig(args)?;
        (cluster, Some(local))
    } else {
        (named_cluster(args)?, None)
    };
    let payload = json!({ VINE_FIELD: vine_value, "cluster": cluster });
    if args.detach {
        submit(
            ctx,
            JobType::Bootstrap,
            payload,
            identity,
            JobSecrets::new(),
            false,
        )
        .await?;
        return Ok(());
    }
    let job = if let Some(local) = local_cluster {
        let job = super::super::local::run_on(
            &ctx.printer,
            JobType::Bootstrap,
            payload,
            identity,
            JobSecrets::new(),
            Some(local),
        )
        .await?;
        super::super::local::outcome(&job)?;
        job
    } else {
        run_job(
            ctx,
            JobType::Bootstrap,
            payload,
            identity,
            JobSecrets::new(),
            false,
        )
        .await?
    };
    if !ctx.printer.json() {
        print_platform(&ctx.printer, job.result.as_ref());
    }
    Ok(())
}

/// The cluster named on the command line (through a worker).
fn named_cluster(args: &ClusterBootstrapArgs) -> CliResult<Value> {
    let missing = |flag: &str, what: &str| {
        CliError::usage(format!("{flag} is required: {what}."))
            .hint("or bootstrap a cluster of your kubeconfig with --local --kubeconfig FILE")
    };
    let name = args.cluster_name.as_deref().ok_or_else(|| {
        missing(
            "--cluster-name",
            "the worker mints the cluster's token for it",
        )
    })?;
    let endpoint = args
        .endpoint
        .as_deref()
        .ok_or_else(|| missing("--endpoint", "the API server's https:// URL"))?;
    let ca_file = args
        .ca_file
        .as_ref()
        .ok_or_else(|| missing("--ca-file", "a PEM file of the API server's CA"))?;
    let ca = std::fs::read_to_string(ca_file).map_err(|e| {
        CliError::usage(format!("cannot read {}: {e}.", ca_file.display()))
            .hint("--ca-file names a PEM file of the API server's CA")
    })?;
    Ok(json!({
        "name": name,
        "endpoint": endpoint,
        "ca_certificate": ca,
        "account_id": args.account_id,
        "network_id": args.network_id,
    }))
}

/// The cluster and token of the kubeconfig (`--local`).
fn from_kubeconfig(args: &ClusterBootstrapArgs) -> CliResult<(Value, DirectCluster)> {
    let path = args.kubeconfig.as_ref().ok_or_else(|| {
        CliError::usage("--local needs --kubeconfig FILE.").hint("the kubeconfig of the cluster")
    })?;
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::usage(format!(
            "cannot read the kubeconfig {}: {e}.",
            path.display()
        ))
        .hint("--kubeconfig names a kubeconfig file")
    })?;
    let found = read_kubeconfig(&text, path, args.context.as_deref()).map_err(|e| {
        CliError::usage(format!("{}: {e}.", path.display()))
            .hint("--context picks another context of the file")
    })?;
    found
        .access()
        .map_err(|e| CliError::usage(format!("{}: {e}.", path.display())))?;
    let name = args
        .cluster_name
        .clone()
        .unwrap_or_else(|| found.name.clone());
    let cluster = json!({
        "name": name,
        "endpoint": found.endpoint,
        "ca_certificate": found.ca_pem,
        "account_id": args.account_id,
        "network_id": args.network_id,
    });
    Ok((
        cluster,
        DirectCluster {
            endpoint: found.endpoint,
            ca_pem: found.ca_pem,
            token: found.token,
        },
    ))
}

/// What a finished BOOTSTRAP (or vine APPLY) made: the Applications, ArgoCD's address and
/// where its admin password is (never the password).
pub fn print_platform(printer: &Printer, result: Option<&Value>) {
    let Some(result) = result else { return };
    if let Some(apps) = result["applications"].as_array() {
        let mut t = printer.table(&["APPLICATION", "SYNC", "HEALTH"]);
        for app in apps {
            t.add_row(vec![
                app["name"].as_str().unwrap_or("?"),
                app["sync"].as_str().unwrap_or("Unknown"),
                app["health"].as_str().unwrap_or("Unknown"),
            ]);
        }
        printer.print_table(&t);
    }
    match (
        result["argocd_url"].as_str(),
        result["argocd_access"].as_str(),
    ) {
        (Some(url), _) => printer.note(format!("ArgoCD: {url}")),
        (None, Some(hint)) => printer.note(format!("ArgoCD: {hint}")),
        (None, None) => {}
    }
    if let Some(secret) = result["argocd_admin_secret"]["name"].as_str() {
        printer.note(format!(
            "ArgoCD's initial admin password is in Secret {}/{secret} (key `password`); it is never printed",
            result["argocd_admin_secret"]["namespace"].as_str().unwrap_or("argocd")
        ));
    }
}
