//! The cost estimate of a PLAN result, shown after its changes.

use grape_infracost::{CostEstimate, Decimal};
use serde_json::Value;

use crate::output::{BOLD, Printer};

/// Prints the `cost` of a PLAN result as a table (most expensive resources first) with the
/// monthly total and its change, or why there is none (`cost_unavailable`).
pub fn print_cost(p: &Printer, result: Option<&Value>) {
    let Some(result) = result else { return };
    let estimate = result
        .get("cost")
        .filter(|c| !c.is_null())
        .and_then(|c| serde_json::from_value::<CostEstimate>(c.clone()).ok());
    let Some(estimate) = estimate else {
        if let Some(why) = result.get("cost_unavailable").and_then(Value::as_str) {
            p.note(format!("No cost estimate: {why}."));
        }
        return;
    };
    let mut t = p.table(&["RESOURCE", "MONTHLY", "HOURLY"]);
    for r in &estimate.resources {
        t.add_row(vec![
            r.address.clone(),
            money(r.cost.monthly),
            money(r.cost.hourly),
        ]);
    }
    if !estimate.resources.is_empty() {
        p.print_table(&t);
    }
    let change = estimate.diff.monthly.map_or_else(String::new, |d| {
        let sign = if d.is_sign_negative() { "-" } else { "+" };
        format!(" ({sign}{} against now)", money(Some(d.abs())))
    });
    println!(
        "{} {} {} per month{change}.",
        p.paint_out(BOLD, "Cost estimate:"),
        money(estimate.total.monthly),
        estimate.currency,
    );
}

fn money(d: Option<Decimal>) -> String {
    d.map_or_else(
        || "usage-based".to_owned(),
        |d| format!("{:.2}", d.round_dp(2)),
    )
}
