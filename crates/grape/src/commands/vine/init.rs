//! `grape vine init`: writes a commented vine.yaml. Flags give every value; on a terminal the
//! missing ones are asked for — the identity from `grape identities list`, an existing network
//! from that identity's cached discovery. The text written is parsed back before it is saved,
//! so a bad value exits 2 naming its field and nothing is written.

use std::io::{BufRead, IsTerminal, Write};

use grape_api::{CloudIdentity, Discovery};
use grape_provisioner::vine::{self, CloudProvider, Format};
use serde_json::{Value, json};

use crate::cli::VineInitArgs;
use crate::commands::Ctx;
use crate::error::{CliError, CliResult};

/// The values a vine.yaml is written from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitValues {
    /// `project_name`.
    pub project: String,
    /// `environment_stage`.
    pub environment: String,
    /// `provider`.
    pub provider: CloudProvider,
    /// `region`.
    pub region: String,
    /// `cloud_identity_id`.
    pub identity: String,
    /// `network.network_id`, or a new network.
    pub network_id: Option<String>,
    /// `cluster.cluster_version`.
    pub cluster_version: String,
    /// `cluster.instance_types`.
    pub instance_types: Vec<String>,
}

/// `grape vine init`.
pub async fn run(ctx: &Ctx, args: &VineInitArgs) -> CliResult<()> {
    if args.out.exists() && !args.force {
        return Err(CliError::usage(format!("{} exists.", args.out.display()))
            .hint("pass --force to overwrite it, or --out another file"));
    }
    let interactive = !args.no_input && std::io::stdin().is_terminal();
    let values = if interactive {
        ask(ctx, args).await?
    } else {
        from_flags(args)?
    };
    let text = vine_yaml(&values);
    let format = Format::from_file_name(&args.out.to_string_lossy());
    let text = if format == Format::Json {
        let doc = vine::parse_document(&text, Format::Yaml)
            .map_err(|e| CliError::failed(format!("{e}.")))?;
        serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
    } else {
        text
    };
    let checked = vine::parse_vine(&text, format).map_err(|e| {
        CliError::usage(format!("the vine would not be valid: {e}."))
            .hint("`grape vine schema` says what each field allows")
    })?;
    std::fs::write(&args.out, &text).map_err(|e| {
        CliError::failed(format!("cannot write {}: {e}.", args.out.display()))
            .hint("check that the directory is writable")
    })?;
    if ctx.printer.json() {
        ctx.printer
            .print_json(&json!({ "file": args.out, "vine": checked }))?;
    } else {
        ctx.printer.note(format!(
            "Wrote {}. Next: grape vine plan {}",
            args.out.display(),
            args.out.display()
        ));
    }
    Ok(())
}

/// The values from flags alone; what is missing is named.
fn from_flags(args: &VineInitArgs) -> CliResult<InitValues> {
    let missing: Vec<&str> = [
        ("--project", args.project.is_none()),
        ("--environment", args.environment.is_none()),
        ("--provider", args.provider.is_none()),
        ("--region", args.region.is_none()),
        ("--identity", args.identity.is_none()),
    ]
    .into_iter()
    .filter_map(|(flag, absent)| absent.then_some(flag))
    .collect();
    if !missing.is_empty() {
        return Err(CliError::usage(format!(
            "grape vine init needs {} when it cannot ask (no terminal, or --no-input).",
            missing.join(", ")
        ))
        .hint("give the flags, or run it on a terminal to be asked"));
    }
    let provider = parse_provider(args.provider.as_deref().unwrap_or_default())?;
    Ok(InitValues {
        project: args.project.clone().unwrap_or_default(),
        environment: args.environment.clone().unwrap_or_default(),
        provider,
        region: args.region.clone().unwrap_or_default(),
        identity: args.identity.clone().unwrap_or_default(),
        network_id: args.network_id.clone(),
        cluster_version: args
            .cluster_version
            .clone()
            .unwrap_or_else(|| DEFAULT_CLUSTER_VERSION.into()),
        instance_types: instance_types(args, provider),
    })
}

/// The Kubernetes version a new vine starts with.
const DEFAULT_CLUSTER_VERSION: &str = "1.31";

fn parse_provider(text: &str) -> CliResult<CloudProvider> {
    CloudProvider::ALL
        .into_iter()
        .find(|p| p.as_str() == text.trim().to_ascii_lowercase())
        .ok_or_else(|| {
            CliError::usage(format!("`{text}` is not a provider.")).hint("use aws, gcp or azure")
        })
}

fn default_region(provider: CloudProvider) -> &'static str {
    match provider {
        CloudProvider::Aws => "eu-west-1",
        CloudProvider::Gcp => "europe-west1",
        CloudProvider::Azure => "westeurope",
    }
}

fn instance_types(args: &VineInitArgs, provider: CloudProvider) -> Vec<String> {
    if !args.instance_types.is_empty() {
        return args.instance_types.clone();
    }
    let default = match provider {
        CloudProvider::Aws => "m5.large",
        CloudProvider::Gcp => "e2-standard-4",
        CloudProvider::Azure => "Standard_D4s_v5",
    };
    vec![default.to_owned()]
}

/// Asks on the terminal for every value the flags did not give.
async fn ask(ctx: &Ctx, args: &VineInitArgs) -> CliResult<InitValues> {
    let mut prompt = Prompt::stdin();
    let project = match &args.project {
        Some(p) => p.clone(),
        None => prompt.line("Project name (lowercase letters, digits, '-')", None)?,
    };
    let environment = match &args.environment {
        Some(e) => e.clone(),
        None => prompt.line("Environment stage", Some("dev"))?,
    };
    let provider = match &args.provider {
        Some(p) => parse_provider(p)?,
        None => loop {
            let text = prompt.line("Cloud provider (aws, gcp, azure)", Some("aws"))?;
            match parse_provider(&text) {
                Ok(p) => break p,
                Err(_) => eprintln!("  `{text}` is not aws, gcp or azure"),
            }
        },
    };
    let region = match &args.region {
        Some(r) => r.clone(),
        None => prompt.line("Region", Some(default_region(provider)))?,
    };
    let identities = known_identities(ctx, provider).await;
    let (identity, cached) = match &args.identity {
        Some(id) => {
            let cached = identities.iter().find(|i| i.id.to_string() == *id).cloned();
            (id.clone(), cached)
        }
        None => choose_identity(&mut prompt, &identities)?,
    };
    let network_id = match &args.network_id {
        Some(n) => Some(n.clone()),
        None => choose_network(&mut prompt, cached.as_ref(), &region)?,
    };
    Ok(InitValues {
        project,
        environment,
        provider,
        region,
        identity,
        network_id,
        cluster_version: args
            .cluster_version
            .clone()
            .unwrap_or_else(|| DEFAULT_CLUSTER_VERSION.into()),
        instance_types: instance_types(args, provider),
    })
}

/// The identities of `provider` Trellis knows, when it can be reached (else none: asked by id).
async fn known_identities(ctx: &Ctx, provider: CloudProvider) -> Vec<CloudIdentity> {
    let Ok(api) = ctx.client() else {
        return Vec::new();
    };
    let Ok(list) = api.client.list_identities().await else {
        eprintln!("  (Trellis cannot be reached: give the identity's id)");
        return Vec::new();
    };
    // The list carries each identity's cached discovery (`credentials`) too.
    list.identities
        .into_iter()
        .filter(|i| i.provider.to_string().to_ascii_lowercase() == provider.as_str())
        .collect()
}

fn choose_identity(
    prompt: &mut Prompt,
    identities: &[CloudIdentity],
) -> CliResult<(String, Option<CloudIdentity>)> {
    if identities.is_empty() {
        let id = prompt.line("Cloud identity id (see `grape identities list`)", None)?;
        return Ok((id, None));
    }
    eprintln!("Cloud identities:");
    for (n, identity) in identities.iter().enumerate() {
        eprintln!("  {}) {}  {}", n + 1, identity.name, identity.id);
    }
    loop {
        let text = prompt.line("Cloud identity (number or id)", Some("1"))?;
        let picked = text.parse::<usize>().ok().and_then(|n| n.checked_sub(1));
        if let Some(identity) = picked.and_then(|i| identities.get(i)) {
            return Ok((identity.id.to_string(), Some(identity.clone())));
        }
        if let Some(identity) = identities.iter().find(|i| i.id.to_string() == text) {
            return Ok((text, Some(identity.clone())));
        }
        if uuid::Uuid::parse_str(&text).is_ok() {
            return Ok((text, None));
        }
        eprintln!("  `{text}` is neither a number from the list nor an identity id");
    }
}

/// A new network, or one of the networks of `region` in the identity's cached discovery.
fn choose_network(
    prompt: &mut Prompt,
    identity: Option<&CloudIdentity>,
    region: &str,
) -> CliResult<Option<String>> {
    let networks = cached_networks(identity, region);
    if networks.is_empty() {
        let text = prompt.line(
            "Existing network id (empty: create a new network)",
            Some(""),
        )?;
        return Ok(Some(text).filter(|t| !t.is_empty()));
    }
    eprintln!("Networks of {region} in the identity's discovery:");
    eprintln!("  0) a new network ({})", vine::DEFAULT_CIDR_BLOCK);
    for (n, (id, label)) in networks.iter().enumerate() {
        eprintln!("  {}) {id}  {label}", n + 1);
    }
    loop {
        let text = prompt.line("Network (number)", Some("0"))?;
        match text.parse::<usize>() {
            Ok(0) => return Ok(None),
            Ok(n) if n <= networks.len() => return Ok(Some(networks[n - 1].0.clone())),
            _ => eprintln!("  `{text}` is not a number from 0 to {}", networks.len()),
        }
    }
}

/// `(id, "name cidr")` of the networks of `region` (and the global ones) in the cached
/// discovery; none when it is missing or of an older format.
fn cached_networks(identity: Option<&CloudIdentity>, region: &str) -> Vec<(String, String)> {
    let Some(doc) = identity.and_then(|i| Discovery::from_cached(i.credentials.as_ref()).ok())
    else {
        return Vec::new();
    };
    doc.networks
        .into_iter()
        .filter(|n| n.region.as_deref().is_none_or(|r| r == region))
        .map(|n| {
            let label = format!("{} {}", n.name.unwrap_or_default(), n.cidr_blocks.join(","));
            (n.id, label.trim().to_owned())
        })
        .collect()
}

/// Line prompts on stderr, answers from stdin.
struct Prompt {
    input: Box<dyn BufRead>,
}

impl Prompt {
    fn stdin() -> Self {
        Self {
            input: Box::new(std::io::BufReader::new(std::io::stdin())),
        }
    }

    /// Asks until an answer (or the default) is given.
    fn line(&mut self, question: &str, default: Option<&str>) -> CliResult<String> {
        loop {
            match default {
                Some(d) if !d.is_empty() => eprint!("{question} [{d}]: "),
                _ => eprint!("{question}: "),
            }
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            let read = self.input.read_line(&mut answer).map_err(|e| {
                CliError::usage(format!("cannot read the answer: {e}.")).hint("give the flags")
            })?;
            if read == 0 {
                return Err(CliError::usage("no answer: the input ended.")
                    .hint("give the values as flags (see grape vine init --help)"));
            }
            let answer = answer.trim();
            if !answer.is_empty() {
                return Ok(answer.to_owned());
            }
            if let Some(d) = default {
                return Ok(d.to_owned());
            }
        }
    }
}

/// A quoted YAML scalar (JSON strings are YAML).
fn q(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

/// The commented vine.yaml of `v`.
pub fn vine_yaml(v: &InitValues) -> String {
    let admins = match v.provider {
        CloudProvider::Aws => "IAM user or role ARNs",
        CloudProvider::Gcp => "e-mail addresses",
        CloudProvider::Azure => "Entra ID object ids",
    };
    let network = match &v.network_id {
        Some(id) => format!(
            "network:\n  # An existing network: the cluster uses its private subnets.\n  network_id: {}\n",
            q(id)
        ),
        None => format!(
            "network:\n  # A new network for this vine (or network_id: an existing one).\n  cidr_block: {}\n  # single_nat_gateway: true   # one NAT gateway instead of one per zone (AWS)\n",
            vine::DEFAULT_CIDR_BLOCK
        ),
    };
    let types: Vec<String> = v.instance_types.iter().map(|t| q(t)).collect();
    format!(
        "# A vine: one environment of a project. `grape vine schema` documents every field;\n\
         # `grape vine plan {file}` plans it, `grape vine render` shows the Terraform it becomes.\n\
         project_name: {project}\n\
         environment_stage: {env}\n\
         provider: {provider}\n\
         region: {region}\n\
         # The cloud identity the worker provisions as (`grape identities list`).\n\
         cloud_identity_id: {identity}\n\
         cluster:\n  \
           cluster_version: {version}   # quoted: 1.30 unquoted would be the number 1.3\n  \
           instance_types: [{types}]\n  \
           node_min_size: 1\n  \
           node_max_size: 3\n  \
           node_desired_size: 2\n  \
           # cluster_admins: []   # {admins}\n\
         {network}\
         dns:\n  \
           enabled: false\n  \
           # domain_name: dev.example.com\n\
         # repositories:\n\
         #   apps_destination_repo: https://github.com/acme/apps.git\n",
        file = "vine.yaml",
        project = q(&v.project),
        env = q(&v.environment),
        provider = v.provider.as_str(),
        region = q(&v.region),
        identity = q(&v.identity),
        version = q(&v.cluster_version),
        types = types.join(", "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(network_id: Option<&str>) -> InitValues {
        InitValues {
            project: "web".into(),
            environment: "dev".into(),
            provider: CloudProvider::Aws,
            region: "eu-west-1".into(),
            identity: "5b0c8f3e-4a7d-4a51-9e0b-1f6a2c7d9e10".into(),
            network_id: network_id.map(String::from),
            cluster_version: "1.31".into(),
            instance_types: vec!["m5.large".into()],
        }
    }

    #[test]
    fn the_written_file_is_a_valid_vine() {
        for network in [None, Some("vpc-0abc1234")] {
            let text = vine_yaml(&values(network));
            let parsed = vine::parse_vine(&text, Format::Yaml).unwrap_or_else(|e| {
                panic!("{e}\n{text}");
            });
            assert_eq!(parsed.network.network_id.as_deref(), network);
            assert_eq!(parsed.cluster.cluster_version, "1.31");
        }
    }

    #[test]
    fn a_bad_value_is_caught_by_the_parser() {
        let mut v = values(None);
        v.project = "Web_App".into();
        let err = vine::parse_vine(&vine_yaml(&v), Format::Yaml).unwrap_err();
        assert!(err.to_string().contains("project_name"), "{err}");
    }
}
