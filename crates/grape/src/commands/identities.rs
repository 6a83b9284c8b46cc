//! `grape identities …`: cloud identities and their discovered resources.

use comfy_table::Cell;
use grape_api::{
    CloudIdentity, CloudProvider, CreateIdentityRequest, IdentitySettings, JobType,
    SubmitJobRequest,
};
use serde_json::{Map, Value, json};

use super::follow::{follow, outcome, print_outcome};
use super::{Ctx, parse_id};
use crate::cli::AddIdentityCommand;
use crate::error::{CliError, CliResult};
use crate::output::{BOLD, Printer, YELLOW, time_cell};

/// `grape identities add aws …`.
pub async fn add(ctx: &Ctx, cmd: &AddIdentityCommand) -> CliResult<()> {
    let AddIdentityCommand::Aws(a) = cmd;
    let mut settings = Map::new();
    settings.insert("role_arn".into(), json!(a.role_arn));
    if let Some(x) = &a.external_id {
        settings.insert("external_id".into(), json!(x));
    }
    if !a.regions.is_empty() {
        settings.insert("regions".into(), json!(a.regions));
    }
    let request = CreateIdentityRequest {
        name: a.name.clone(),
        provider: CloudProvider::Aws,
        settings: Value::Object(settings),
    };
    // The same checks as Trellis, so a mistake exits 2 before anything is sent.
    if let Err(e) = IdentitySettings::parse(&request.provider, &request.settings) {
        let hint = if e.invalid_role_arn {
            "give it as arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME"
        } else {
            "see `grape identities add aws --help`"
        };
        return Err(CliError::usage(super::follow::sentence(e.message)).hint(hint));
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
        "Added AWS identity `{}`. Check it with: grape identities test {}",
        identity.name, identity.id
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

/// The resource lists of a discovery, in the order they are printed, with their titles.
const SECTIONS: &[(&str, &str)] = &[
    ("vpcs", "VPCs"),
    ("subnets", "Subnets"),
    ("security_groups", "Security groups"),
    ("hosted_zones", "Hosted zones"),
    ("iam_users", "IAM users"),
];

/// Prints the cached discovery (`credentials.discovery`, or the document itself): who and where,
/// then one table per list of resources (columns from the scalar fields of its items), then
/// the calls that failed, if any.
pub fn print_discovery(p: &Printer, credentials: Option<&Value>) {
    let Some(doc) = credentials else {
        p.note("No discovered resources yet: run `grape identities test ID`.");
        return;
    };
    let discovery = doc.get("discovery").unwrap_or(doc);
    let Value::Object(fields) = discovery else {
        return;
    };
    let key = |k: &str| p.paint_out(BOLD, &format!("{k:<14}"));
    for (name, label) in [
        ("discovered_at", "Discovered at:"),
        ("account", "Account:"),
        ("regions", "Regions:"),
    ] {
        if let Some(v) = fields.get(name).filter(|v| !v.is_null()) {
            println!("{} {}", key(label), scalar(v));
        }
    }
    let known = SECTIONS
        .iter()
        .map(|(name, title)| (*name, (*title).to_owned()));
    let others = fields
        .keys()
        .filter(|k| {
            !SECTIONS.iter().any(|(n, _)| n == k)
                && !["errors", "regions"].contains(&k.as_str())
                && fields[k.as_str()].is_array()
        })
        .map(|k| (k.as_str(), title(k)));
    for (name, heading) in known.chain(others) {
        let Some(Value::Array(items)) = fields.get(name) else {
            continue;
        };
        println!();
        println!("{} ({})", p.paint_out(BOLD, &heading), items.len());
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

/// `security_groups` → `Security groups`.
fn title(name: &str) -> String {
    let s = name.replace('_', " ");
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| {
        f.to_uppercase().collect::<String>() + c.as_str()
    })
}

/// The scalar fields of the items: `id` and `name` first, then the others by name (at most 7).
fn columns_of(items: &[Value]) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    for item in items {
        if let Value::Object(m) = item {
            for (k, v) in m {
                if !v.is_object() && !v.is_array() && !cols.contains(k) {
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
            json!({"id": "vpc-1", "cidr": "10.0.0.0/16", "tags": {}}),
            json!({"id": "vpc-2", "is_default": true}),
        ];
        assert_eq!(columns_of(&items), vec!["id", "cidr", "is_default"]);
        assert_eq!(title("security_groups"), "Security groups");
        assert_eq!(scalar(&json!(["a", "b"])), "a, b");
    }
}
