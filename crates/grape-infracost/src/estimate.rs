//! [`CostEstimate`]: what a breakdown says, typed; [`CostEstimate::parse`] and the summary table.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::InfracostError;
use crate::report::{OUTPUT_VERSION, Root};

/// An hourly and a monthly amount. `None`: unknown (usage-based without usage data).
/// Amounts serialise as decimal strings, as Infracost writes them (no float rounding).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Per hour.
    pub hourly: Option<Decimal>,
    /// Per month (730 hours).
    pub monthly: Option<Decimal>,
}

/// The cost of one resource of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceCost {
    /// Terraform address, e.g. `aws_instance.web`.
    pub address: String,
    /// Resource type, e.g. `aws_instance`.
    pub resource_type: String,
    /// Its cost with the plan applied (subresources included).
    pub cost: Totals,
}

/// Resource counts of the breakdown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceCounts {
    /// Resources found in the plan.
    pub detected: u64,
    /// Resources Infracost can price.
    pub supported: u64,
    /// Resources it cannot price (not in the totals).
    pub unsupported: u64,
    /// Resources whose cost depends on usage.
    pub usage_based: u64,
    /// Resources that are free.
    pub free: u64,
}

/// A cost estimate of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostEstimate {
    /// ISO 4217 currency of every amount (`USD` unless configured otherwise).
    pub currency: String,
    /// The cost with the plan applied.
    pub total: Totals,
    /// The cost of what exists now (before the plan).
    pub past: Totals,
    /// `total - past`: what the plan adds (negative: saves).
    pub diff: Totals,
    /// Each priced resource with the plan applied, most expensive first.
    pub resources: Vec<ResourceCost>,
    /// How many resources were found and priced.
    pub counts: ResourceCounts,
    /// When Infracost made the estimate (RFC 3339), when it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_generated: Option<String>,
}

impl CostEstimate {
    /// Reads the output of `infracost breakdown --format json` (version [`OUTPUT_VERSION`]).
    pub fn parse(json: &str) -> Result<Self, InfracostError> {
        let root: Root = serde_json::from_str(json).map_err(InfracostError::Json)?;
        if root.version != OUTPUT_VERSION {
            return Err(InfracostError::Version {
                found: root.version,
            });
        }
        let mut resources: Vec<ResourceCost> = root
            .projects
            .iter()
            .filter_map(|p| p.breakdown.as_ref())
            .flat_map(|b| b.resources.iter())
            .map(|r| ResourceCost {
                address: r.name.clone(),
                resource_type: r.kind.clone(),
                cost: Totals {
                    hourly: r.hourly_cost,
                    monthly: r.monthly_cost,
                },
            })
            .collect();
        // Most expensive first; unknown (usage-based) costs last; then by address.
        resources.sort_by(|a, b| {
            b.cost
                .monthly
                .cmp(&a.cost.monthly)
                .then_with(|| a.address.cmp(&b.address))
        });
        let s = &root.summary;
        let supported = s.total_supported_resources.unwrap_or(0);
        Ok(Self {
            currency: root.currency.unwrap_or_else(|| "USD".to_owned()),
            total: Totals {
                hourly: root.total_hourly_cost,
                monthly: root.total_monthly_cost,
            },
            past: Totals {
                hourly: root.past_total_hourly_cost,
                monthly: root.past_total_monthly_cost,
            },
            diff: Totals {
                hourly: root.diff_total_hourly_cost,
                monthly: root.diff_total_monthly_cost,
            },
            counts: ResourceCounts {
                detected: s.total_detected_resources.unwrap_or(supported),
                supported,
                unsupported: s.total_unsupported_resources.unwrap_or(0),
                usage_based: s.total_usage_based_resources.unwrap_or(0),
                free: s.total_no_price_resources.unwrap_or(0),
            },
            resources,
            time_generated: root.time_generated,
        })
    }

    /// The estimate as a small table for a job log: each resource's monthly and hourly cost,
    /// the total, and the change against what exists now.
    pub fn summary_table(&self) -> Vec<String> {
        let money = |d: Option<Decimal>| d.map_or_else(|| "usage-based".to_owned(), format_money);
        let mut rows: Vec<[String; 3]> =
            vec![["RESOURCE".into(), "MONTHLY".into(), "HOURLY".into()]];
        rows.extend(self.resources.iter().map(|r| {
            [
                r.address.clone(),
                money(r.cost.monthly),
                money(r.cost.hourly),
            ]
        }));
        rows.push([
            "total".into(),
            money(self.total.monthly),
            money(self.total.hourly),
        ]);
        let width = |i: usize| rows.iter().map(|r| r[i].len()).max().unwrap_or(0);
        let (w0, w1, w2) = (width(0), width(1), width(2));
        let mut out = vec![format!(
            "cost estimate ({}, by infracost; {} of {} resources priced):",
            self.currency, self.counts.supported, self.counts.detected
        )];
        out.extend(
            rows.iter()
                .map(|[a, b, c]| format!("  {a:<w0$}  {b:>w1$}  {c:>w2$}")),
        );
        let diff = self.diff.monthly.map_or_else(
            || "unknown".to_owned(),
            |d| {
                let sign = if d.is_sign_negative() { "-" } else { "+" };
                format!("{sign}{} per month", format_money(d.abs()))
            },
        );
        out.push(format!("  change against the current state: {diff}"));
        if self.counts.unsupported > 0 {
            out.push(format!(
                "  {} resource(s) are not priced by infracost and not in the total",
                self.counts.unsupported
            ));
        }
        out
    }
}

/// Two decimals for amounts of a cent and more, four below (hourly prices are small).
fn format_money(d: Decimal) -> String {
    let places = if d.abs() >= Decimal::new(1, 2) || d.is_zero() {
        2
    } else {
        4
    };
    format!("{:.*}", places, d.round_dp(places as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_rounded_for_people() {
        assert_eq!(format_money(Decimal::new(30368, 3)), "30.37");
        assert_eq!(format_money(Decimal::new(416, 4)), "0.04");
        assert_eq!(format_money(Decimal::new(41, 4)), "0.0041");
        assert_eq!(format_money(Decimal::ZERO), "0.00");
    }
}
