//! `grape identities …`: cloud identities and their discovered resources.

use comfy_table::Cell;
use grape_api::{
    CachedDiscoveryError, CloudIdentity, CloudProvider, CreateIdentityRequest, Discovery,
    IdentitySettings, JobType, SubmitJobRequest,
};
use serde_json::{Map, Value, json};

use super::follow::{follow, outcome, print_outcome};
use super::{Ctx, parse_id};
use crate::cli::AddIdentityCommand;
use crate::error::{CliError, CliResult};
use crate::output::{BOLD, Printer, YELLOW, time_cell};

/// The settings of `grape identities add PROVIDER …`, as Trellis stores them.
fn identity_request(cmd: &AddIdentityCommand) -> CliResult<CreateIdentityRequest> {
    let mut settings = Map::new();
    let mut put = |k: &str, v: Value| {
        settings.insert(k.to_owned(), v);
    };
    let (name, provider) = match cmd {
        AddIdentityCommand::Aws(a) => {
            put("role_arn", json!(a.role_arn));
            if let Some(x) = &a.external_id {
                put("external_id", json!(x));
            }
            if !a.regions.is_empty() {
                put("regions", json!(a.regions));
            }
            (&a.name, CloudProvider::Aws)
        }
        AddIdentityCommand::Gcp(g) => {
            put("project_id", json!(g.project_id));
            put("project_number", json!(g.project_number));
            if let Some(a) = &g.audience {
                put("audience", json!(a));
            }
            if let Some(sa) = &g.service_account {
                put("service_account", json!(sa));
            }
            put("subject_token_source", json!(g.subject_token_source));
            if let Some(path) = &g.external_account {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
                let doc: Value = serde_json::from_str(&text)
                    .map_err(|e| CliError::usage(format!("{} is not JSON: {e}", path.display())))?;
                put("external_account", doc);
            }
            if !g.regions.is_empty() {
                put("regions", json!(g.regions));
            }
            (&g.name, CloudProvider::Gcp)
        }
        AddIdentityCommand::Azure(z) => {
            put("tenant_id", json!(z.tenant_id));
            put("client_id", json!(z.client_id));
            put("subscription_id", json!(z.subscription_id));
            put("assertion_source", json!(z.assertion_source));
            (&z.name, CloudProvider::Azure)
        }
    };
    Ok(CreateIdentityRequest {
        name: name.clone(),
        provider,
        settings: Value::Object(settings),
    })
}

/// `grape identities add aws|gcp|azure …`.
pub async fn add(ctx: &Ctx, cmd: &AddIdentityCommand) -> CliResult<()> {
    let request = identity_request(cmd)?;
    // The same checks as Trellis, so a mistake exits 2 before anything is sent.
    if let Err(e) = IdentitySettings::parse(&request.provider, &request.settings) {
        let hint = if e.invalid_role_arn {
            "give it as arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME".to_owned()
        } else {
            format!("see `grape identities add {} --help`", request.provider)
        };
        let field = e
            .field
            .as_deref()
            .map(|f| format!("{f}: "))
            .unwrap_or_default();
        let message = if e.message.contains(field.trim_end_matches(": ")) {
            e.message.clone()
        } else {
            format!("{field}{}", e.message)
        };
        return Err(CliError::usage(super::follow::sentence(message)).hint(hint));
    }
    let api = ctx.client()?;
    let identity = api
        .client
        .create_identity(&request)
        .await
        .map_err(|e| api.err(&e))?;
    if ctx.printer.json() {
        return ctx.printer.print_json(&identity);
    }
    ctx.printer.note(format!(
        "Added {} identity `{}`. Check it with: grape identities test {}",
        grape_provisioner::cloud::provider_label(&identity.provider),
        identity.name,
        identity.id
    ));
    println!("{}", identity.id);
    Ok(())
}

/// `grape identities list`.
pub async fn list(ctx: &Ctx) -> CliResult<()> {
    let api = ctx.client()?;
    let list = api
        .client
        .list_identities()
        .await
        .map_err(|e| api.err(&e))?;
    if ctx.printer.json() {
        return ctx.printer.print_json(&list.identities);
    }
    if list.identities.is_empty() {
        ctx.printer
            .note("No cloud identities. Add one with: grape identities add aws --help");
        return Ok(());
    }
    let mut t = ctx
        .printer
        .table(&["ID", "NAME", "PROVIDER", "TARGET", "DISCOVERED", "CREATED"]);
    for i in &list.identities {
        let target = ["role_arn", "project_id", "subscription_id"]
            .iter()
            .find_map(|k| i.settings.get(*k).and_then(Value::as_str))
            .unwrap_or("-");
        let discovered = if i.credentials.is_some() {
            time_cell(Some(&i.updated_at))
        } else {
            "never".to_owned()
        };
        t.add_row(vec![
            Cell::new(i.id),
            Cell::new(&i.name),
            Cell::new(&i.provider),
            Cell::new(target),
            Cell::new(discovered),
            Cell::new(time_cell(Some(&i.created_at))),
        ]);
    }
    println!("{t}");
    Ok(())
}

/// `grape identities show ID`.
pub async fn show(ctx: &Ctx, id: &str) -> CliResult<()> {
    let id = parse_id(id, "identity")?;
    let api = ctx.client()?;
    let identity = api
        .client
        .get_identity(id)
        .await
        .map_err(|e| api.err_about(&e, &format!("identity {id}")))?;
    if ctx.printer.json() {
        return ctx.printer.print_json(&identity);
    }
    print_identity(ctx.printer, &identity);
    print_discovery(&ctx.printer, identity.credentials.as_ref());
    Ok(())
}

/// `grape identities test ID` (CONNECTION_TEST) and `grape identities refresh ID`
/// (FETCH_RESOURCES): submit, follow, then print what the identity's cache now holds.
pub async fn run_discovery(ctx: &Ctx, id: &str, verify: bool) -> CliResult<()> {
    let id = parse_id(id, "identity")?;
    let api = ctx.client()?;
    // Fail early and clearly on an unknown identity.
    api.client
        .get_identity(id)
        .await
        .map_err(|e| api.err_about(&e, &format!("identity {id}")))?;
    let job_type = if verify {
        JobType::ConnectionTest
    } else {
        JobType::FetchResources
    };
    let request = SubmitJobRequest {
        job_type,
        payload: json!({ "cloud_identity_id": id }),
        cloud_identity_id: Some(id),
        team: None,
        labels: Vec::new(),
        secrets: grape_api::JobSecrets::new(),
    };
    let job = api
        .client
        .submit_job(&request)
        .await
        .map_err(|e| api.err(&e))?;
    ctx.printer
        .note(format!("Submitted {} job {}.", job.job_type, job.id));
    let done = follow(ctx, &api, job.id, !ctx.printer.json()).await?;
    print_outcome(&ctx.printer, &done);
    if done.status != grape_api::JobStatus::Success {
        if ctx.printer.json() {
            ctx.printer
                .print_json(&json!({ "job": done, "identity": Value::Null }))?;
        }
        return outcome(&done);
    }
    let identity = api
        .client
        .get_identity(id)
        .await
        .map_err(|e| api.err_about(&e, &format!("identity {id}")))?;
    if ctx.printer.json() {
        return ctx
            .printer
            .print_json(&json!({ "job": done, "identity": identity }));
    }
    if let Some(who) = done.result.as_ref().and_then(|r| r.get("identity")) {
        print_kv(ctx.printer, "Caller identity", who);
    }
    print_discovery(&ctx.printer, identity.credentials.as_ref());
    Ok(())
}

fn print_identity(p: Printer, i: &CloudIdentity) {
    let key = |k: &str| p.paint_out(BOLD, &format!("{k:<10}"));
    println!("{} {}", key("ID:"), i.id);
    println!("{} {}", key("Name:"), i.name);
    println!("{} {}", key("Provider:"), i.provider);
    println!("{} {}", key("Created:"), time_cell(Some(&i.created_at)));
    if let Value::Object(m) = &i.settings {
        for (k, v) in m {
            println!("{} {}", key(&format!("{k}:")), scalar(v));
        }
    }
}

fn print_kv(p: Printer, title: &str, v: &Value) {
    println!("{}", p.paint_out(BOLD, title));
    if let Value::Object(m) = v {
        for (k, v) in m {
            println!("  {k}: {}", scalar(v));
        }
    } else {
        println!("  {}", scalar(v));
    }
}

/// The resource lists of a discovery (grape-api's provider-neutral document), in the order
/// they are printed, with their titles: the common lists, then the provider's extras.
const SECTIONS: &[(&str, &str)] = &[
    ("/networks", "Networks"),
    ("/subnets", "Subnets"),
    ("/dns_zones", "DNS zones"),
    ("/aws/security_groups", "Security groups (AWS)"),
    ("/aws/iam_users", "IAM users (AWS)"),
];

/// Prints the cached discovery (`credentials.discovery`, or the document itself): who and where,
/// then one table per list of resources (columns from the scalar fields of its items), then
/// the calls that failed, if any. A document of an older format asks for a refresh.
pub fn print_discovery(p: &Printer, credentials: Option<&Value>) {
    let Some(doc) = credentials else {
        p.note("No discovered resources yet: run `grape identities test ID`.");
        return;
    };
    let discovery = doc.get("discovery").unwrap_or(doc);
    let Value::Object(fields) = discovery else {
        return;
    };
    if let Err(CachedDiscoveryError::Outdated { found }) = Discovery::from_cached(Some(discovery)) {
        p.note(format!(
            "The cached discovery is of an older format ({found}, this grape reads {}): run \
             `grape identities refresh ID`.",
            grape_api::DISCOVERY_FORMAT_VERSION
        ));
        return;
    }
    let key = |k: &str| p.paint_out(BOLD, &format!("{k:<14}"));
    for (name, label) in [
        ("provider", "Provider:"),
        ("discovered_at", "Discovered at:"),
        ("account", "Account:"),
        ("regions", "Regions:"),
    ] {
        if let Some(v) = fields.get(name).filter(|v| !v.is_null()) {
            println!("{} {}", key(label), scalar(v));
        }
    }
    for (pointer, heading) in SECTIONS {
        let Some(Value::Array(items)) = discovery.pointer(pointer) else {
            continue;
        };
        println!();
        println!("{} ({})", p.paint_out(BOLD, heading), items.len());
        if items.is_empty() {
            println!("  none");
            continue;
        }
        print_items(*p, items);
    }
    // The calls that failed: what they would have listed is missing above.
    if let Some(Value::Array(errors)) = fields.get("errors")
        && !errors.is_empty()
    {
        println!();
        println!(
            "{} ({})",
            p.paint_out(YELLOW, "Calls that failed"),
            errors.len()
        );
        print_items(*p, errors);
    }
}

/// A table of `items` (objects), or one line per item when they have no scalar fields.
fn print_items(p: Printer, items: &[Value]) {
    let columns = columns_of(items);
    if columns.is_empty() {
        for item in items {
            println!("  {}", scalar(item));
        }
        return;
    }
    let header: Vec<String> = columns.iter().map(|c| c.to_ascii_uppercase()).collect();
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut t = p.table(&header_refs);
    for item in items {
        t.add_row(
            columns
                .iter()
                .map(|c| Cell::new(item.get(c).map_or_else(|| "-".to_owned(), scalar))),
        );
    }
    p.print_table(&t);
}

/// The scalar fields of the items: `id` and `name` first, then the others by name (at most 7).
fn columns_of(items: &[Value]) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    for item in items {
        if let Value::Object(m) = item {
            for (k, v) in m {
                let flat = match v {
                    Value::Object(_) => false,
                    Value::Array(a) => a.iter().all(|x| !x.is_object() && !x.is_array()),
                    _ => true,
                };
                if flat && !cols.contains(k) {
                    cols.push(k.clone());
                }
            }
        }
    }
    let rank = |c: &String| match c.as_str() {
        "id" => 0,
        "name" => 1,
        _ => 2,
    };
    cols.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    cols.truncate(7);
    cols
}

/// A JSON value as table text.
fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(scalar).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_and_titles() {
        let items = vec![
            json!({"id": "vpc-1", "cidr_blocks": ["10.0.0.0/16"], "tags": {}}),
            json!({"id": "vpc-2", "is_default": true, "nested": [{"a": 1}]}),
        ];
        assert_eq!(columns_of(&items), vec!["id", "cidr_blocks", "is_default"]);
        assert_eq!(scalar(&json!(["a", "b"])), "a, b");
    }
}
