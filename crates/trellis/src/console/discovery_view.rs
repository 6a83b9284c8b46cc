//! The cached discovery document of a cloud identity as tables. The document is read as a
//! `serde_json::Value`, here only, so a change of its format touches this module alone; missing
//! keys are tolerated (shown as "—" or left out); a document of an older format asks for a
//! refresh instead of being guessed at.
//!
//! Format 3 (provider-neutral): `{format_version: 3, provider, discovered_at, account, regions,
//! networks: [{id, name, region, cidr_blocks, is_default}], subnets: [{id, name, network_id,
//! region, zone, cidr, public, available_ips}], dns_zones: [{id, name, private, record_count}],
//! errors: [{service, operation, region, kind, message}], aws?: {security_groups: [{id, name,
//! network_id, region, description}], iam_users: [{name, arn, id, created}]}}`.

use grape_api::DISCOVERY_FORMAT_VERSION;
use maud::{Markup, html};
use serde_json::Value;

/// What the provider calls the `account` it lists.
fn account_word(provider: &Value) -> &'static str {
    match provider.as_str() {
        Some("gcp") => "project",
        Some("azure") => "subscription",
        _ => "account",
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "—".to_owned(),
        Value::String(s) if s.is_empty() => "—".to_owned(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(text).collect();
            if parts.is_empty() {
                "—".to_owned()
            } else {
                parts.join(", ")
            }
        }
        other => other.to_string(),
    }
}

/// A table of `rows` (objects) with `(key, heading)` columns; nothing when there are no rows.
fn table(id: &str, title: &str, rows: &Value, columns: &[(&str, &str)]) -> Markup {
    let rows = rows.as_array().cloned().unwrap_or_default();
    html! {
        section class="panel" aria-labelledby={ (id) "-h" } {
            h3 id={ (id) "-h" } { (title) " (" (rows.len()) ")" }
            @if rows.is_empty() { p class="muted" { "None found." } }
            @else {
                table class="cards" id=(id) {
                    caption class="sr-only" { (title) }
                    thead { tr { @for (_, h) in columns { th scope="col" { (h) } } } }
                    tbody { @for r in &rows { tr {
                        @for (i, (k, h)) in columns.iter().enumerate() {
                            @if i == 0 { th scope="row" data-label=(h) { code class="wrap" { (text(&r[*k])) } } }
                            @else { td data-label=(h) { (text(&r[*k])) } }
                        }
                    } } }
                }
            }
        }
    }
}

/// The discovery of an identity's `credentials` (`{discovery, identity?, job_id,
/// discovered_at}`), or a note that there is none yet.
pub fn render(credentials: Option<&Value>) -> Markup {
    let Some(doc) = credentials
        .map(|c| &c["discovery"])
        .filter(|d| d.is_object())
    else {
        return html! { p class="muted" id="no-discovery" { "No discovery cached yet: press “Refresh resources” (or “Test connection”)." } };
    };
    let fetched = doc["discovered_at"]
        .as_str()
        .or_else(|| credentials.and_then(|c| c["discovered_at"].as_str()))
        .unwrap_or("an unknown time");
    let version = &doc["format_version"];
    if version.as_u64() != Some(u64::from(DISCOVERY_FORMAT_VERSION)) {
        return html! {
            p class="muted" id="no-discovery" {
                "The cached discovery (fetched at " (fetched) ") is of an older format ("
                (text(version)) "; this console reads format " (DISCOVERY_FORMAT_VERSION)
                "): press “Refresh resources”."
            }
        };
    }
    let aws = &doc["aws"];
    let caller = credentials
        .and_then(|c| c["identity"].as_object())
        .filter(|o| !o.is_empty());
    html! {
        p id="discovery-meta" {
            "Fetched at " time datetime=(fetched) { (fetched) }
            " · provider " (text(&doc["provider"]))
            " · " (account_word(&doc["provider"])) " " (text(&doc["account"]))
            " · regions " (text(&doc["regions"]))
        }
        @if let Some(caller) = caller {
            section class="panel" aria-labelledby="d-caller-h" {
                h3 id="d-caller-h" { "Signed in as" }
                dl class="facts" id="d-caller" {
                    @for (k, v) in caller { dt { (k) } dd { code class="wrap" { (text(v)) } } }
                }
            }
        }
        (table("d-networks", "Networks", &doc["networks"], &[
            ("id", "Id"), ("name", "Name"), ("region", "Region"), ("cidr_blocks", "CIDR blocks"), ("is_default", "Default"),
        ]))
        (table("d-subnets", "Subnets", &doc["subnets"], &[
            ("id", "Id"), ("name", "Name"), ("network_id", "Network"), ("region", "Region"), ("zone", "Zone"), ("cidr", "CIDR"),
            ("public", "Public"), ("available_ips", "Free IPs"),
        ]))
        (table("d-zones", "DNS zones", &doc["dns_zones"], &[
            ("id", "Id"), ("name", "Name"), ("private", "Private"), ("record_count", "Records"),
        ]))
        @if aws.is_object() {
            (table("d-sgs", "Security groups", &aws["security_groups"], &[
                ("id", "Id"), ("name", "Name"), ("network_id", "Network"), ("region", "Region"), ("description", "Description"),
            ]))
            (table("d-iam", "IAM users", &aws["iam_users"], &[
                ("name", "Name"), ("arn", "ARN"), ("created", "Created"),
            ]))
        }
        @if doc["errors"].as_array().is_some_and(|e| !e.is_empty()) {
            (table("d-errors", "Errors while discovering", &doc["errors"], &[
                ("service", "Service"), ("operation", "Operation"), ("region", "Region"), ("kind", "Kind"), ("message", "Message"),
            ]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::render;
    use serde_json::json;

    #[test]
    fn format_3_becomes_tables_and_missing_keys_are_tolerated() {
        let creds = json!({"discovery": {"format_version": 3, "provider": "aws", "discovered_at": "2026-12-01T10:00:00Z",
            "account": "123456789012", "regions": ["eu-west-1"],
            "networks": [{"id": "vpc-1", "name": null, "region": "eu-west-1", "cidr_blocks": ["10.0.0.0/16"], "is_default": true}],
            "subnets": [{"id": "subnet-1", "public": false}],
            "errors": [{"service": "route53", "operation": "ListHostedZones", "kind": "denied", "message": "no <access>"}]}});
        let html = render(Some(&creds)).into_string();
        assert!(
            html.contains("vpc-1") && html.contains("10.0.0.0/16") && html.contains("subnet-1"),
            "{html}"
        );
        assert!(
            html.contains("DNS zones (0)") && html.contains("no &lt;access&gt;"),
            "{html}"
        );
        assert!(!html.contains("Security groups"));
        assert!(render(None).into_string().contains("No discovery"));
        let old = render(Some(
            &json!({"discovery": {"format_version": 2, "vpcs": []}}),
        ))
        .into_string();
        assert!(
            old.contains("older format (2") && !old.contains("Networks"),
            "{old}"
        );
        assert!(
            render(Some(&json!({"discovery": {"format_version": 3}})))
                .into_string()
                .contains("Networks (0)")
        );
    }

    #[test]
    fn gcp_and_azure_documents_show_their_networks_subnets_zones_and_errors() {
        let gcp = json!({"identity": {"service_account": "vintner@acme-prod.iam.gserviceaccount.com"},
            "discovery": {"format_version": 3, "provider": "gcp", "discovered_at": "2026-12-01T10:00:00Z",
            "account": "acme-prod", "regions": ["europe-west1", "us-central1"],
            "networks": [{"id": "net-1", "name": "net-1", "region": null, "cidr_blocks": [], "is_default": false}],
            "subnets": [{"id": "net-1-europe-west1", "name": "net-1-europe-west1", "network_id": "net-1",
                "region": "europe-west1", "zone": null, "cidr": "10.1.0.0/20", "public": false, "available_ips": null}],
            "dns_zones": [{"id": "1001", "name": "z1.example.com.", "private": false, "record_count": null}],
            "errors": [{"service": "compute", "operation": "compute.subnetworks.aggregatedList", "region": "asia-east1",
                "kind": "ACCESS_DENIED", "message": "Required 'compute.subnetworks.list' permission"}]}});
        let html = render(Some(&gcp)).into_string();
        for want in [
            "project acme-prod",
            "net-1-europe-west1",
            "<td data-label=\"Region\">europe-west1</td>",
            "z1.example.com.",
            "Errors while discovering (1)",
            "compute.subnetworks.aggregatedList",
            "vintner@acme-prod.iam.gserviceaccount.com",
        ] {
            assert!(html.contains(want), "{want} in {html}");
        }
        assert!(!html.contains("Security groups"));

        let vnet = "/subscriptions/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/resourceGroups/platform/providers/Microsoft.Network/virtualNetworks/vnet-1";
        let azure = json!({"discovery": {"format_version": 3, "provider": "azure", "discovered_at": "2026-12-01T10:00:00Z",
            "account": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "regions": ["northeurope"],
            "networks": [{"id": vnet, "name": "vnet-1", "region": "northeurope", "cidr_blocks": ["10.1.0.0/16"], "is_default": false}],
            "subnets": [{"id": format!("{vnet}/subnets/nodes"), "name": "nodes", "network_id": vnet, "region": "northeurope",
                "zone": null, "cidr": "10.1.1.0/24", "public": false, "available_ips": null}],
            "dns_zones": [{"id": "z", "name": "internal.example.", "private": true, "record_count": 2}],
            "errors": []}});
        let html = render(Some(&azure)).into_string();
        for want in [
            "subscription aaaaaaaa",
            "vnet-1/subnets/nodes",
            "internal.example.",
            "DNS zones (1)",
        ] {
            assert!(html.contains(want), "{want} in {html}");
        }
        assert!(!html.contains("Errors while discovering") && !html.contains("Signed in as"));
    }
}
